"""Feature affinity loss of DSRL (Wang et al., "Dual Super-Resolution Learning for Semantic
Segmentation", CVPR 2020, section 3.3).

Two feature maps of one spatial size, (B, C1, h, w) from the segmentation branch and (B, C2, h, w)
from the super-resolution branch (C1 and C2 may differ) -> a scalar. Each map is first
average-pooled by ``pool_stride`` (h' = ceil(h / stride)) so that the N x N matrices below fit in
memory; then, with N = h' x w' and f_i the C-vector of pixel i,

    S_ij = (f_i / ||f_i||_2)^T (f_j / ||f_j||_2)          (B, N, N), the cosine similarities
    L_fa = loss_weight * mean_b 1 / N^2 sum_ij |S_ij^seg - S_ij^sr|

The normalisation makes S (and the loss) invariant to a positive rescaling of either map, as a
whole or per pixel: only the directions of the features, their pairwise structure, are compared.

What the paper specifies: the normalised pairwise similarity matrices, their L1 distance averaged
over the N^2 pairs, computed on subsampled features to save memory. Our choices: p = 2 in the
normalisation (cosine similarity) and average pooling as the subsampling, its stride an argument.
Computed in fp32 with autocast off.
"""
import torch
import torch.nn.functional as F
from torch import nn

from faceparse_mm.registry import MODELS


def feature_affinity(features: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """(B, C, h, w) -> (B, N, N), N = h * w (row-major): the cosine similarity of every pair of
    pixels' C-vectors (a zero vector has similarity 0 with everything)."""
    f = F.normalize(features.flatten(2), dim=1, eps=eps)  # (B, C, N), unit columns
    return f.transpose(1, 2) @ f


@MODELS.register_module()
class FeatureAffinityLoss(nn.Module):
    """``forward(seg_features, sr_features)``: (B, C1, h, w) and (B, C2, h, w) -> a scalar.

    Args:
        pool_stride: average-pooling kernel and stride applied to both maps first (1: none).
        loss_weight: w_fa (1.0 in the paper).
        loss_name: the key of the loss in the segmentor's loss dict.
    """

    def __init__(self, pool_stride: int = 1, loss_weight: float = 1.0,
                 loss_name: str = 'loss_fa'):
        super().__init__()
        if pool_stride < 1:
            raise ValueError(f'pool_stride must be >= 1, got {pool_stride}')
        self.pool_stride = int(pool_stride)
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        if self.pool_stride == 1:
            return x
        return F.avg_pool2d(x, self.pool_stride, self.pool_stride, ceil_mode=True)

    def forward(self, seg_features: torch.Tensor, sr_features: torch.Tensor, **kwargs):
        if seg_features.shape[0] != sr_features.shape[0] or (
                seg_features.shape[-2:] != sr_features.shape[-2:]):
            raise ValueError('FeatureAffinityLoss: both maps need one batch and spatial size, got '
                             f'{tuple(seg_features.shape)} and {tuple(sr_features.shape)}')
        with torch.autocast(device_type=seg_features.device.type, enabled=False):
            seg = feature_affinity(self._pool(seg_features.float()))
            sr = feature_affinity(self._pool(sr_features.float()))
            return self.loss_weight * (seg - sr).abs().mean()

    @property
    def loss_name(self) -> str:
        return self._loss_name


__all__ = ['FeatureAffinityLoss', 'feature_affinity']
