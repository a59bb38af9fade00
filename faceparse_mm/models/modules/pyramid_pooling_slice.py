"""A channel slice of PSPNet's pyramid-pooled feature, as one sub-network of TDNet computes it
(Hu, Caba Heilbron, Wang, Lin, Sclaroff and Perazzi, "Temporally Distributed Networks for Fast
Video Semantic Segmentation", CVPR 2020; pyramid pooling from Zhao et al., PSPNet, CVPR 2017).

PSPNet's full feature is ``[x, up(b_1(x)), ..., up(b_k(x))]`` (N, C + k C', H, W): the
backbone's map x (N, C, H, W) and k pooled branches ``b_i`` (adaptive average pool to s_i x s_i,
1x1 conv C -> C' with BN and ReLU, bilinearly upsampled; mmseg's :class:`PPM`). TDNet splits that
feature over its sub-networks: the sub-network with ``slice_index`` j of ``num_slices`` n keeps
the j-th n-th of x's channels and of each branch's channels, concatenated in that order:
(N, (C + k C') / n, H, W). The slices of n sub-networks with equal weights, concatenated, hold
every channel of the full feature exactly once.

As the authors' ``PyramidPooling(path_num, pid)`` (feinanshan/TDNet, td4_psp18.py): each
sub-network keeps the full-width branches of a PSPNet (C' = C / 4 output channels each) and
drops the other slices of their outputs, so that a trained PSPNet loads into every sub-network
unchanged (how the authors initialise). The dropped channels' weights (conv rows and BN
terms, (n - 1) / n of each branch) never reach the output and never train; they are counted in
the parameters, as in the authors' model. Only the kept channels are upsampled.
"""
from __future__ import annotations

import torch
from mmseg.models.decode_heads.psp_head import PPM
from mmseg.models.utils import resize
from torch import nn

from faceparse_mm.registry import MODELS

__all__ = ['PyramidPoolingSlice']


@MODELS.register_module()
class PyramidPoolingSlice(nn.Module):
    """Args:
        in_channels: C, the backbone map's channels.
        pool_scales: the branches' output sizes s_i (PSPNet: 1, 2, 3, 6).
        channels: C', each branch's width (default C / 4, PSPNet's).
        num_slices, slice_index: n and j above (TD4: 2 slices, sub-networks 0 and 2 keep slice
            0, sub-networks 1 and 3 slice 1).
        norm_cfg, act_cfg, conv_cfg, align_corners: of the branches (mmseg's ``PPM``).
    """

    def __init__(self, in_channels: int, pool_scales=(1, 2, 3, 6), channels: int | None = None,
                 num_slices: int = 1, slice_index: int = 0, norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU'), conv_cfg=None, align_corners: bool = False):
        super().__init__()
        channels = in_channels // 4 if channels is None else channels
        if not 0 <= slice_index < num_slices:
            raise ValueError(f'slice_index {slice_index} is not in 0..{num_slices - 1}')
        if in_channels % num_slices or channels % num_slices:
            raise ValueError(f'in_channels {in_channels} and channels {channels} must divide '
                             f'by num_slices {num_slices}')
        self.in_channels, self.channels = in_channels, channels
        self.num_slices, self.slice_index = num_slices, slice_index
        self.align_corners = align_corners
        self.ppm = PPM(tuple(pool_scales), in_channels, channels, conv_cfg=conv_cfg,
                       norm_cfg=norm_cfg, act_cfg=act_cfg, align_corners=align_corners)
        self.out_channels = (in_channels + len(pool_scales) * channels) // num_slices

    def _slice(self, width: int) -> slice:
        step = width // self.num_slices
        return slice(self.slice_index * step, (self.slice_index + 1) * step)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, out_channels, H, W)."""
        parts = [x[:, self._slice(self.in_channels)]]
        keep = self._slice(self.channels)
        for branch in self.ppm:
            pooled = branch(x)[:, keep]
            parts.append(resize(pooled, size=x.shape[2:], mode='bilinear',
                                align_corners=self.align_corners, warning=False))
        return torch.cat(parts, 1)
