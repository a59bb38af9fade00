"""The one place where faceparse_mm adapts third-party libraries.

Two adaptations, both applied by :func:`apply` (called on ``import faceparse_mm``, before mmseg is
imported):

1. **mmcv-lite.** mmcv-lite ships ``mmcv/ops/*.py`` but not the compiled ``mmcv._ext``, so
   ``import mmcv.ops`` fails, and with it ``import mmseg.models`` (mmseg 1.2.2 imports
   ``point_sample`` and ``sigmoid_focal_loss`` from ``mmcv.ops`` at module load). When ``mmcv._ext``
   is missing we install a replacement ``mmcv.ops`` module that holds pure-PyTorch versions of
   the ops mmseg needs at import time and raises :class:`ModuleNotFoundError` for every other
   name, which is exactly what mmseg's optional imports (``CrissCrossAttention``, ``PSAMask``...)
   catch. With full mmcv installed nothing is changed.

2. **Safe checkpoints.** torch >= 2.6 loads with ``weights_only=True``; mmengine's own checkpoints
   then fail on :class:`mmengine.logging.HistoryBuffer` and numpy values in their ``meta``. We
   allow-list exactly those types with :func:`torch.serialization.add_safe_globals`.
   ``weights_only`` stays ``True``: a checkpoint cannot run code when it is loaded.
"""
from __future__ import annotations

import importlib.util
import inspect
import pickle
import re
import sys
import types
import warnings

import torch
import torch.nn.functional as F

from .errors import UnsafeCheckpointError

__all__ = ['apply', 'point_sample', 'sigmoid_focal_loss', 'safe_globals', 'load_checkpoint',
           'UnsafeCheckpointError', 'MMCV_LITE_OPS']

# --------------------------------------------------------------------------------------------
# 1. mmcv.ops on mmcv-lite
# --------------------------------------------------------------------------------------------


def point_sample(input: torch.Tensor, points: torch.Tensor, align_corners: bool = False,
                 **kwargs) -> torch.Tensor:
    """Sample ``input`` (N, C, H, W) at ``points`` given in [0, 1] x [0, 1] coordinates.

    ``points`` is (N, P, 2) or (N, Hp, Wp, 2) with (x, y) order; the result is (N, C, P) or
    (N, C, Hp, Wp). Same contract as ``mmcv.ops.point_sample``: a bilinear ``grid_sample``
    after mapping [0, 1] to [-1, 1].
    """
    squeeze = points.dim() == 3
    if squeeze:
        points = points.unsqueeze(2)
    out = F.grid_sample(input, points * 2.0 - 1.0, align_corners=align_corners, **kwargs)
    return out.squeeze(3) if squeeze else out


def sigmoid_focal_loss(input: torch.Tensor, target: torch.Tensor, gamma: float = 2.0,
                       alpha: float = 0.25, weight: torch.Tensor | None = None,
                       reduction: str = 'mean') -> torch.Tensor:
    """Pure-PyTorch ``mmcv.ops.sigmoid_focal_loss``.

    ``input`` (N, C) logits, ``target`` (N,) class indices (an index outside [0, C) makes the row
    all-negative), optional per-sample ``weight`` (N,). ``'mean'`` divides the sum by N, as mmcv's
    kernel does; ``'none'`` returns (N, C).
    """
    if reduction not in ('none', 'mean', 'sum'):
        raise ValueError(f'reduction must be none|mean|sum, got {reduction!r}')
    num_classes = input.size(1)
    classes = torch.arange(num_classes, device=input.device)
    pos = (target.view(-1, 1) == classes.view(1, -1)).to(input.dtype)
    p = input.sigmoid()
    # log(p) and log(1 - p) computed stably from the logits.
    log_p = F.logsigmoid(input)
    log_1mp = F.logsigmoid(-input)
    loss = -(alpha * pos * (1 - p).pow(gamma) * log_p
             + (1 - alpha) * (1 - pos) * p.pow(gamma) * log_1mp)
    if weight is not None:
        loss = loss * weight.view(-1, 1)
    if reduction == 'sum':
        return loss.sum()
    if reduction == 'mean':
        return loss.sum() / input.size(0)
    return loss


#: the ops the replacement ``mmcv.ops`` provides on mmcv-lite
MMCV_LITE_OPS = {'point_sample': point_sample, 'sigmoid_focal_loss': sigmoid_focal_loss}


