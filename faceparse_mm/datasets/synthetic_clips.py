"""Procedural face clips: one generated face moving smoothly, each frame with its label map.

Face parsing on video (calls, AR filters) is where users see flicker. The clips let the zoo train
video models (TDNet) and measure temporal consistency without a labelled face-video dataset.
Layout (read by :class:`~faceparse_mm.datasets.FaceClipDataset`; real video frames extracted
into it are read the same way)::

    OUT/clips/{clip}/{t:04d}.jpg        image_size x image_size RGB JPEG, t = 0..frames-1
    OUT/clip_masks/{clip}/{t:04d}.png   mask_size x mask_size 8-bit label map (ids as
                                        CelebAMask-HQ's, parts merged in id order)
    OUT/clip_splits/{train,val,test}.txt   clip names, one per line; a clip is in one split only
    OUT/clip_splits/meta.json           how the clips were generated

Each clip is one face of the image generator (:mod:`faceparse_mm.datasets.synthetic`: the same
geometry, colours, texture and drawing functions), re-drawn at every frame from the same random
stream, with a pose that moves smoothly over the clip:

- translation, in-plane rotation and scale: the similarity transform of the image generator,
  each parameter a base value plus a slow sinusoid (period 20-60 frames, random phase);
- yaw: a "yaw-like squeeze" of the canonical face, ``x -> c + s (x - c) + d(x)`` with
  ``s = 1 - 0.25 |yaw|`` and ``d(x) = 0.35 yaw w exp(-((x - c) / w)^2)`` (w = 0.22): the
  features slide towards the turn and the side turning away is compressed (monotone in x for
  |yaw| <= 0.6, so no part folds over);
- mouth opening: 0..1 of the widest opening (a talking face opens and closes it, others keep it
  closed or slightly open);
- blinking: the eyes' height scaled down to 10% over a few frames, at random times.

Only the per-frame sensor grain is drawn per frame; the face's colours and texture stay fixed
over the clip, so every change between frames comes from the motion. Images and label maps are
rasterised from the same continuous coordinates, so they align at every frame.
"""
from __future__ import annotations

import importlib.util
import json
import math
import multiprocessing
import os
import os.path as osp
import sys
import time
from typing import NamedTuple

import cv2
import numpy as np

if __package__:
    from . import synthetic as _synthetic
else:  # loaded as a lone file (tools/make_synthetic_celebamask.py avoids importing torch/mmseg)
    _synthetic = sys.modules.get('faceparse_mm_synthetic')
    if _synthetic is None:
        _spec = importlib.util.spec_from_file_location(
            'faceparse_mm_synthetic', osp.join(osp.dirname(osp.abspath(__file__)), 'synthetic.py'))
        _synthetic = importlib.util.module_from_spec(_spec)
        sys.modules[_spec.name] = _synthetic
        _spec.loader.exec_module(_synthetic)

__all__ = ['ClipPose', 'clip_poses', 'render_clip_frame', 'make_synthetic_clips', 'split_clips',
           'CLIP_DIR', 'CLIP_MASK_DIR', 'CLIP_SPLIT_DIR']

CLIP_DIR, CLIP_MASK_DIR, CLIP_SPLIT_DIR = 'clips', 'clip_masks', 'clip_splits'
#: random streams of one clip: the face, its motion, the per-frame grain
_FACE, _MOTION, _GRAIN = 7, 8, 9
_YAW_WIDTH = 0.22  # about the half-width of a face oval in the canonical square


class ClipPose(NamedTuple):
    """The pose of the face in one frame."""

    angle: float  # in-plane rotation, degrees
    scale: float
    tx: float  # shift, canonical units (1 = the image width)
    ty: float
    yaw: float  # -0.6..0.6, > 0 turns the face towards +x
    mouth: float  # 0 closed .. 1 widest
    eyes: float  # 1 open .. 0.1 closed


def _wave(rng, frames, base, amplitude):
    """base + a sinusoid of random amplitude (up to ``amplitude``), period and phase."""
    period = rng.uniform(20, 60)
    phase = rng.uniform(0, 2 * np.pi)
    a = rng.uniform(0.3, 1.0) * amplitude
    t = np.arange(frames)
    return base + a * np.sin(2 * np.pi * t / period + phase)


