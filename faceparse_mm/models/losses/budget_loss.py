"""The budget constraint of Dynamic Routing (Li, Song, Chen, Li, Zhang, Wang, Sun, "Learning
Dynamic Routing for Semantic Segmentation", CVPR 2020, section 3.3).

expected cost (N,) and the all-open cost C_max (a number) -> a scalar::

    loss_weight * w(t) * (mean_N(C_expected) / C_max - mu) ** 2

zero exactly when the batch's mean expected cost is ``mu`` of the maximum, and its gradient
pushes the gates (through C_expected) towards that budget. lambda = ``loss_weight``, mu = ``mu``.

w(t) is the authors' schedule (``BudgetConstraint`` and ``DynamicNet4Seg`` in
``dl_lib/modeling/meta_arch/dynamic4seg.py``, ``UNUPDATE_RATE`` and ``WARM_UP``): 0 for the first
``start_ratio`` of training, then a linear ramp to 1 over ``warmup_ratio`` of it. Training
progress is ``iter / max_iters`` from mmengine's message hub (the runner's ``RuntimeInfoHook``
keeps both there); without them (a model used outside a runner) w = 1. Computed in fp32 with
autocast off.
"""
import torch
from mmengine.logging import MessageHub
from torch import nn

from faceparse_mm.registry import MODELS

__all__ = ['BudgetLoss']


@MODELS.register_module()
class BudgetLoss(nn.Module):
    """Args:
        mu: the target fraction of the all-open cost.
        loss_weight: lambda.
        start_ratio: fraction of training before the loss switches on (0.4, the authors').
        warmup_ratio: fraction of training over which its weight then ramps to 1 (0.02).
        loss_name: the key of the losses dict (must contain ``loss`` to be summed).
    """

    def __init__(self, mu: float = 0.2, loss_weight: float = 0.5, start_ratio: float = 0.4,
                 warmup_ratio: float = 0.02, loss_name: str = 'loss_budget'):
        super().__init__()
        self.mu, self.loss_weight = float(mu), float(loss_weight)
        self.start_ratio, self.warmup_ratio = float(start_ratio), float(warmup_ratio)
        self._loss_name = loss_name

    @property
    def loss_name(self):
        return self._loss_name

    def schedule_weight(self) -> float:
        """w(t) from the message hub's ``iter`` / ``max_iters`` (1 without them)."""
        hub = MessageHub.get_current_instance()
        it, max_iters = hub.get_info('iter'), hub.get_info('max_iters')
        if it is None or not max_iters:
            return 1.0
        progress = it / max_iters
        if progress < self.start_ratio:
            return 0.0
        if self.warmup_ratio <= 0:
            return 1.0
        return min(1.0, (progress - self.start_ratio) / self.warmup_ratio)

    def forward(self, expected: torch.Tensor, maximum) -> torch.Tensor:
        with torch.autocast(device_type=expected.device.type, enabled=False):
            ratio = expected.float().mean() / float(maximum)
            return self.loss_weight * self.schedule_weight() * (ratio - self.mu) ** 2
