"""Bootstrap intervals of mF1 and mIoU over test images, for one run and for a paired comparison.

A resample draws N of the N test images with replacement (multinomial counts ``w``, one row per
resample) and scores the confusion matrix ``sum_i w_i C_i`` exactly like the split's metric
(:func:`faceparse_mm.evaluation.metrics_from_confusion`: NaN classes left out of the means), so
the statistic is the split-level mF1, not a mean of per-image scores.

- One run: the percentile interval of the resampled metric at ``level`` (default 95%).
- Two runs on the same images (paired): each resample takes the same images from both runs and
  records ``metric(A) - metric(B)``; the interval is the percentile interval of that difference
  and the two-sided p-value is the one the interval inverts,
  ``p = min(1, 2 min(#{d <= 0} + 1, #{d >= 0} + 1) / (B + 1))`` for ``B`` resamples (the +1
  counts the observed split, so p is never exactly 0): p < 1 - level when, and only when, the
  interval leaves out 0 (up to the +1). Identical runs give a difference of exactly 0 and p = 1.

Resampling is seeded (``numpy.random.default_rng(seed)``), so a rerun gives the same numbers.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ['METRICS', 'scores', 'resample_counts', 'bootstrap_interval', 'p_value',
           'paired_bootstrap']

METRICS = ('mF1', 'mIoU')
_CHUNK = 256  # resamples scored at once (memory: CHUNK x N weights + CHUNK x C x C sums)


def _nanmean(values: np.ndarray) -> np.ndarray:
    """Mean over the last axis leaving NaN out; NaN where a row is all NaN (no warning)."""
    finite = ~np.isnan(values)
    count = finite.sum(axis=-1)
    total = np.where(finite, values, 0.0).sum(axis=-1)
    with np.errstate(divide='ignore', invalid='ignore'):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def scores(confs: np.ndarray, foreground: Sequence[int] | None = None) -> dict:
    """mF1 (over ``foreground``, default all classes but 0) and mIoU (over all classes), percent,
    of each confusion matrix in ``confs`` (..., C, C): the batched form of
    :func:`metrics_from_confusion`."""
    confs = np.asarray(confs, np.float64)
    tp = np.diagonal(confs, axis1=-2, axis2=-1)
    gt, pred = confs.sum(axis=-1), confs.sum(axis=-2)
    union = gt + pred - tp
    with np.errstate(divide='ignore', invalid='ignore'):
        f1 = np.where(gt + pred > 0, 2 * tp / (gt + pred), np.nan)
        iou = np.where(union > 0, tp / union, np.nan)
    fg = list(range(1, confs.shape[-1])) if foreground is None else list(foreground)
    return dict(mF1=_nanmean(f1[..., fg]) * 100, mIoU=_nanmean(iou) * 100)


def resample_counts(n: int, n_boot: int, seed: int = 0) -> np.ndarray:
    """(n_boot, n) int64: how often each of ``n`` images is drawn in each resample."""
    if n < 1 or n_boot < 1:
        raise ValueError(f'need at least one image and one resample, got {n} and {n_boot}')
    rng = np.random.default_rng(seed)
    return rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot)


def _resampled(confs: np.ndarray, weights: np.ndarray, foreground) -> dict:
    """{metric: (n_boot,)} for the resamples ``weights`` of ``confs`` (N, C, C)."""
    flat = np.asarray(confs, np.float64).reshape(len(confs), -1)
    c = confs.shape[-1]
    out = {k: [] for k in METRICS}
    for start in range(0, len(weights), _CHUNK):
        sums = (weights[start:start + _CHUNK] @ flat).reshape(-1, c, c)
        for k, v in scores(sums, foreground).items():
            out[k].append(v)
    return {k: np.concatenate(v) for k, v in out.items()}


def _check(confs) -> np.ndarray:
    confs = np.asarray(confs)
    if confs.ndim != 3 or confs.shape[1] != confs.shape[2] or len(confs) == 0:
        raise ValueError(f'expected per-image confusion matrices (N, C, C), got {confs.shape}')
    return confs


def _bounds(values: np.ndarray, level: float) -> tuple[float, float]:
    values = values[~np.isnan(values)]
    if not values.size:
        return float('nan'), float('nan')
    tail = (1 - level) / 2
    lo, hi = np.quantile(values, [tail, 1 - tail])
    return float(lo), float(hi)


def _check_level(level: float) -> float:
    if not 0 < level < 1:
        raise ValueError(f'level must be in (0, 1), got {level}')
    return float(level)


def bootstrap_interval(confs, n_boot: int = 2000, seed: int = 0, level: float = 0.95,
                       foreground: Sequence[int] | None = None) -> dict:
    """{metric: dict(value, lo, hi, std)} for one run's per-image confusion matrices (N, C, C):
    the split's value, the percentile interval and the standard deviation over resamples."""
    confs, level = _check(confs), _check_level(level)
    point = scores(confs.sum(axis=0), foreground)
    boot = _resampled(confs, resample_counts(len(confs), n_boot, seed), foreground)
    out = {}
    for k in METRICS:
        lo, hi = _bounds(boot[k], level)
        out[k] = dict(value=float(point[k]), lo=lo, hi=hi, std=float(np.nanstd(boot[k])))
    return out


def p_value(diffs: np.ndarray) -> float:
    """Two-sided bootstrap p-value of a zero difference (see the module docstring)."""
    diffs = diffs[~np.isnan(diffs)]
    below, above = int((diffs <= 0).sum()), int((diffs >= 0).sum())
    return min(1.0, 2 * min(below + 1, above + 1) / (diffs.size + 1))


def paired_bootstrap(confs_a, confs_b, n_boot: int = 2000, seed: int = 0, level: float = 0.95,
                     foreground: Sequence[int] | None = None) -> dict:
    """{metric: dict(a, b, diff, lo, hi, p)} for two runs on the same images (row i of both
    arrays is the same image): the split values, their difference A - B, its percentile
    interval and the two-sided p-value."""
    confs_a, confs_b, level = _check(confs_a), _check(confs_b), _check_level(level)
    if confs_a.shape != confs_b.shape:
        raise ValueError(f'paired runs need the same images and classes: {confs_a.shape} vs '
                         f'{confs_b.shape}')
    weights = resample_counts(len(confs_a), n_boot, seed)
    boot_a = _resampled(confs_a, weights, foreground)
    boot_b = _resampled(confs_b, weights, foreground)
    point_a = scores(confs_a.sum(axis=0), foreground)
    point_b = scores(confs_b.sum(axis=0), foreground)
    out = {}
    for k in METRICS:
        diffs = boot_a[k] - boot_b[k]
        lo, hi = _bounds(diffs, level)
        out[k] = dict(a=float(point_a[k]), b=float(point_b[k]),
                      diff=float(point_a[k] - point_b[k]), lo=lo, hi=hi, p=p_value(diffs))
    return out
