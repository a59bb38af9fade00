"""Context Path of BiSeNet V1 (Yu et al., ECCV 2018, section 3.2) on a ResNet-18.

(N, 3, H, W) -> ResNet-18 C3 (128 @ 1/8), C4 (256 @ 1/16), C5 (512 @ 1/32);
global context g = ConvBNReLU1x1(GAP(C5)) (N, 128, 1, 1);
feat_s16 = ConvBNReLU3x3(up(ARM(C5) + g, to C4 size))       (N, 128, H/16, W/16);
feat_s8 = ConvBNReLU3x3(up(ARM(C4) + feat_s16, to C3 size))  (N, 128, H/8, W/8).
Returns (C3, feat_s8, feat_s16), named by their stride. The ResNet-18 is torchvision's layout
(plain 7x7 stem; keys ``conv1``, ``bn1``, ``layer1..4``) so ImageNet torchvision weights load
through ``resnet_init_cfg``; the
other names follow face-parsing.PyTorch. ``ContextPath`` is a ``BaseModule`` so that
``init_weights()`` of an enclosing model reaches the ResNet's ``init_cfg``.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_norm_layer
from mmengine.model import BaseModule
from torch import nn
from torchvision.models.resnet import BasicBlock, ResNet

from .arm import AttentionRefinementModule


class ResNet18(BaseModule):
    """torchvision's ResNet-18 without ``avgpool``/``fc``: returns (C3, C4, C5)."""

    def __init__(self, in_channels: int = 3, norm_cfg=dict(type='BN'), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        net = ResNet(BasicBlock, [2, 2, 2, 2],
                     norm_layer=lambda c: build_norm_layer(norm_cfg, c)[1])
        if in_channels != 3:
            net.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
        for name in ('conv1', 'bn1', 'relu', 'maxpool', 'layer1', 'layer2', 'layer3', 'layer4'):
            self.add_module(name, getattr(net, name))

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        c3 = self.layer2(self.layer1(x))
        c4 = self.layer3(c3)
        return c3, c4, self.layer4(c4)


class ContextPath(BaseModule):

    def __init__(self, in_channels: int = 3, channels: int = 128, upsample: str = 'nearest',
                 norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU'),
                 resnet_init_cfg: Optional[dict] = None, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.upsample = upsample
        self.resnet = ResNet18(in_channels, norm_cfg, init_cfg=resnet_init_cfg)
        self.arm16 = AttentionRefinementModule(256, channels, norm_cfg, act_cfg)
        self.arm32 = AttentionRefinementModule(512, channels, norm_cfg, act_cfg)
        self.conv_head32 = ConvModule(channels, channels, 3, padding=1, norm_cfg=norm_cfg,
                                      act_cfg=act_cfg)
        self.conv_head16 = ConvModule(channels, channels, 3, padding=1, norm_cfg=norm_cfg,
                                      act_cfg=act_cfg)
        self.conv_avg = ConvModule(512, channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.out_channels = (128, channels, channels)

    def _up(self, x, like):
        kwargs = {} if self.upsample == 'nearest' else dict(align_corners=False)
        return F.interpolate(x, like.shape[2:], mode=self.upsample, **kwargs)

    def forward(self, x: torch.Tensor):
        c3, c4, c5 = self.resnet(x)
        context = self.conv_avg(c5.mean(dim=(2, 3), keepdim=True))
        feat_s16 = self.conv_head32(self._up(self.arm32(c5) + context, c4))
        feat_s8 = self.conv_head16(self._up(self.arm16(c4) + feat_s16, c3))
        return c3, feat_s8, feat_s16
