"""Head-pose buckets: mF1 of the images whose |yaw| (or |pitch|) falls in each range.

CelebAMask-HQ ships ``CelebAMask-HQ-pose-anno.txt`` beside ``CelebA-HQ-img/`` (the synthetic
generator writes the same file for its faces)::

    30000                      the number of images
    Yaw Pitch Raw              the header ("Raw" is the release's spelling of roll)
    0.jpg 6.24 -2.65 -0.18     image name, yaw, pitch, roll in degrees
    ...

Buckets are right-open ranges of the absolute angle between consecutive ``edges``, the last one
unbounded: edges (15, 30, 45) give 0-15, 15-30, 30-45 and >45. A bucket's metrics come from the
confusion counts summed over its images (:func:`pose_buckets` sums them; the split's own
:func:`faceparse_mm.evaluation.metrics_from_confusion` turns them into mF1), so buckets and split
agree in definition; an image without a pose line is counted and left out of every bucket. A
leaf module (numpy only): the metric and the analysis tools import it.
"""
from __future__ import annotations

import math
import os.path as osp
from typing import Sequence

import numpy as np

from faceparse_mm.errors import FaceDataError

__all__ = ['POSE_FILE', 'POSE_HEADER', 'DEFAULT_EDGES', 'image_key', 'read_pose_file',
           'pose_file_for', 'bucket_labels', 'bucket_of', 'pose_buckets']

POSE_FILE = 'CelebAMask-HQ-pose-anno.txt'
POSE_HEADER = 'Yaw Pitch Raw'
DEFAULT_EDGES = (15.0, 30.0, 45.0)
AXES = ('yaw', 'pitch')


def image_key(name: str) -> str:
    """The key an image is known by in a pose file: its file name without folder and extension,
    a number without leading zeros (``00042.jpg``, ``42.png`` and ``x/42.jpg`` are ``'42'``)."""
    stem = osp.splitext(osp.basename(str(name)))[0]
    return str(int(stem)) if stem.isdigit() else stem


def read_pose_file(path: str) -> dict[str, tuple[float, float, float]]:
    """{image key: (yaw, pitch, roll)} from a pose file in the release's format;
    :class:`FaceDataError` naming the file and line for anything else."""
    try:
        with open(path) as f:
            lines = [line.strip() for line in f]
    except OSError as err:
        raise FaceDataError(f'cannot read pose file {path}: {err.strerror or err}') from None
    lines = [line for line in lines if line]
    if len(lines) < 2:
        raise FaceDataError(f'pose file {path}: expected a count line and the header '
                            f'{POSE_HEADER!r}, found {len(lines)} lines')
    try:
        count = int(lines[0])
    except ValueError:
        raise FaceDataError(f'{path}:1: expected the number of images, got {lines[0]!r}') from None
    if lines[1].split() != POSE_HEADER.split():
        raise FaceDataError(f'{path}:2: expected the header {POSE_HEADER!r}, got {lines[1]!r}')
    poses = {}
    for lineno, line in enumerate(lines[2:], start=3):
        fields = line.split()
        try:
            if len(fields) != 4:
                raise ValueError
            angles = tuple(float(v) for v in fields[1:])
        except ValueError:
            raise FaceDataError(f'{path}:{lineno}: expected "NAME.jpg yaw pitch roll", got '
                                f'{line!r}') from None
        if not all(math.isfinite(a) for a in angles):
            raise FaceDataError(f'{path}:{lineno}: angles must be finite numbers, got {line!r}')
        poses[image_key(fields[0])] = angles
    if count != len(poses):
        raise FaceDataError(f'pose file {path} says {count} images but lists {len(poses)}')
    return poses


def pose_file_for(img_path: str) -> str:
    """Where the release keeps the pose file of an image: beside its image folder
    (``ROOT/CelebA-HQ-img/0.jpg`` -> ``ROOT/CelebAMask-HQ-pose-anno.txt``)."""
    return osp.join(osp.dirname(osp.dirname(osp.abspath(img_path))), POSE_FILE)


def _check_edges(edges: Sequence[float]) -> tuple[float, ...]:
    edges = tuple(float(e) for e in edges)
    if not edges or any(e <= 0 for e in edges) or list(edges) != sorted(set(edges)):
        raise ValueError(f'bucket edges must be increasing positive angles, got {edges}')
    return edges


def bucket_labels(edges: Sequence[float] = DEFAULT_EDGES) -> list[str]:
    """Names of the buckets of ``edges``: ``['0-15', '15-30', '30-45', '>45']``."""
    edges = _check_edges(edges)
    bounds = (0.0,) + edges
    labels = [f'{lo:g}-{hi:g}' for lo, hi in zip(bounds[:-1], bounds[1:])]
    return labels + [f'>{edges[-1]:g}']


def bucket_of(angles, edges: Sequence[float] = DEFAULT_EDGES) -> np.ndarray:
    """The bucket index of each angle's absolute value (0 for |a| < edges[0], ...,
    len(edges) for |a| >= edges[-1])."""
    edges = _check_edges(edges)
    return np.searchsorted(np.asarray(edges), np.abs(np.asarray(angles, np.float64)),
                           side='right')


def pose_buckets(confs: np.ndarray, names: Sequence[str], poses: dict,
                 edges: dict | None = None) -> tuple[list[dict], int]:
    """One entry per axis and bucket: ``axis``, ``bucket`` (its label), ``images`` and ``conf``
    (the (C, C) confusion counts summed over its images), from the per-image confusion matrices
    ``confs`` (N, C, C) of the images ``names``. ``edges`` maps ``'yaw'`` / ``'pitch'`` to
    bucket edges (default :data:`DEFAULT_EDGES` for both). Returns ``(buckets, number of images
    without a pose)``."""
    confs = np.asarray(confs)
    if confs.ndim != 3 or len(confs) != len(names):
        raise ValueError(f'expected one (C, C) confusion matrix per image name, got '
                         f'{confs.shape} for {len(names)} names')
    edges = dict(edges or {})
    unknown = set(edges) - set(AXES)
    if unknown:
        raise ValueError(f'pose bucket edges for unknown axes {sorted(unknown)}; axes: {AXES}')
    keys = [image_key(n) for n in names]
    have = np.array([k in poses for k in keys], bool)
    buckets = []
    for axis_index, axis in enumerate(AXES):
        axis_edges = edges.get(axis, DEFAULT_EDGES)
        angles = np.array([poses[k][axis_index] if k in poses else 0.0 for k in keys])
        which = np.where(have, bucket_of(angles, axis_edges), -1)
        for b, label in enumerate(bucket_labels(axis_edges)):
            chosen = which == b
            buckets.append(dict(axis=axis, bucket=label, images=int(chosen.sum()),
                                conf=confs[chosen].sum(axis=0)))
    return buckets, int((~have).sum())
