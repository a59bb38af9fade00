"""TDNet's output norm (Hu, Caba Heilbron, Wang, Lin, Sclaroff and Perazzi, "Temporally
Distributed Networks for Fast Video Semantic Segmentation", CVPR 2020): a layer normalisation
over each channel's spatial map, with one affine weight and bias per position.

``y[n, c] = (x[n, c] - mean_hw(x[n, c])) / sqrt(var_hw(x[n, c]) + eps) * w + b``: the statistics
over the H x W map of each sample and channel (biased variance), ``w`` and ``b`` maps of one
stored size (h, w). (N, C, H, W) -> (N, C, H, W).

The authors' layer is ``nn.LayerNorm([97, 193])`` on the 97 x 193 feature of their 769 x 1537
Cityscapes crops (feinanshan/TDNet, td4_psp18.py): its affine maps are tied to that size, and
nothing else runs. Here, where the input's map is not the stored size, the two affine maps are
resized to it (bilinear with antialiasing, ``align_corners=False``: an image resize, as a
transformer's position embeddings are resized to another input size; every stored entry keeps
a gradient when the map is smaller). At the stored size no resize happens, so this is the
authors' layer exactly, with the same state-dict names (``weight``, ``bias``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from faceparse_mm.registry import MODELS

__all__ = ['SpatialLayerNorm']


@MODELS.register_module()
class SpatialLayerNorm(nn.Module):
    """Args:
        size: (h, w) of the stored affine maps (TDNet on Cityscapes: (97, 193)).
        eps: added to the variance (``nn.LayerNorm``'s 1e-5).
    """

    def __init__(self, size, eps: float = 1e-5):
        super().__init__()
        self.size = tuple(int(s) for s in size)
        if len(self.size) != 2 or min(self.size) < 1:
            raise ValueError(f'size must be (h, w) with h, w >= 1, got {size}')
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(self.size))
        self.bias = nn.Parameter(torch.zeros(self.size))

    def affine(self, size) -> tuple:
        """The weight and bias maps at ``size`` (H, W)."""
        size = tuple(size)
        if size == self.size:
            return self.weight, self.bias
        both = torch.stack([self.weight, self.bias])[None]
        both = F.interpolate(both, size=size, mode='bilinear', align_corners=False,
                             antialias=True)[0]
        return both[0], both[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight, bias = self.affine(x.shape[-2:])
        return F.layer_norm(x, tuple(x.shape[-2:]), weight, bias, self.eps)

    def extra_repr(self) -> str:
        return f'size={self.size}, eps={self.eps}'
