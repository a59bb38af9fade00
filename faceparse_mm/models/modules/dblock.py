"""RegSeg's dilated block (Gao, "Rethinking Dilated Convolution for Real-time Semantic
Segmentation", arXiv 2111.09957, 2021; CVPR workshops 2023, section 3.2).

:class:`DBlock`: (N, C_in, H, W) -> (N, C_out, ceil(H / s), ceil(W / s)), s the stride (1 or 2).
An SE-ResNeXt (RegNet "Y") block whose grouped 3x3 convolution splits its channels into equal
parts, each with its own dilation rate, so that one block sees both local detail (rate 1) and a
wide field of view (e.g. rate 14)::

    x -> 1x1 conv-BN-ReLU -> SplitDilatedConv (grouped 3x3, group width 16, stride s) -> BN-ReLU
      -> SE (squeeze width C_in / 4) -> 1x1 conv-BN -> + shortcut(x) -> ReLU
    shortcut: identity; 2x2 average pool (ceil mode) -> 1x1 conv-BN when strided;
              1x1 conv-BN when only the width changes

:class:`SplitDilatedConv`: (N, C, H, W) -> (N, C, ceil(H / s), ceil(W / s)), the i-th of
``len(dilations)`` equal channel slices convolved by its own grouped 3x3 with dilation
``dilations[i]`` (padding = dilation, so the size is kept at stride 1).

We follow the authors' code (``blocks.py``: ``DBlock``, ``DilatedConv``, ``Shortcut``,
``SEModule``) in every detail; the paper's description agrees with it as far as it goes, and
these details come from the code: the SE squeeze width is read from the block's input
width (``C_in // 4``) while the SE acts on ``C_out`` channels, the stride sits on the 3x3
convolution, the shortcut pool uses ceil mode (odd sizes keep the main path's ``ceil(H / 2)``),
and a stride-1 block that changes the width (256 -> 320 at the end of RegSeg's body) gets a 1x1
conv-BN shortcut without pooling. The SE is timm's ``SEModule`` (global mean, 1x1 conv with bias,
ReLU, 1x1 conv with bias, sigmoid gate), the same computation as the authors' ``SEModule``.
One difference in form only: a single-rate block's 3x3 is the one-slice case of
:class:`SplitDilatedConv` here (the authors build a plain grouped ``nn.Conv2d``); the weights are
the same.
"""
from typing import Sequence

import torch
from mmcv.cnn import ConvModule, build_activation_layer, build_conv_layer, build_norm_layer
from timm.layers import SEModule
from torch import nn

from faceparse_mm.registry import MODELS

__all__ = ['DBlock', 'SplitDilatedConv']


@MODELS.register_module()
class SplitDilatedConv(nn.Module):
    """Grouped 3x3 convolution with one dilation rate per equal slice of the channels.

    Args:
        channels: input and output width; divisible by ``len(dilations)``, and each slice by
            ``group_width``.
        dilations: one rate per slice, e.g. ``(1, 14)``: the first half of the channels at rate
            1, the second half at rate 14.
        group_width: channels per group of every grouped convolution (RegSeg: 16).
        stride: stride of every slice's convolution.
        conv_cfg: mmcv conv config (None: ``nn.Conv2d``).
    """

    def __init__(self, channels: int, dilations: Sequence[int] = (1, ), group_width: int = 16,
                 stride: int = 1, conv_cfg=None):
        super().__init__()
        dilations = tuple(int(d) for d in dilations)
        if not dilations or channels % len(dilations):
            raise ValueError(f'{channels} channels do not split into {len(dilations)} slices')
        self.slice_channels = channels // len(dilations)
        if self.slice_channels % group_width:
            raise ValueError(f'a slice of {self.slice_channels} channels is not a whole number of '
                             f'groups of width {group_width}')
        self.dilations = dilations
        self.convs = nn.ModuleList(
            build_conv_layer(conv_cfg, self.slice_channels, self.slice_channels, 3,
                             stride=stride, padding=d, dilation=d,
                             groups=self.slice_channels // group_width, bias=False)
            for d in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        slices = torch.split(x, self.slice_channels, dim=1)
        return torch.cat([conv(part) for conv, part in zip(self.convs, slices)], dim=1)


@MODELS.register_module()
class DBlock(nn.Module):
    """RegSeg's D block (see the module docstring).

    Args:
        in_channels, out_channels: block input and output widths.
        dilations: the rates of the 3x3's channel slices, e.g. ``(1, )``, ``(1, 4)``,
            ``(1, 14)``.
        group_width: channels per group of the 3x3 (RegSeg: 16).
        stride: 1, or 2 to halve the resolution (the 3x3 and the shortcut's pool).
        se_ratio: SE squeeze width as a fraction of ``in_channels`` (RegSeg: 0.25); None or 0:
            no SE.
        conv_cfg, norm_cfg, act_cfg: mmcv configs of every conv, norm and activation (the SE's
            own ReLU and sigmoid are fixed, as the authors').
    """

    def __init__(self, in_channels: int, out_channels: int, dilations: Sequence[int] = (1, ),
                 group_width: int = 16, stride: int = 1, se_ratio: float | None = 0.25,
                 conv_cfg=None, norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU')):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f'stride must be 1 or 2, got {stride}')
        self.stride = stride
        self.conv1 = ConvModule(in_channels, out_channels, 1, conv_cfg=conv_cfg,
                                norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv2 = SplitDilatedConv(out_channels, dilations, group_width, stride, conv_cfg)
        self.norm2 = build_norm_layer(norm_cfg, out_channels)[1]
        self.act2 = build_activation_layer(act_cfg)
        self.se = None
        if se_ratio:
            squeeze = int(in_channels * se_ratio)
            if squeeze < 1:
                raise ValueError(f'se_ratio {se_ratio} of {in_channels} channels squeezes to 0')
            self.se = SEModule(out_channels, rd_channels=squeeze)
        self.conv3 = ConvModule(out_channels, out_channels, 1, conv_cfg=conv_cfg,
                                norm_cfg=norm_cfg, act_cfg=None)
        self.shortcut = None
        if stride != 1 or in_channels != out_channels:
            project = ConvModule(in_channels, out_channels, 1, conv_cfg=conv_cfg,
                                 norm_cfg=norm_cfg, act_cfg=None)
            self.shortcut = project if stride == 1 else nn.Sequential(
                nn.AvgPool2d(stride, stride, ceil_mode=True), project)
        self.act3 = build_activation_layer(act_cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.shortcut is None else self.shortcut(x)
        out = self.act2(self.norm2(self.conv2(self.conv1(x))))
        if self.se is not None:
            out = self.se(out)
        return self.act3(self.conv3(out) + shortcut)