def _blinks(rng, frames):
    """Eye openness per frame: 1, with blinks (0.6, 0.1, 0.1, 0.6) every 15-60 frames."""
    eyes = np.ones(frames)
    shape = (0.6, 0.1, 0.1, 0.6)
    t = int(rng.integers(0, 30))
    while t < frames:
        for k, v in enumerate(shape):
            if t + k < frames:
                eyes[t + k] = v
        t += int(rng.integers(15, 60))
    return eyes


def clip_poses(rng: np.random.Generator, frames: int, max_rotation: float = 20.0) -> list:
    """The smooth pose of each of ``frames`` frames (a function of ``rng`` alone)."""
    angle = _wave(rng, frames, rng.uniform(-0.5, 0.5) * max_rotation, 0.6 * max_rotation)
    scale = _wave(rng, frames, rng.uniform(0.9, 1.1), 0.08)
    tx = _wave(rng, frames, rng.uniform(-0.04, 0.04), 0.04)
    ty = _wave(rng, frames, rng.uniform(-0.04, 0.04), 0.03)
    yaw = np.clip(_wave(rng, frames, rng.uniform(-0.3, 0.3), 0.3), -0.6, 0.6)
    style = rng.choice(['talking', 'closed', 'ajar'], p=[0.5, 0.3, 0.2])
    if style == 'talking':
        mouth = np.clip(0.5 - 0.5 * np.cos(2 * np.pi * np.arange(frames) / rng.uniform(6, 16)
                                           + rng.uniform(0, 2 * np.pi)), 0, 1)
    else:
        mouth = np.full(frames, 0.0 if style == 'closed' else rng.uniform(0.2, 0.5))
    eyes = _blinks(rng, frames)
    return [ClipPose(*map(float, v)) for v in zip(angle, scale, tx, ty, yaw, mouth, eyes)]


def _pose_transform(pose: ClipPose):
    """Canonical points (n, 2) -> image units: the yaw-like squeeze about the face's centre
    column, then rotation and scale about the image centre, then the shift."""
    a = math.radians(pose.angle)
    c, s = pose.scale * math.cos(a), pose.scale * math.sin(a)
    rot = np.array([[c, -s], [s, c]])
    centre = np.array([0.5, 0.5])
    squeeze = 1 - 0.25 * abs(pose.yaw)
    slide = 0.35 * pose.yaw * _YAW_WIDTH

    def tf(p):
        p = np.asarray(p, np.float64)
        x = p[:, 0] - 0.5
        x = squeeze * x + slide * np.exp(-(x / _YAW_WIDTH) ** 2)
        q = np.stack([x + 0.5, p[:, 1]], 1)
        return (q - centre) @ rot.T + centre + (pose.tx, pose.ty)
    return tf, pose.scale


def _blink(parts: dict, eyes: float) -> None:
    """Scale each eye's outline vertically about its centre by ``eyes`` (in place)."""
    for side in ('l', 'r'):
        part = parts.get(f'{side}_eye')
        if part is not None and eyes != 1.0:
            part.polys = [np.stack([poly[:, 0], poly[:, 1].mean() + (poly[:, 1] - poly[:, 1].mean())
                                    * eyes], 1) for poly in part.polys]


def render_clip_frame(face_rng: np.random.Generator, pose: ClipPose,
                      grain_rng: np.random.Generator, image_size: int = 512,
                      mask_size: int = 256):
    """One frame: ``(image, label)``, uint8 (image_size, image_size, 3) RGB and uint8
    (mask_size, mask_size) label map. ``face_rng`` must start from the same state at every
    frame of a clip (it draws the face); ``grain_rng`` draws this frame's sensor grain.

    The steps are :func:`~faceparse_mm.datasets.synthetic.render_face`'s, with the pose's
    transform in place of a random one, the pose's mouth opening and the blink.
    """
    S = _synthetic
    parts, attrs = S._face_geometry(face_rng, mouth_open=pose.mouth)
    _blink(parts, pose.eyes)
    tf, scale = _pose_transform(pose)
    masks = S._part_masks(parts, mask_size, tf, scale)
    label = S._label_map(parts, masks, image_size, tf, scale)
    colours = S._colours(face_rng)
    img = np.take(colours, label, axis=0)
    S._paint_pupils(face_rng, img, label, parts, tf, scale)
    S._add_texture(face_rng, img, label)
    S._add_shading(face_rng, img)
    if attrs['glasses'] is not None:
        lens_mask, frame_mask = S._glasses_masks(parts['eye_g'], attrs['glasses'], image_size,
                                                 tf, scale)
        S._paint_glasses(face_rng, img, label, lens_mask, frame_mask,
                         colours[S.CLASS_ID['eye_g']])
    return S._finish(grain_rng, img), S.merge_masks(masks, mask_size)


