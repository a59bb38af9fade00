"""Synthetic faces written in LaPa's release layout (the generator's ``--layout lapa``).

Layout, as the release (read by :class:`~faceparse_mm.datasets.lapa.LaPaDataset` directly)::

    OUT/{train,val,test}/images/{i:06d}.jpg      RGB JPEG, each face its own size
    OUT/{train,val,test}/labels/{i:06d}.png      8-bit label map at the image's size, LaPa ids
    OUT/{train,val,test}/landmarks/{i:06d}.txt   "106", then 106 lines "x y"
    OUT/synthetic_lapa.json                      parameters and split sizes; written last

Faces: face ``i`` is face ``i`` of the CelebAMask-HQ layout with the same seed
(:func:`~faceparse_mm.datasets.synthetic.render_face` with the generator ``[seed, i]``),
rendered at its own size: a square side drawn in ``min_size..max_size``, then the height or the
width cropped to 80-100% of it (LaPa's images are not square). The size and the crop come from a
second generator, ``[seed, i, 1]``, so they do not change the face.

Labels: the parts are merged in id order like the CelebAMask-HQ converter, then each
CelebAMask-HQ class becomes its LaPa class by
:data:`~faceparse_mm.datasets.lapa_table.CELEBAMASK_TO_LAPA`: glasses are left out of the merge
(the eyes, brows and skin beneath them show), ears become skin, earrings, neck, necklace, cloth
and hat become background, the mouth is LaPa's inner mouth.

Splits: LaPa's proportions, 18,176 : 2,000 : 2,000 (:func:`split_sizes`); ids ``0..`` go to train,
then val, then test.

Landmarks: the release's file format, but the 106 points are the face outline (the outer contour
of the LaPa skin region, sampled evenly along its length), not LaPa's semantic 106-point scheme.
Nothing in the repository reads them.
"""
from __future__ import annotations

import importlib.util
import json
import multiprocessing
import os
import os.path as osp
import sys
import time

import cv2
import numpy as np

if __package__:
    from faceparse_mm.utils.io import atomic_path

    from . import synthetic as _synthetic
    from .lapa_table import CELEBAMASK_TO_LAPA, LAPA_CLASS_ID
else:  # loaded as a lone file (tools/make_synthetic_celebamask.py, which avoids torch/mmseg):
    # load the generator, the LaPa table and the atomic writer (leaf modules) from their files
    def _load(name, path):
        if name in sys.modules:
            return sys.modules[name]
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # workers unpickle by module name
        spec.loader.exec_module(module)
        return module

    _HERE = osp.dirname(osp.abspath(__file__))
    _synthetic = _load('faceparse_mm_synthetic', osp.join(_HERE, 'synthetic.py'))
    _table = _load('faceparse_mm_lapa_table', osp.join(_HERE, 'lapa_table.py'))
    CELEBAMASK_TO_LAPA, LAPA_CLASS_ID = _table.CELEBAMASK_TO_LAPA, _table.LAPA_CLASS_ID
    atomic_path = _load('faceparse_mm_io', osp.join(_HERE, '..', 'utils', 'io.py')).atomic_path

__all__ = ['LAPA_SPLITS', 'SYNTHETIC_MARKER', 'CELEBAMASK_TO_LAPA_IDS', 'lapa_label',
           'face_landmarks', 'split_sizes', 'make_synthetic_lapa']

LAPA_SPLITS = ('train', 'val', 'test')
#: LaPa's release: images per split
LAPA_RELEASE_SIZES = (18176, 2000, 2000)
#: written last: a folder without it holds no finished synthetic set
SYNTHETIC_MARKER = 'synthetic_lapa.json'
NUM_LANDMARKS = 106
#: CelebAMask-HQ label id -> LaPa label id (the parts that are left out map to 0; they never
#: reach the lookup)
CELEBAMASK_TO_LAPA_IDS = np.array(
    [LAPA_CLASS_ID[CELEBAMASK_TO_LAPA[name] or 'background'] for name in _synthetic.CLASSES],
    np.uint8)


def lapa_label(masks: dict, size) -> np.ndarray:
    """The LaPa label map (uint8, ids 0..10) of a face's CelebAMask-HQ part masks
    (:func:`~faceparse_mm.datasets.synthetic.render_face`'s ``masks``): the parts that LaPa
    leaves out (glasses) dropped, the rest merged in id order, then mapped."""
    kept = {name: m for name, m in masks.items() if CELEBAMASK_TO_LAPA[name] is not None}
    return CELEBAMASK_TO_LAPA_IDS[_synthetic.merge_masks(kept, size)]