class _LiteOpsModule(types.ModuleType):
    """``mmcv.ops`` for mmcv-lite: pure-torch ops, ModuleNotFoundError for compiled ones."""

    def __getattr__(self, name: str):
        if name.startswith('__'):
            raise AttributeError(name)
        raise ModuleNotFoundError(
            f'mmcv.ops.{name} needs the compiled mmcv._ext, which mmcv-lite does not have '
            f'(faceparse_mm provides only {sorted(MMCV_LITE_OPS)} on mmcv-lite); install full '
            f'mmcv to use it', name=f'mmcv.ops.{name}')


def _has_compiled_mmcv() -> bool:
    try:
        return importlib.util.find_spec('mmcv._ext') is not None
    except (ImportError, ValueError):
        return False


def _install_mmcv_ops() -> bool:
    """Install the replacement ``mmcv.ops``; returns whether it was installed."""
    if importlib.util.find_spec('mmcv') is None or _has_compiled_mmcv():
        return False
    current = sys.modules.get('mmcv.ops')
    if isinstance(current, _LiteOpsModule):
        return True
    import mmcv
    module = _LiteOpsModule('mmcv.ops', __doc__)
    module.__dict__.update(MMCV_LITE_OPS)
    module.__all__ = sorted(MMCV_LITE_OPS)
    sys.modules['mmcv.ops'] = module
    mmcv.ops = module
    # mmcv.cnn warns on every import that MultiScaleDeformableAttention is missing; that is
    # the expected state on mmcv-lite, said once above.
    warnings.filterwarnings('ignore', message='Fail to import ``MultiScaleDeformableAttention``')
    return True


# --------------------------------------------------------------------------------------------
# 2. weights_only checkpoints
# --------------------------------------------------------------------------------------------


def _history_buffer_getattr(obj, name):
    """Stands in for ``builtins.getattr`` while unpickling, for one use only.

    mmengine pickles ``HistoryBuffer._statistics_methods`` (``HistoryBuffer.min`` and friends) as
    ``getattr(HistoryBuffer, 'min')``. Allow-listing the real ``getattr`` would let a checkpoint
    reach any attribute (``__globals__`` included); this one returns public methods of
    ``HistoryBuffer`` and refuses everything else.
    """
    from mmengine.logging.history_buffer import HistoryBuffer

    if (obj is HistoryBuffer and isinstance(name, str) and not name.startswith('_')
            and inspect.isfunction(getattr(HistoryBuffer, name, None))):
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(f'Unsupported global: getattr({obj!r}, {name!r}) is not allowed')


def safe_globals() -> list:
    """The non-tensor types found in mmengine's own checkpoints (``meta`` and message hub)."""
    import numpy as np
    from mmengine.logging.history_buffer import HistoryBuffer

    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct, scalar
    dtype_classes = {type(np.dtype(t)) for t in (
        np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64,
        np.uint8, np.uint16, np.uint32, np.uint64, np.bool_)}
    return [HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr'), _reconstruct, scalar,
            np.ndarray, np.dtype, *sorted(dtype_classes, key=lambda c: c.__name__)]


_UNSUPPORTED = re.compile(r'(?:Unsupported global|Unsupported operand|Trying to call)[^\n.]*')


def unsafe_checkpoint_message(path, err: BaseException) -> str:
    """One line saying why ``path`` was refused, from torch's long UnpicklingError text."""
    found = _UNSUPPORTED.search(str(err))
    why = found.group(0).strip() if found else str(err).strip().splitlines()[0]
    return (f'refused to load checkpoint {path}: it is not a plain weights file ({why}); '
            f'faceparse_mm loads checkpoints with weights_only=True')


def load_checkpoint(path, map_location='cpu'):
    """``torch.load(path, weights_only=True)`` that raises :class:`UnsafeCheckpointError`
    (naming the file) when the pickle refers to anything outside the allow-list."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise UnsafeCheckpointError(unsafe_checkpoint_message(path, err)) from None


_applied = False


def apply() -> None:
    """Apply both adaptations once (idempotent)."""
    global _applied
    if _applied:
        return
    _install_mmcv_ops()
    torch.serialization.add_safe_globals(safe_globals())
    _applied = True
