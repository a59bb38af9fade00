"""Boundary F1: per-class F1 restricted to a band around the ground-truth edges of the class.

Hair, brows and lips are thin or ragged: most of their errors sit on their outlines, where a
region metric dilutes them in the interior pixels. The trimap evaluation (Kohli, Ladicky and Torr,
"Robust higher order potentials for enforcing label consistency", IJCV 2009) scores only the
pixels near the true boundaries; here the band is per class:

- ``G_c`` = ground-truth pixels of class ``c``, ``O_c`` = the other annotated pixels (labels
  other than ``c`` and ``ignore_index``);
- a pixel is in the band of ``c`` when its (2w+1) x (2w+1) window holds both a ``G_c`` and an
  ``O_c`` pixel (Chebyshev distance <= w from each): the strip of width ``w`` on each side of the
  class's outline. The image border is not an edge and ignored pixels make none;
- in the band of ``c``: ``tp`` = pixels predicted ``c`` that are ``c``, ``gt`` = pixels that are
  ``c``, ``pred`` = pixels predicted ``c`` (annotated pixels only).

Counts are summed over the split like the confusion matrix, and BF1_c = 2 tp / (gt + pred): NaN
where the class has no band anywhere. Predictions of ``c`` far from every edge of ``c`` (a blob in
the wrong place) are region errors, not boundary errors, and do not count here; the region F1
scores them.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch

__all__ = ['boundary_band', 'boundary_counts', 'boundary_f1']


def _as_numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _dilate(mask: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    # cv2's default border for dilation never switches a pixel on: the image border is no edge
    return cv2.dilate(mask.astype(np.uint8), kernel) > 0


def boundary_band(label, cls: int, width: int, ignore_index: int = 255) -> np.ndarray:
    """Bool (H, W): the pixels within ``width`` (Chebyshev distance) of both a pixel of ``cls``
    and an annotated pixel of another class."""
    if int(width) < 1:
        raise ValueError(f'boundary width must be a positive number of pixels, got {width}')
    label = _as_numpy(label)
    kernel = np.ones((2 * int(width) + 1,) * 2, np.uint8)
    inside = label == cls
    other = (label != cls) & (label != ignore_index)
    if not inside.any() or not other.any():
        return np.zeros(label.shape, bool)
    return _dilate(inside, kernel) & _dilate(other, kernel)


def boundary_counts(pred, label, num_classes: int, width: int,
                    ignore_index: int = 255) -> np.ndarray:
    """(3, num_classes) int64: ``tp``, ``gt`` and ``pred`` counts of each class inside its own
    band (:func:`boundary_band`) for one image."""
    pred, label = _as_numpy(pred), _as_numpy(label)
    if pred.shape != label.shape:
        raise ValueError(f'prediction {pred.shape} and label {label.shape} differ in size')
    counts = np.zeros((3, num_classes), np.int64)
    valid = label != ignore_index
    for c in np.unique(label[valid]):
        c = int(c)
        if not 0 <= c < num_classes:
            raise ValueError(f'label value {c} is outside 0..{num_classes - 1} and is not '
                             f'ignore_index={ignore_index}')
        band = boundary_band(label, c, width, ignore_index) & valid
        is_c, pred_c = label[band] == c, pred[band] == c
        counts[:, c] = (np.sum(is_c & pred_c), np.sum(is_c), np.sum(pred_c))
    return counts


def boundary_f1(counts: np.ndarray) -> np.ndarray:
    """Per-class boundary F1 (fractions) from summed :func:`boundary_counts`; NaN where a class
    has no band pixel and no prediction in one."""
    tp, gt, pred = np.asarray(counts, np.float64)
    with np.errstate(divide='ignore', invalid='ignore'):
        return np.where(gt + pred > 0, 2 * tp / (gt + pred), np.nan)
