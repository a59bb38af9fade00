"""Strip pooling module (SPM) of Hou et al., "Strip Pooling: Rethinking Spatial Pooling for Scene
Parsing", CVPR 2020.

:class:`StripPooling` maps x (N, C, H, W) to x * g with a gate g (N, C, H, W) in (0, 1): the
horizontal strip pool averages each row (1 x W window, an (N, C, H, 1) map) and a 3x1 conv + BN
mixes neighbouring rows; the vertical strip pool averages each column (H x 1 window, an
(N, C, 1, W) map) and a 1x3 conv + BN mixes neighbouring columns; both are expanded back to
H x W and summed, then ReLU, a 1x1 conv (with bias) and a sigmoid give g. Each position thus sees
its whole row and its whole column. As in the authors' code (``SPBlock`` in ``models/resnet.py``)
the strip convs keep the width (``mid_channels`` defaults to ``in_channels``), the strips are
expanded (not interpolated), and the convs start Kaiming-normal (fan-out), which the default
``init_cfg`` reproduces; it runs before a parent's ``Pretrained`` load, which leaves the SPM alone
because ImageNet checkpoints do not hold it. It goes inside ResNet blocks through
:class:`faceparse_mm.models.backbones.PluginResNetV1c` (where the authors put it: see there).
"""
import torch
from mmcv.cnn import ConvModule, build_activation_layer
from mmengine.model import BaseModule
from torch import nn

from faceparse_mm.registry import MODELS

__all__ = ['StripPooling']


@MODELS.register_module()
class StripPooling(BaseModule):
    """SPM: ``forward(x) = x * gate(x)``; (N, C, H, W) -> (N, C, H, W), any H and W.

    Args:
        in_channels: C (given by the ResNet block when used as a plug-in).
        mid_channels: width of the strip convs; ``None``: ``in_channels`` (the authors').
        norm_cfg: norm after each strip conv (a strip is H x 1 or 1 x W, so BN trains at batch 1).
        act_cfg: activation on the sum of the two expanded strips.
    """

    #: the name a ResNet block gives the plug-in (``block.spm``, as in the authors' code)
    _abbr_ = 'spm'

    def __init__(self, in_channels: int, mid_channels=None, conv_cfg=None,
                 norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU'),
                 init_cfg=dict(type='Kaiming', layer='Conv2d')):
        super().__init__(init_cfg)
        mid_channels = mid_channels or in_channels
        # 3x1 on the (H x 1) row means, 1x3 on the (1 x W) column means
        self.conv_rows = ConvModule(in_channels, mid_channels, (3, 1), padding=(1, 0),
                                    conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None)
        self.conv_cols = ConvModule(in_channels, mid_channels, (1, 3), padding=(0, 1),
                                    conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None)
        self.act = build_activation_layer(act_cfg)
        self.conv_gate = nn.Conv2d(mid_channels, in_channels, 1)

    @staticmethod
    def strip_means(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(row means (N, C, H, 1): the horizontal strip pool, 1 x W windows; column means
        (N, C, 1, W): the vertical strip pool, H x 1 windows)."""
        return x.mean(dim=3, keepdim=True), x.mean(dim=2, keepdim=True)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> gate (N, C, H, W) in (0, 1)."""
        rows, cols = self.strip_means(x)
        # broadcasting (N, C', H, 1) + (N, C', 1, W) expands both strips to H x W
        fused = self.act(self.conv_rows(rows) + self.conv_cols(cols))
        return torch.sigmoid(self.conv_gate(fused))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)
