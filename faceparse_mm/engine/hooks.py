"""Training hooks.

:class:`NonFiniteLossHook` stops training at the first iteration whose loss (or any loss term) is
NaN or infinite, naming the iteration, the term and the last checkpoint saved before it. It runs
before the checkpoint hook, so a checkpoint with broken weights is never written. mmengine's
``CheckInvalidLossHook`` only checks every ``interval`` iterations, with an assertion.
"""
from __future__ import annotations

import math

from mmengine.hooks import Hook

from faceparse_mm.registry import HOOKS


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss."""


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    priority = 'ABOVE_NORMAL'  # before CheckpointHook (VERY_LOW) and LoggerHook (BELOW_NORMAL)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not outputs:
            return
        bad = {}
        for name, value in outputs.items():
            if not name.startswith('loss') and name != 'loss':
                continue
            v = float(value.detach()) if hasattr(value, 'detach') else float(value)
            if not math.isfinite(v):
                bad[name] = v
        if bad:
            last = runner.message_hub.get_info('last_ckpt') or 'none saved yet'
            terms = ', '.join(f'{k}={v}' for k, v in bad.items())
            raise NonFiniteLossError(
                f'non-finite loss at iteration {runner.iter + 1}: {terms}; training stopped, '
                f'last good checkpoint: {last}')
