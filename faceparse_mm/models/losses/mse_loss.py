"""Mean squared error, the reconstruction loss of DSRL's single-image super-resolution branch
(Wang et al., "Dual Super-Resolution Learning for Semantic Segmentation", CVPR 2020, section 3.4).

prediction and target of one shape (e.g. (B, 3, H, W) images) -> a scalar,
``loss_weight * mean((prediction - target)^2)`` over every element; the target gets no gradient.
Computed in fp32 with autocast off (mmseg registers no MSE loss).
"""
import torch
import torch.nn.functional as F
from torch import nn

from faceparse_mm.registry import MODELS


@MODELS.register_module()
class MSELoss(nn.Module):
    """``forward(prediction, target)`` -> a scalar. ``loss_weight``: w_sr (0.1 in DSRL)."""

    def __init__(self, loss_weight: float = 1.0, loss_name: str = 'loss_mse'):
        super().__init__()
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, prediction: torch.Tensor, target: torch.Tensor, **kwargs):
        if prediction.shape != target.shape:
            raise ValueError(f'MSELoss: shapes differ, {tuple(prediction.shape)} and '
                             f'{tuple(target.shape)}')
        with torch.autocast(device_type=prediction.device.type, enabled=False):
            return self.loss_weight * F.mse_loss(prediction.float(), target.detach().float())

    @property
    def loss_name(self) -> str:
        return self._loss_name


__all__ = ['MSELoss']
