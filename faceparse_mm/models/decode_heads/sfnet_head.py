"""SFNet decoder (Li, You, Zhu, Zhao, Yang, Yang, Tan and Tong, "Semantic Flow for Fast and
Accurate Scene Parsing", ECCV 2020), as two mmseg pieces:

- :class:`SFNetFPN` (a neck): backbone stages C2..C5 (N, in_channels[i], H / 4 / 2^i, ...) ->
  a pyramid pooling module on C5 gives S5 (``channels``); top-down, at each finer level a 1x1
  ConvBNReLU lateral L_i and S_i = L_i + FAM(L_i, S_(i+1)) (the coarser sum warped onto L_i by a
  :class:`~faceparse_mm.models.modules.FlowAlignmentModule`), P_i = ConvBNReLU3x3(S_i), P5 = S5.
  Returns ``(P2, P3, P4, P5, S2, S3, S4)``, all ``channels`` wide: the P's are fused by the head,
  the S's are what the authors' deep-supervision heads read.
- :class:`SFNetHead` (the decode head): P2..P5 -> each upsampled to P2's size (1/4), concatenated,
  ConvBNReLU3x3 to ``channels``, classifier -> logits (N, num_classes, H / 4, W / 4).

Why a neck: the authors' deep supervision (``fpn_dsn``: a 3x3 ConvBNReLU, dropout 0.1 and a
classifier, i.e. mmseg's ``FCNHead(num_convs=1, concat_input=False)``) reads the sums S_i inside
the decoder, which an mmseg auxiliary head can only reach if they are among the features the
segmentor hands to its heads, i.e. a neck's outputs. This way the deep-supervision heads are
plain ``auxiliary_head`` entries (training only, left out of the inference count) and read what
the authors' read. The split mirrors mmseg's own Semantic FPN (FPN neck + FPNHead).

Follows the authors' ``UperNetAlignHead`` (network/sfnet_resnet.py, lxtGH/SFSegNets, the
``DeepR18_SF_deeply`` model and its ``_dsn`` variant) where it differs from mmseg's UPerHead:
the pooled PPM branches are 1x1 conv + BN without ReLU, the PPM bottleneck is a 1x1 ConvBNReLU
followed by Dropout2d(0.1) (UPerHead: 3x3, no dropout), the next level receives the sum S_i (not
P_i), no dropout before the classifier. One difference from the authors: their lateral 1x1 convs
have a bias that the BatchNorm right after cancels; it is left out (mmcv's ``ConvModule``
default), 128 x 3 = 384 parameters fewer with SFNet-R18. Interpolation uses ``align_corners``
(True in the authors' code).
"""
import torch
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.decode_heads.psp_head import PPM
from mmseg.models.utils import resize
from torch import nn

from faceparse_mm.models.modules.flow_alignment import FlowAlignmentModule
from faceparse_mm.registry import MODELS

__all__ = ['SFNetFPN', 'SFNetHead']


@MODELS.register_module()
class SFNetFPN(BaseModule):
    """PPM on the last stage and a top-down FPN with a flow alignment module at every level.

    Args:
        in_channels: channels of the backbone stages, finest first (64, 128, 256, 512 for R18).
        channels: width of every pyramid level (the authors' ``fpn_dim``: 128 for R18).
        pool_scales: PPM bins.
        dropout_ratio: Dropout2d after the PPM bottleneck (0.1 as the authors).
        flow_channels: reduction width inside each FAM (``channels // 2`` if None).
        conv_cfg, norm_cfg, act_cfg: of the ConvModules (the PPM branches have no activation).
        align_corners: of every interpolation and warp.
    """

    def __init__(self, in_channels=(64, 128, 256, 512), channels: int = 128,
                 pool_scales=(1, 2, 3, 6), dropout_ratio: float = 0.1, flow_channels=None,
                 conv_cfg=None, norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU'),
                 align_corners: bool = True, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = tuple(in_channels)
        self.channels = channels
        self.align_corners = align_corners
        top = self.in_channels[-1]
        self.ppm = PPM(pool_scales, top, channels, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                       act_cfg=None, align_corners=align_corners)
        self.bottleneck = ConvModule(top + len(pool_scales) * channels, channels, 1,
                                     conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.dropout = nn.Dropout2d(dropout_ratio) if dropout_ratio > 0 else nn.Identity()
        conv = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.lateral_convs = nn.ModuleList(
            ConvModule(c, channels, 1, **conv) for c in self.in_channels[:-1])
        self.fpn_convs = nn.ModuleList(
            ConvModule(channels, channels, 3, padding=1, **conv) for _ in self.in_channels[:-1])
        self.align_modules = nn.ModuleList(
            FlowAlignmentModule(channels, flow_channels, conv_cfg=conv_cfg,
                                align_corners=align_corners) for _ in self.in_channels[:-1])

    def pyramid_pooling(self, x: torch.Tensor) -> torch.Tensor:
        """C5 (N, in_channels[-1], h, w) -> S5 (N, channels, h, w)."""
        return self.dropout(self.bottleneck(torch.cat([*self.ppm(x), x], dim=1)))

    def forward(self, inputs):
        assert len(inputs) == len(self.in_channels), (len(inputs), self.in_channels)
        top = self.pyramid_pooling(inputs[-1])
        outs, sums = [top], []
        for i in reversed(range(len(self.in_channels) - 1)):
            lateral = self.lateral_convs[i](inputs[i])
            top = lateral + self.align_modules[i](lateral, top)
            sums.append(top)
            outs.append(self.fpn_convs[i](top))
        return tuple(outs[::-1] + sums[::-1])


@MODELS.register_module()
class SFNetHead(BaseDecodeHead):
    """All pyramid levels fused at the finest one, a 3x3 ConvBNReLU and the classifier.

    ``in_channels`` / ``in_index``: the P levels of :class:`SFNetFPN`, finest first (the
    authors' ``conv_last``; ``dropout_ratio=0`` reproduces it, no dropout before the
    classifier)."""

    def __init__(self, **kwargs):
        super().__init__(input_transform='multiple_select', **kwargs)
        self.fuse = ConvModule(sum(self.in_channels), self.channels, 3, padding=1,
                               conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                               act_cfg=self.act_cfg)

    def forward(self, inputs):
        levels = self._transform_inputs(inputs)
        size = levels[0].shape[2:]
        levels = [levels[0]] + [
            resize(level, size=size, mode='bilinear', align_corners=self.align_corners)
            for level in levels[1:]]
        return self.cls_seg(self.fuse(torch.cat(levels, dim=1)))