def clip_name(index: int) -> str:
    return f'{index:04d}'


def _clip_job(job):
    out, index, frames, image_size, mask_size, seed, max_rotation = job
    name = clip_name(index)
    poses = clip_poses(np.random.default_rng([seed, _MOTION, index]), frames, max_rotation)
    img_dir, mask_dir = osp.join(out, CLIP_DIR, name), osp.join(out, CLIP_MASK_DIR, name)
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(mask_dir, exist_ok=True)
    S = _synthetic
    for t, pose in enumerate(poses):
        img, label = render_clip_frame(np.random.default_rng([seed, _FACE, index]), pose,
                                       np.random.default_rng([seed, _GRAIN, index, t]),
                                       image_size, mask_size)
        S._write(osp.join(img_dir, f'{t:04d}.jpg'),
                 lambda p, img=img: cv2.imwrite(p, img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95]))
        S._write(osp.join(mask_dir, f'{t:04d}.png'),
                 lambda p, label=label: cv2.imwrite(p, label, S._PNG_FAST))
    return index


def split_clips(names: list, seed: int, fractions=(0.8, 0.1, 0.1)) -> dict:
    """{train, val, test: clip names}: a seeded permutation cut by ``fractions``; with three or
    more clips every split gets at least one. No clip is in two splits."""
    order = [names[k] for k in np.random.default_rng([seed, 11]).permutation(len(names))]
    n = len(order)
    n_val = int(round(n * fractions[1]))
    n_test = int(round(n * fractions[2]))
    if n >= 3:
        n_val, n_test = max(1, n_val), max(1, n_test)
    n_train = max(0, n - n_val - n_test)
    return dict(train=sorted(order[:n_train]), val=sorted(order[n_train:n_train + n_val]),
                test=sorted(order[n_train + n_val:]))


def _write_text(path: str, text: str) -> None:
    def writer(p):
        with open(p, 'w') as f:
            f.write(text)
        return True
    _synthetic._write(path, writer)


def make_synthetic_clips(out: str, num_clips: int, num_frames: int, image_size: int = 512,
                         mask_size: int = 256, seed: int = 0, nproc: int = 1,
                         max_rotation: float = 20.0, fractions=(0.8, 0.1, 0.1)) -> dict:
    """Write ``num_clips`` clips of ``num_frames`` frames and their split files under ``out``."""
    if num_clips <= 0 or num_frames <= 0:
        raise ValueError(f'num_clips and num_frames must be positive, got {num_clips} and '
                         f'{num_frames}')
    start = time.perf_counter()
    jobs = [(out, i, num_frames, image_size, mask_size, seed, max_rotation)
            for i in range(num_clips)]
    if nproc > 1:
        with multiprocessing.get_context('fork').Pool(
                nproc, _synthetic.setup_generator_process) as pool:
            for _ in pool.imap_unordered(_clip_job, jobs):
                pass
    else:
        for job in jobs:
            _clip_job(job)
    splits = split_clips([clip_name(i) for i in range(num_clips)], seed, fractions)
    os.makedirs(osp.join(out, CLIP_SPLIT_DIR), exist_ok=True)
    for split, names in splits.items():
        _write_text(osp.join(out, CLIP_SPLIT_DIR, f'{split}.txt'),
                    ''.join(f'{n}\n' for n in names))
    meta = dict(generator='synthetic clips', clips=num_clips, frames=num_frames,
                image_size=image_size, mask_size=mask_size, seed=seed,
                max_rotation=max_rotation, split={k: len(v) for k, v in splits.items()})
    _write_text(osp.join(out, CLIP_SPLIT_DIR, 'meta.json'), json.dumps(meta, indent=1) + '\n')
    seconds = time.perf_counter() - start
    frames = num_clips * num_frames
    return dict(clips=num_clips, frames=frames, seconds=seconds,
                frames_per_s=frames / max(seconds, 1e-9), split=meta['split'])
