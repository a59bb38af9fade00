"""Attention Refinement Module (Yu et al., "BiSeNet", ECCV 2018, section 3.2).

x (N, C_in, H, W) -> f = ConvBNReLU3x3(x) (N, C_out, H, W) -> a = sigmoid(BN(Conv1x1(GAP(f))))
(N, C_out, 1, 1) -> f * a. The attention re-weights channels from global context at no spatial
cost. Submodule names (``conv``, ``conv_atten``, ``bn_atten``) follow face-parsing.PyTorch so its
weights map one to one.
"""
import torch
from mmcv.cnn import ConvModule, build_norm_layer
from torch import nn

from faceparse_mm.registry import MODELS


@MODELS.register_module()
class AttentionRefinementModule(nn.Module):

    def __init__(self, in_channels: int, out_channels: int, norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU')):
        super().__init__()
        self.conv = ConvModule(in_channels, out_channels, 3, padding=1, norm_cfg=norm_cfg,
                               act_cfg=act_cfg)
        self.conv_atten = nn.Conv2d(out_channels, out_channels, 1, bias=False)
        self.bn_atten = build_norm_layer(norm_cfg, out_channels)[1]

    def attention(self, feat: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) features -> (N, C, 1, 1) channel gates in (0, 1)."""
        pooled = feat.mean(dim=(2, 3), keepdim=True)
        return torch.sigmoid(self.bn_atten(self.conv_atten(pooled)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.conv(x)
        return feat * self.attention(feat)
