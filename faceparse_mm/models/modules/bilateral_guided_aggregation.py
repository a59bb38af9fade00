"""BiSeNet V2's bilateral guided aggregation (Yu et al., "BiSeNet V2: Bilateral Network with
Guided Aggregation for Real-time Semantic Segmentation", IJCV 2021, section 4.3), as the code of
CoinCheung/BiSeNet (``BGALayer`` in ``lib/models/bisenetv2.py``) computes it.

(N, C, H/8, W/8) detail + (N, C, H/32, W/32) semantic -> (N, C, H/8, W/8)::

    fuse_1 = dw3x3-BN-1x1(detail) * sigmoid(up4(3x3-BN(semantic)))
    fuse_2 = up4((3x3/2-BN-avgpool3/2)(detail) * sigmoid(dw3x3-BN-1x1(semantic)))
    out = 3x3-BN-ReLU(fuse_1 + fuse_2)

The two ``up4`` are the only difference in function from mmseg's ``BGALayer``, which upsamples
bilinearly: the authors' code upsamples by nearest neighbour (``nn.Upsample(scale_factor=4)``).
Their two depth-wise separable convs (``dw3x3-BN-1x1``) have no bias on the 1x1; mmseg's have
one (128 parameters each). Both are arguments: ``upsample_mode='bilinear'`` and
``pointwise_bias=True`` give mmseg's ``BGALayer`` (same submodule names, so its weights load).
Both ``up4`` resize to the detail map's size (the authors' fixed factor 4 is the same when H and W
are multiples of 32, the only sizes their code accepts).
"""
import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from mmengine.model import BaseModule
from mmseg.models.utils import resize
from torch import nn

from faceparse_mm.registry import MODELS

__all__ = ['BilateralGuidedAggregation']


@MODELS.register_module()
class BilateralGuidedAggregation(BaseModule):
    """Args:
        channels: width of both inputs and of the output (128).
        upsample_mode: ``'nearest'`` (the authors') or ``'bilinear'`` (mmseg's).
        pointwise_bias: a bias on the 1x1 of both depth-wise separable convs (mmseg's; the
            authors' have none).
        align_corners: for ``'bilinear'`` only.
        conv_cfg, norm_cfg, act_cfg: mmcv configs.
    """

    def __init__(self, channels: int = 128, upsample_mode: str = 'nearest',
                 pointwise_bias: bool = False, align_corners: bool = False, conv_cfg=None,
                 norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU'), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if upsample_mode not in ('nearest', 'bilinear'):
            raise ValueError(f"upsample_mode must be 'nearest' or 'bilinear', got "
                             f'{upsample_mode!r}')
        self.upsample_mode = upsample_mode
        self.align_corners = align_corners
        # bias 'auto' (mmcv's default) puts a bias on the 1x1 only (it has no norm after it)
        separable = dict(in_channels=channels, out_channels=channels, kernel_size=3, padding=1,
                         bias='auto' if pointwise_bias else False, conv_cfg=conv_cfg,
                         dw_norm_cfg=norm_cfg, dw_act_cfg=None, pw_norm_cfg=None,
                         pw_act_cfg=None)
        plain = dict(kernel_size=3, padding=1, bias=False, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                     act_cfg=None)
        self.detail_dwconv = nn.Sequential(DepthwiseSeparableConvModule(**separable))
        self.detail_down = nn.Sequential(
            ConvModule(channels, channels, stride=2, **plain),
            nn.AvgPool2d(kernel_size=3, stride=2, padding=1, ceil_mode=False))
        self.semantic_conv = nn.Sequential(ConvModule(channels, channels, **plain))
        self.semantic_dwconv = nn.Sequential(DepthwiseSeparableConvModule(**separable))
        self.conv = ConvModule(channels, channels, 3, padding=1, conv_cfg=conv_cfg,
                               norm_cfg=norm_cfg, act_cfg=act_cfg)

    def _up(self, x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        if self.upsample_mode == 'nearest':
            return F.interpolate(x, size=like.shape[2:], mode='nearest')
        return resize(x, size=like.shape[2:], mode='bilinear', align_corners=self.align_corners)

    def forward(self, x_d: torch.Tensor, x_s: torch.Tensor) -> torch.Tensor:
        detail = self.detail_dwconv(x_d)
        fuse_1 = detail * torch.sigmoid(self._up(self.semantic_conv(x_s), detail))
        fuse_2 = self.detail_down(x_d) * torch.sigmoid(self.semantic_dwconv(x_s))
        return self.conv(fuse_1 + self._up(fuse_2, detail))
