"""Spatial Path (Yu et al., "BiSeNet", ECCV 2018, section 3.1).

(N, 3, H, W) -> 7x7 s2 -> 3x3 s2 -> 3x3 s2 -> 1x1, each conv-BN-ReLU -> (N, 128, H/8, W/8):
three strided layers keep rich spatial detail at 1/8 resolution.
"""
from typing import Sequence

import torch
from mmcv.cnn import ConvModule
from torch import nn

from faceparse_mm.registry import MODELS


@MODELS.register_module()
class SpatialPath(nn.Module):

    def __init__(self, in_channels: int = 3, channels: Sequence[int] = (64, 64, 64, 128),
                 norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU')):
        super().__init__()
        c1, c2, c3, out = channels
        self.layers = nn.Sequential(
            ConvModule(in_channels, c1, 7, stride=2, padding=3, norm_cfg=norm_cfg, act_cfg=act_cfg),
            ConvModule(c1, c2, 3, stride=2, padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg),
            ConvModule(c2, c3, 3, stride=2, padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg),
            ConvModule(c3, out, 1, norm_cfg=norm_cfg, act_cfg=act_cfg))
        self.out_channels = out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)
