"""Face clips as an mmseg dataset: frames of one clip, in order, with their label maps.

Layout (written by ``tools/make_synthetic_celebamask.py OUT --clips N --frames T``, or by a user
who extracts the frames of real videos into it, see the README)::

    ROOT/clips/{clip}/{frame}.jpg        frames; their order is the natural order of the names
                                         (0000.jpg, 0001.jpg, ... or 1.jpg, 2.jpg, ..., 10.jpg)
    ROOT/clip_masks/{clip}/{frame}.png   8-bit label maps, ids as CelebAMask-HQ's; same stem
    ROOT/clip_splits/{train,val,test}.txt  clip names, one per line; a clip in one split only

What one sample is:

- testing (``test_mode=True``, which the val and test dataloaders of the clip configs set): one
  frame, every frame of every listed clip, clip after clip and frame after frame, so a
  sequential sampler (``DefaultSampler(shuffle=False)``, one process) gives whole clips in
  order. Each data sample carries ``clip`` (its name),
  ``frame_index`` (0-based position in the clip) and ``clip_length`` in its metainfo: what a
  stateful video model (TDNet) and the temporal metric (:class:`FaceClipMetric`) read.
- training: ``num_frames`` frames of one clip ending at a random labelled frame t (every frame
  with enough frames before it is one sample), the frames before it ``1..max_gap`` apart each
  (drawn per sample; TDNet's authors use 4 frames, 1-2 apart). The pipeline runs on each frame
  from the same random state, so every random decision (the face-aware flip and its left/right
  label swap, the scale, the crop offset, the colour jitter) is the same for all the frames of
  a sample; a check refuses a sample whose frames were flipped or sized differently. (A
  transform whose draws depend on the frame's content, e.g. ``RandomCrop`` with
  ``cat_max_ratio < 1``, could still differ: the protocol's pipeline has none.) The sample is
  ``dict(inputs=[T tensors], data_samples=[T samples])``, oldest frame first; the metainfo adds
  ``window_size`` (T) and ``window_index`` (0..T-1). ``num_frames=1`` gives single frames
  (per-frame models trained on the clips). The default collate transposes a batch of such
  samples frame-major; :func:`flatten_clip_batch` turns it into one flat batch.

Class names, palette and flip pairs are CelebAMask-HQ's (``METAINFO``).
"""
from __future__ import annotations

import os
import os.path as osp
import random
import re
from typing import Sequence

import numpy as np
import torch
from mmengine.dist import barrier, get_rank
from mmengine.logging import print_log
from mmseg.datasets import BaseSegDataset

from faceparse_mm.registry import DATASETS

from .class_table import CELEBAMASK_HQ
from .synthetic_clips import CLIP_DIR, CLIP_MASK_DIR, CLIP_SPLIT_DIR, make_synthetic_clips

__all__ = ['FaceClipDataset', 'flatten_clip_batch', 'natural_key']

GENERATE_HINT = ('python tools/make_synthetic_celebamask.py {root} --clips N --frames T, or '
                 'extract video frames into {root}/clips/NAME/ (see the README)')
SPLITS = ('train', 'val', 'test')
CLIP_META = ('clip', 'frame_index', 'clip_length')


def natural_key(name: str):
    """Sort key: digit runs compare as numbers ('2.jpg' before '10.jpg')."""
    return [int(s) if s.isdigit() else s for s in re.split(r'(\d+)', name)]


def flatten_clip_batch(data: dict) -> dict:
    """A collated batch of clip samples -> one flat batch, frame-major (all samples' frame 0,
    then their frame 1, ...). ``pseudo_collate`` of B samples of T frames gives ``inputs`` as T
    groups of B tensors; a batch that is already flat is returned as it is."""
    inputs = data['inputs']
    if isinstance(inputs, torch.Tensor) or not len(inputs) or isinstance(inputs[0],
                                                                          torch.Tensor):
        return data
    out = dict(data)
    out['inputs'] = [x for group in inputs for x in group]
    if 'data_samples' in data:
        out['data_samples'] = [s for group in data['data_samples'] for s in group]
    return out


