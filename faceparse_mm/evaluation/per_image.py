"""Per-image confusion counts of a test run, saved beside its ``test_metrics.json``.

``FaceParsingMetric(per_image_out=PATH)`` (``tools/test.py --per-image``) writes ``PATH``, a
compressed numpy archive (``WORK_DIR/test_per_image.npz`` from ``tools/test.py``):

============  ==================  ==========================================================
key           shape, dtype        what
============  ==================  ==========================================================
names         (N,) str            each image's path as the dataset gave it, in split order
conf          (N, C, C) int64     its confusion matrix (rows: ground truth, columns: prediction)
classes       (C,) str            the class names
foreground    (F,) int64          the class ids averaged into mF1
boundary      (N, 3, C) int64     optional: boundary ``tp, gt, pred`` counts (``boundary.py``)
width         () int64            optional: the boundary band width in pixels
============  ==================  ==========================================================

Summed over the images, ``conf`` is the split's confusion matrix, so any subset of the images
(a bootstrap resample, a head-pose bucket) is scored exactly like the split. 19 x 19 x 8 bytes
per image before compression: a 2,824-image test split is a few hundred KB on disk.
"""
from __future__ import annotations

import os.path as osp
from typing import Sequence

import numpy as np

from faceparse_mm.errors import FaceDataError
from faceparse_mm.utils.io import atomic_path
from faceparse_mm.utils.results import repo_relative

__all__ = ['PER_IMAGE_FILE', 'save_per_image', 'load_per_image', 'run_label']

PER_IMAGE_FILE = 'test_per_image.npz'
REQUIRED = ('names', 'conf', 'classes', 'foreground')


def run_label(path: str) -> str:
    """A run's name in a results table, from the path of its per-image file: the run directory
    for ``DIR/test_per_image.npz``, else the file without ``.npz`` (``results/per_image/NAME``);
    relative to the repository when inside it."""
    run = osp.dirname(path) if osp.basename(path) == PER_IMAGE_FILE else (
        path[:-len('.npz')] if path.endswith('.npz') else path)
    return repo_relative(osp.abspath(run))


def save_per_image(path: str, names: Sequence[str], confs, classes: Sequence[str],
                   foreground: Sequence[int], boundary=None, width: int | None = None) -> str:
    """Write the archive atomically (a kill never leaves a partial file under ``path``)."""
    confs = np.asarray(confs, np.int64)
    if confs.ndim != 3 or len(confs) != len(names) or confs.shape[1:] != (len(classes),) * 2:
        raise ValueError(f'expected ({len(names)}, {len(classes)}, {len(classes)}) confusion '
                         f'counts, got {confs.shape}')
    arrays = dict(names=np.asarray([str(n) for n in names]), conf=confs,
                  classes=np.asarray([str(c) for c in classes]),
                  foreground=np.asarray(list(foreground), np.int64))
    if boundary is not None:
        arrays.update(boundary=np.asarray(boundary, np.int64), width=np.int64(width or 0))
    if not path.endswith('.npz'):
        raise ValueError(f'per-image counts are written as .npz, got {path}')
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, **arrays)
    return path


def load_per_image(path: str) -> dict:
    """The archive at ``path`` (or ``path/test_per_image.npz`` for a run directory) as a dict of
    arrays; :class:`FaceDataError` naming the file and the key for anything missing or
    inconsistent."""
    if osp.isdir(path):
        path = osp.join(path, PER_IMAGE_FILE)
    if not osp.isfile(path):
        raise FaceDataError(f'per-image counts not found: {path} (write them with '
                            f'tools/test.py CONFIG CHECKPOINT --per-image)')
    try:
        with np.load(path, allow_pickle=False) as data:
            out = {k: data[k] for k in data.files}
    except (OSError, ValueError) as err:
        raise FaceDataError(f'cannot read per-image counts {path}: {err}') from None
    missing = [k for k in REQUIRED if k not in out]
    if missing:
        raise FaceDataError(f'{path} has no {", ".join(missing)} (keys: {sorted(out)})')
    n, c = len(out['names']), len(out['classes'])
    if out['conf'].shape != (n, c, c):
        raise FaceDataError(f'{path}: conf has shape {out["conf"].shape}, expected ({n}, {c}, '
                            f'{c}) for {n} names and {c} classes')
    if n == 0:
        raise FaceDataError(f'{path} holds no images')
    if len(set(out['names'].tolist())) != n:
        raise FaceDataError(f'{path}: names repeat; each image must appear once')
    fg = out['foreground']
    if fg.size == 0 or fg.min() < 0 or fg.max() >= c:
        raise FaceDataError(f'{path}: foreground ids {fg.tolist()} are not class ids 0..{c - 1}')
    if 'boundary' in out and out['boundary'].shape != (n, 3, c):
        raise FaceDataError(f'{path}: boundary has shape {out["boundary"].shape}, expected '
                            f'({n}, 3, {c})')
    out['path'] = path
    return out
