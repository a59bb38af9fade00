"""Online hard example mining cross-entropy (Shrivastava et al., CVPR 2016; the form used by
BiSeNet and face-parsing.PyTorch's ``OhemCELoss``).

logits (N, C, H, W), labels (N, H, W) -> per-pixel CE (ignored pixels contribute 0), sorted in
decreasing order as l[0] >= l[1] >= ...; with n_min = int(min_kept_ratio * N * H * W) (batch x
crop^2 / 16 by default): if l[n_min] (0-based, as in the reference code) exceeds -log(thresh) the
mean of all losses above -log(thresh) is returned, else the mean of l[:n_min]. A scalar.
mmseg's ``OHEMPixelSampler`` instead zero-weights easy pixels and then averages over all pixels,
which scales the loss with the kept fraction.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

from faceparse_mm.registry import MODELS


@MODELS.register_module()
class OhemCrossEntropyLoss(nn.Module):

    def __init__(self, thresh: float = 0.7, min_kept_ratio: float = 1 / 16,
                 ignore_index: int = 255, loss_weight: float = 1.0,
                 loss_name: str = 'loss_ohem'):
        super().__init__()
        if not 0 < thresh <= 1:
            raise ValueError(f'thresh is a probability in (0, 1], got {thresh}')
        self.thresh = thresh
        self.min_kept_ratio = min_kept_ratio
        self.ignore_index = ignore_index
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, cls_score, label, weight=None, ignore_index=None, **kwargs):
        ignore = self.ignore_index if ignore_index is None else ignore_index
        loss = F.cross_entropy(cls_score, label.long(), ignore_index=ignore,
                               reduction='none').flatten()
        if weight is not None:
            loss = loss * weight.flatten()
        n_min = min(int(self.min_kept_ratio * loss.numel()), loss.numel() - 1)
        if n_min < 1:
            return self.loss_weight * loss.mean()
        sorted_loss, _ = torch.sort(loss, descending=True)
        threshold = -math.log(self.thresh)
        if sorted_loss[n_min] > threshold:
            kept = sorted_loss[sorted_loss > threshold]
        else:
            kept = sorted_loss[:n_min]
        return self.loss_weight * kept.mean()

    @property
    def loss_name(self) -> str:
        return self._loss_name
