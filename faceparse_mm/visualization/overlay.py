"""Label maps drawn over the image they were predicted from, with an optional legend.

- :func:`overlay_labels`: every pixel blended with its class colour,
  ``out = (1 - alpha) * image + alpha * palette[label]``, rounded; the image is BGR uint8
  (H, W, 3), the labels (H, W) ids, the palette RGB (as the datasets' ``METAINFO``).
- :func:`add_legend`: a panel to the right of an image listing the classes present in a label
  map (colour swatch and name), in id order; as many columns as the image's height needs.
- :func:`class_areas`: the fraction of the pixels that each class covers.
"""
from __future__ import annotations

import cv2
import numpy as np


def _palette_bgr(palette, num: int) -> np.ndarray:
    colours = np.asarray(palette, dtype=np.float64).reshape(-1, 3)[:, ::-1]
    if len(colours) < num:
        raise ValueError(f'the palette has {len(colours)} colours, the labels go up to {num - 1}')
    return colours


def overlay_labels(image: np.ndarray, labels: np.ndarray, palette,
                   alpha: float = 0.5) -> np.ndarray:
    """Blend ``image`` (BGR uint8, (H, W, 3)) with the colours of ``labels`` ((H, W) ids)."""
    if image.shape[:2] != labels.shape[:2]:
        raise ValueError(f'image is {image.shape[1]}x{image.shape[0]} but labels are '
                         f'{labels.shape[1]}x{labels.shape[0]}')
    colours = _palette_bgr(palette, int(labels.max()) + 1 if labels.size else 0)
    blended = (1 - alpha) * image.astype(np.float64) + alpha * colours[labels]
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def add_legend(image: np.ndarray, labels: np.ndarray, classes, palette) -> np.ndarray:
    """``image`` (BGR uint8) with a white legend panel on its right: one row (swatch, name) per
    class present in ``labels``, in id order."""
    present = [int(i) for i in np.unique(labels)]
    colours = _palette_bgr(palette, max(present) + 1 if present else 0)
    h = image.shape[0]
    scale = float(np.clip(h / 600, 0.35, 1.0))
    row = max(12, int(round(26 * scale)))
    rows_per_col = max(1, (h - row // 2) // row)
    names = [str(classes[i]) if i < len(classes) else str(i) for i in present]
    text_w = max([cv2.getTextSize(n, cv2.FONT_HERSHEY_SIMPLEX, scale * 0.6, 1)[0][0]
                  for n in names] or [0])
    col_w = row + text_w + row // 2
    ncols = -(-len(present) // rows_per_col) if present else 0
    panel = np.full((h, ncols * col_w + row // 2, 3), 255, np.uint8)
    for k, (cls, name) in enumerate(zip(present, names)):
        x0 = (k // rows_per_col) * col_w + row // 2
        y0 = (k % rows_per_col) * row + row // 2
        sw = row - 4
        colour = tuple(int(c) for c in colours[cls])
        cv2.rectangle(panel, (x0, y0), (x0 + sw, y0 + sw), colour, thickness=-1)
        cv2.rectangle(panel, (x0, y0), (x0 + sw, y0 + sw), (0, 0, 0), thickness=1)
        cv2.putText(panel, name, (x0 + sw + 4, y0 + sw - 2), cv2.FONT_HERSHEY_SIMPLEX,
                    scale * 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([image, panel], axis=1)


def class_areas(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """(num_classes,) float64: the fraction of ``labels``' pixels in each class (sums to 1)."""
    counts = np.bincount(labels.ravel(), minlength=num_classes)[:num_classes]
    return counts / max(labels.size, 1)
