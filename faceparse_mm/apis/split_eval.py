"""A config's test split as (name, image, label) for evaluations outside the Runner.

The robustness and resolution tools change the image before the model sees it (a corruption, an
input size) and score the prediction against the untouched label, for every image of a split.
They load each sample exactly as the config's test pipeline does, with its ``Load*`` transforms
(CelebAMask-HQ: the label map, then the image at the label's size, ``LoadImageAtLabelSize``), so
the clean numbers are the protocol's; the model runs through :class:`FaceParser`.
"""
from __future__ import annotations

import copy
from typing import Iterator

import numpy as np
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.registry import init_default_scope

from faceparse_mm.errors import UserError
from faceparse_mm.registry import DATASETS

__all__ = ['split_images']


def _loading_pipeline(dataset_cfg) -> Compose:
    pipeline = [t for t in dataset_cfg.get('pipeline') or []
                if str(t.get('type', '')).split('.')[-1].startswith('Load')]
    if not pipeline:
        raise UserError('the test pipeline has no Load* transforms to read images and labels')
    return Compose(copy.deepcopy(pipeline))


def split_images(cfg: Config, split: str = 'test',
                 limit: int | None = None) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """Yield ``(img_path, image, label)`` for the first ``limit`` (default all) samples of the
    config's ``{split}_dataloader`` dataset: ``image`` BGR uint8 (H, W, 3) and ``label`` (H, W)
    class ids, at the label's size. The dataset is built as training builds it (generated faces
    are generated first when missing)."""
    loader_cfg = cfg.get(f'{split}_dataloader') or {}
    if not loader_cfg.get('dataset'):
        raise UserError(f'the config has no {split}_dataloader.dataset')
    init_default_scope(cfg.get('default_scope', 'faceparse_mm'))
    dataset_cfg = copy.deepcopy(loader_cfg['dataset'])
    dataset = DATASETS.build(dataset_cfg)
    load = _loading_pipeline(dataset_cfg)
    count = len(dataset) if limit is None else min(limit, len(dataset))
    for index in range(count):
        info = copy.deepcopy(dataset.get_data_info(index))
        info.setdefault('seg_fields', [])
        sample = load(info)
        yield sample['img_path'], sample['img'], np.asarray(sample['gt_seg_map'])