@DATASETS.register_module()
class FaceClipDataset(BaseSegDataset):
    """Face clips, 19 classes (CelebAMask-HQ's).

    Args:
        ann_file: split file relative to ``data_root``: clip names, one per line.
        data_prefix: frame and label folders (default ``clips`` and ``clip_masks``).
        num_frames: frames per training sample (TDNet: its number of sub-networks); 1 for
            single frames.
        max_gap: the frames of a training sample are 1..max_gap apart (each gap drawn).
        synthetic: if given (``dict(num_clips=..., num_frames=..., image_size=...,
            mask_size=..., seed=..., nproc=...)``) and the split file is missing, generate
            synthetic clips under ``data_root`` first (the demo dataset; never for real data).
        Other arguments as :class:`mmseg.datasets.BaseSegDataset`.
    """

    METAINFO = CELEBAMASK_HQ

    def __init__(self, ann_file: str = f'{CLIP_SPLIT_DIR}/train.txt',
                 data_prefix: dict = dict(img_path=CLIP_DIR, seg_map_path=CLIP_MASK_DIR),
                 img_suffix: str = '.jpg', seg_map_suffix: str = '.png', num_frames: int = 2,
                 max_gap: int = 1, synthetic: dict | None = None, **kwargs) -> None:
        if int(num_frames) < 1 or int(max_gap) < 1:
            raise ValueError(f'FaceClipDataset: num_frames and max_gap must be >= 1, got '
                             f'num_frames={num_frames}, max_gap={max_gap}')
        self.num_frames = int(num_frames)
        self.max_gap = int(max_gap)
        self.synthetic = synthetic
        self._targets = None
        super().__init__(ann_file=ann_file, data_prefix=data_prefix, img_suffix=img_suffix,
                         seg_map_suffix=seg_map_suffix, reduce_zero_label=False, **kwargs)

    # ------------------------------------------------------------------------------------------
    # the list of frames

    @property
    def windows(self) -> bool:
        """True when a sample is several frames (training with ``num_frames > 1``)."""
        return not self.test_mode and self.num_frames > 1

    def _generate_synthetic(self, root: str) -> None:
        if get_rank() == 0 and not osp.isfile(self.ann_file):
            cfg = dict(self.synthetic)
            print_log(f'{self.ann_file} not found: generating {cfg.get("num_clips")} synthetic '
                      f'face clips in {root} ({cfg})', logger='current')
            make_synthetic_clips(root, **cfg)
        barrier()

    def _read_split(self, path: str) -> list:
        with open(path) as f:
            names = [line.strip() for line in f if line.strip()]
        seen = set()
        for name in names:
            if name in seen:
                raise ValueError(f'split file {path} lists clip {name!r} twice')
            seen.add(name)
        return names

    def _check_disjoint(self, names: list) -> None:
        """The sibling split files (train/val/test.txt next to ``ann_file``) share no clip."""
        folder, own = osp.split(self.ann_file)
        for split in SPLITS:
            other = osp.join(folder, f'{split}.txt')
            if osp.abspath(other) == osp.abspath(self.ann_file) or not osp.isfile(other):
                continue
            shared = sorted(set(names) & set(self._read_split(other)))
            if shared:
                raise ValueError(f'clip {shared[0]!r} is in both {self.ann_file} and {other} '
                                 f'({len(shared)} shared): a clip must be in one split only')

    def load_data_list(self) -> list:
        root = self.data_root or ''
        if self.synthetic and not osp.isfile(self.ann_file):
            self._generate_synthetic(root)
        hint = GENERATE_HINT.format(root=root or 'ROOT')
        if root and not osp.isdir(root):
            raise FileNotFoundError(f'face clip root {root} does not exist; create it with: '
                                    f'{hint}')
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'split file {self.ann_file} does not exist; create it '
                                    f'with: {hint}')
        img_dir = self.data_prefix.get('img_path', '')
        seg_dir = self.data_prefix.get('seg_map_path', '')
        names = self._read_split(self.ann_file)
        if not names:
            raise ValueError(f'split file {self.ann_file} lists no clips; {hint}')
        self._check_disjoint(names)
        data_list = []
        for clip in names:
            folder = osp.join(img_dir, clip)
            if not osp.isdir(folder):
                raise FileNotFoundError(f'clip {clip!r} (listed in {self.ann_file}) has no frame '
                                        f'folder {folder}')
            frames = sorted((f for f in os.listdir(folder) if f.endswith(self.img_suffix)
                             and not f.startswith('.')), key=natural_key)
            if not frames:
                raise ValueError(f'clip folder {folder} holds no {self.img_suffix} frames')
            label_folder = osp.join(seg_dir, clip)
            labels = set(os.listdir(label_folder)) if osp.isdir(label_folder) else set()
            for t, name in enumerate(frames):
                label = name[:-len(self.img_suffix)] + self.seg_map_suffix
                if label not in labels:
                    raise FileNotFoundError(f'frame {osp.join(folder, name)} has no label map '
                                            f'{osp.join(label_folder, label)}')
                data_list.append(dict(
                    img_path=osp.join(folder, name), seg_map_path=osp.join(label_folder, label),
                    label_map=self.label_map, reduce_zero_label=False, seg_fields=[],
                    clip=clip, frame_index=t, clip_length=len(frames)))
        return data_list

    def full_init(self) -> None:
        if self._fully_initialized:
            return
        super().full_init()
        need = self.num_frames - 1
        self._targets = [i for i in range(super().__len__())
                         if self.get_data_info(i)['frame_index'] >= need]
        if self.windows and not self._targets:
            raise ValueError(f'no clip in {self.ann_file} has {self.num_frames} frames '
                             f'(num_frames={self.num_frames})')

    def __len__(self) -> int:
        if not self._fully_initialized:
            self.full_init()
        return len(self._targets) if self.windows else super().__len__()

    # ------------------------------------------------------------------------------------------
    # samples

    @staticmethod
    def _tag(data, info: dict, window=None):
        """Put the clip metainfo (and the window position) on the packed data samples."""
        if data is None:
            return None
        samples = data['data_samples']
        meta = {k: info[k] for k in CLIP_META}
        if window is not None:
            meta.update(window_size=window[1], window_index=window[0])
        for sample in samples if isinstance(samples, (list, tuple)) else [samples]:
            sample.set_metainfo(meta)
        return data

    def window_indices(self, target: int) -> list:
        """Data-list indices of the frames of the training sample ending at ``target``: its
        clip's frames ``t - g1 - ... - g_{T-1}, ..., t - g1, t`` (gaps drawn in 1..max_gap;
        all 1 when the drawn ones reach before the clip's start)."""
        t = self.get_data_info(target)['frame_index']
        gaps = np.random.randint(1, self.max_gap + 1, size=self.num_frames - 1)
        if gaps.sum() > t:
            gaps[:] = 1
        offsets = np.concatenate([[0], np.cumsum(gaps)])
        return [target - int(o) for o in offsets[::-1]]

    def _pipeline_alike(self, infos: Sequence[dict]):
        """The pipeline on each frame from the same random state (numpy, random, torch)."""
        state = (np.random.get_state(), random.getstate(), torch.get_rng_state())
        outs = []
        for info in infos:
            np.random.set_state(state[0])
            random.setstate(state[1])
            torch.set_rng_state(state[2])
            out = self.pipeline(info)
            if out is None:
                return None
            outs.append(out)
        first = outs[0]['data_samples'].metainfo
        for info, out in zip(infos[1:], outs[1:]):
            meta = out['data_samples'].metainfo
            for key in ('flip', 'flip_direction', 'img_shape', 'scale_factor'):
                if meta.get(key) != first.get(key):
                    raise RuntimeError(
                        f'FaceClipDataset: the pipeline treated the frames of one sample '
                        f'differently ({key} {first.get(key)} for {infos[0]["img_path"]}, '
                        f'{meta.get(key)} for {info["img_path"]}): use transforms whose random '
                        f'draws do not depend on the frame content')
        return outs

    def prepare_data(self, idx):
        if not self.windows:
            return self._tag(super().prepare_data(idx), self.get_data_info(idx))
        indices = self.window_indices(self._targets[idx])
        infos = [self.get_data_info(i) for i in indices]
        if len({info['clip'] for info in infos}) != 1:  # cannot happen: windows stay in a clip
            raise RuntimeError(f'a training sample crosses clips: {indices}')
        outs = self._pipeline_alike(infos)
        if outs is None:
            return None
        size = len(infos)
        for k, (info, out) in enumerate(zip(infos, outs)):
            self._tag(out, info, window=(k, size))
        return dict(inputs=[o['inputs'] for o in outs],
                    data_samples=[o['data_samples'] for o in outs])