def face_landmarks(label: np.ndarray, num: int = NUM_LANDMARKS) -> np.ndarray:
    """(num, 2) float (x, y): points evenly spaced along the outer contour of the largest skin
    region of a LaPa label map (the image's border when there is no skin)."""
    skin = (label == LAPA_CLASS_ID['skin']).astype(np.uint8)
    contours, _ = cv2.findContours(skin, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if contours:
        outline = max(contours, key=cv2.contourArea)[:, 0].astype(np.float64)
    else:
        h, w = label.shape
        outline = np.array([(0, 0), (w - 1, 0), (w - 1, h - 1), (0, h - 1)], np.float64)
    closed = np.concatenate([outline, outline[:1]])
    step = np.linalg.norm(np.diff(closed, axis=0), axis=1)
    along = np.concatenate([[0.0], np.cumsum(step)])
    at = np.linspace(0, along[-1], num, endpoint=False)
    return np.stack([np.interp(at, along, closed[:, 0]), np.interp(at, along, closed[:, 1])], 1)


def split_sizes(num: int) -> tuple[int, int, int]:
    """(train, val, test) counts for ``num`` faces in LaPa's proportions, at least one each."""
    if num < len(LAPA_SPLITS):
        raise ValueError(f'a synthetic LaPa set needs at least 3 faces (one per split), got {num}')
    held = max(1, round(num * LAPA_RELEASE_SIZES[1] / sum(LAPA_RELEASE_SIZES)))
    held = min(held, (num - 1) // 2)
    return num - 2 * held, held, held


def _face_shape(seed: int, i: int, min_size: int, max_size: int):
    """(square side, (y0, y1, x0, x1) crop) of face ``i``, from its own generator."""
    rng = np.random.default_rng([seed, i, 1])
    side = int(rng.integers(min_size, max_size + 1))
    length = max(1, int(round(side * rng.uniform(0.8, 1.0))))
    start = int(rng.integers(0, side - length + 1))
    if rng.integers(2):  # crop the width
        return side, (0, side, start, start + length)
    return side, (start, start + length, 0, side)


def _write_image(path: str, array: np.ndarray, params=()) -> None:
    with atomic_path(path) as tmp:
        if not cv2.imwrite(tmp, array, list(params)):
            raise OSError(f'cannot write {path}')


def _write_text(path: str, text: str) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, 'w') as f:
            f.write(text)


def _lapa_face_job(job):
    out, split, i, min_size, max_size, seed, max_rotation = job
    side, (y0, y1, x0, x1) = _face_shape(seed, i, min_size, max_size)
    rng = np.random.default_rng([seed, i])
    img, masks = _synthetic.render_face(rng, side, side, max_rotation)
    label = lapa_label(masks, side)[y0:y1, x0:x1]
    img = img[y0:y1, x0:x1]
    name = f'{i:06d}'
    folder = osp.join(out, split)
    _write_image(osp.join(folder, 'images', f'{name}.jpg'), img[..., ::-1],
                 (cv2.IMWRITE_JPEG_QUALITY, 95))
    _write_image(osp.join(folder, 'labels', f'{name}.png'), label)
    points = face_landmarks(label)
    _write_text(osp.join(folder, 'landmarks', f'{name}.txt'),
                f'{len(points)}\n' + ''.join(f'{x:.2f} {y:.2f}\n' for x, y in points))
    return i


def _check_folder(out: str, params: dict) -> None:
    """Refuse a folder that holds a finished synthetic set made with other parameters."""
    marker = osp.join(out, SYNTHETIC_MARKER)
    if not osp.isfile(marker):
        return
    with open(marker) as f:
        old = json.load(f)
    before = {k: old.get(k) for k in params}
    if before != params:
        raise ValueError(f'{out} holds a synthetic LaPa set made with {before} ({marker}); '
                         f'this run asks for {params}: use an empty folder')


def make_synthetic_lapa(out: str, num: int, min_size: int = 128, max_size: int = 256,
                        seed: int = 0, nproc: int = 1, max_rotation: float = 20.0) -> dict:
    """Write ``num`` faces in LaPa's layout under ``out`` (see the module docstring); returns
    ``dict(count, splits, seconds, faces_per_s)``."""
    if not 0 < min_size <= max_size:
        raise ValueError(f'synthetic LaPa sizes need 0 < min_size <= max_size, got '
                         f'min_size={min_size}, max_size={max_size}')
    start = time.perf_counter()
    sizes = split_sizes(num)
    params = dict(layout='lapa', num=num, min_size=min_size, max_size=max_size, seed=seed,
                  max_rotation=max_rotation)
    _check_folder(out, params)
    bounds = np.cumsum((0,) + sizes)
    jobs = []
    for split, lo, hi in zip(LAPA_SPLITS, bounds[:-1], bounds[1:]):
        for sub in ('images', 'labels', 'landmarks'):
            os.makedirs(osp.join(out, split, sub), exist_ok=True)
        jobs += [(out, split, i, min_size, max_size, seed, max_rotation)
                 for i in range(int(lo), int(hi))]
    if nproc > 1:
        with multiprocessing.get_context('fork').Pool(
                nproc, _synthetic.setup_generator_process) as pool:
            for _ in pool.imap_unordered(_lapa_face_job, jobs, chunksize=8):
                pass
    else:
        for job in jobs:
            _lapa_face_job(job)
    for split, count in zip(LAPA_SPLITS, sizes):
        folder = osp.join(out, split, 'images')
        found = sum(name.endswith('.jpg') for name in os.listdir(folder))
        if found != count:
            raise ValueError(f'{folder} holds {found} images but this run wrote {count}: '
                             f'files of another run are mixed in (or were removed); use an '
                             f'empty folder')
    _write_text(osp.join(out, SYNTHETIC_MARKER),
                json.dumps(dict(params, splits=dict(zip(LAPA_SPLITS, sizes))), indent=2) + '\n')
    seconds = time.perf_counter() - start
    return dict(count=num, splits=dict(zip(LAPA_SPLITS, sizes)), seconds=seconds,
                faces_per_s=num / max(seconds, 1e-9))
