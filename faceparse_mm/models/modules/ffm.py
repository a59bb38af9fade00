"""Feature Fusion Module (Yu et al., "BiSeNet", ECCV 2018, section 3.3).

inputs [(N, C_1, H, W), (N, C_2, H, W)] -> f = ConvBNReLU1x1(concat) (N, C_out, H, W) ->
a = sigmoid(Conv1x1(ReLU(Conv1x1(GAP(f))))) (N, C_out, 1, 1) -> f * a + f.

``attention_channels`` is the width of the attention bottleneck: ``None`` keeps C_out (the
paper's figure: two 1x1 convs), face-parsing.PyTorch uses C_out // 4 (256 -> 64 -> 256). Neither
has a BatchNorm in the attention branch (mmseg's version adds a ReLU before the sigmoid instead,
which confines the attention to [0.5, 1)).
"""
from typing import Optional, Sequence

import torch
from mmcv.cnn import ConvModule
from torch import nn

from faceparse_mm.registry import MODELS


@MODELS.register_module()
class FeatureFusionModule(nn.Module):

    def __init__(self, in_channels: int, out_channels: int,
                 attention_channels: Optional[int] = None, norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU')):
        super().__init__()
        mid = attention_channels or out_channels
        self.convblk = ConvModule(in_channels, out_channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv1 = nn.Conv2d(out_channels, mid, 1, bias=False)
        self.conv2 = nn.Conv2d(mid, out_channels, 1, bias=False)

    def attention(self, feat: torch.Tensor) -> torch.Tensor:
        pooled = feat.mean(dim=(2, 3), keepdim=True)
        return torch.sigmoid(self.conv2(torch.relu(self.conv1(pooled))))

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        feat = self.convblk(torch.cat(list(inputs), dim=1))
        return feat * self.attention(feat) + feat
