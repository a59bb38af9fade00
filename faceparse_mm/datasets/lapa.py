"""LaPa (Liu et al., "A New Dataset and Boundary-Attention Semantic Segmentation for Face
Parsing", AAAI 2020) as an mmseg dataset, read from the release layout directly.

```
ROOT/{train,val,test}/images/{name}.jpg      images of varying size (18,176 / 2,000 / 2,000)
ROOT/{train,val,test}/labels/{name}.png      8-bit label maps at the image's size, ids 0..10
ROOT/{train,val,test}/landmarks/{name}.txt   106 landmarks ("106", then one "x y" per point)
```

A split is its folder: no conversion step and no split files. The landmarks are not read. Class
names, palette and the left/right pairs (brows, eyes) come from
:mod:`faceparse_mm.datasets.lapa_table` and are the dataset's ``METAINFO``.

Sizes (``configs/_base_/datasets/lapa.py``): for training, image and label are resized to the
protocol's fixed label size, 512x512 (stretched, the label by nearest neighbour), and then go
through CelebAMask-HQ's pipeline (random scale 0.75-2.0, crop 448, flip with swap, colour
jitter). For val and test the image is resized to 512x512 for the network
(:class:`~faceparse_mm.datasets.resize_image.ResizeImageOnly`) while the label stays at the
original size; the segmentor resizes its logits back to the original size (``ori_shape``), so
the metric is computed at each image's original size, as published LaPa numbers are. To
evaluate at 512x512 instead (labels resized), replace ``ResizeImageOnly`` in the test pipeline by
``dict(type='Resize', scale=(512, 512), keep_ratio=False)``.
"""
from __future__ import annotations

import os.path as osp

from mmengine.dist import barrier, get_rank
from mmengine.logging import print_log
from mmseg.datasets import BaseSegDataset

from faceparse_mm.registry import DATASETS

from .celebamask_hq import SkipBadSamples
from .lapa_table import LAPA
from .synthetic_lapa import SYNTHETIC_MARKER, make_synthetic_lapa

DOWNLOAD_HINT = ('put the LaPa release there ({root}/{{train,val,test}}/{{images,labels}}), or '
                 'generate synthetic faces in its layout: '
                 'python tools/make_synthetic_celebamask.py {root} --layout lapa --num N')


@DATASETS.register_module()
class LaPaDataset(SkipBadSamples, BaseSegDataset):
    """LaPa face parsing, 11 classes (background included), one release folder per split.

    Args:
        split: the release folder to read, ``'train'``, ``'val'`` or ``'test'``: images from
            ``SPLIT/images``, labels from ``SPLIT/labels`` (``data_prefix`` overrides both).
        synthetic: if given (``dict(num=..., min_size=..., max_size=..., seed=...)``) and
            ``data_root`` holds no finished synthetic set (its ``synthetic_lapa.json``),
            generate synthetic faces in LaPa's layout there first (the demo dataset; never for
            real data).
        skip_bad: during training, a sample whose image or label cannot be used (corrupt file,
            bad label values, mismatched sizes) is skipped with a warning naming the file and
            another sample is drawn. Off by default: a bad file stops training with one line.
        Other arguments as :class:`mmseg.datasets.BaseSegDataset` (no ``ann_file``: the images
        in the folder are the split).
    """

    METAINFO = LAPA

    def __init__(self, split: str = 'train', data_prefix: dict | None = None,
                 img_suffix: str = '.jpg', seg_map_suffix: str = '.png',
                 synthetic: dict | None = None, skip_bad: bool = False, **kwargs) -> None:
        if kwargs.get('ann_file'):
            raise ValueError(f'LaPaDataset reads a split from its folder; ann_file='
                             f'{kwargs["ann_file"]!r} is not used (give split=...)')
        kwargs.pop('ann_file', None)
        self.split = split
        self.synthetic = synthetic
        self.skip_bad = skip_bad
        if data_prefix is None:
            data_prefix = dict(img_path=osp.join(split, 'images'),
                               seg_map_path=osp.join(split, 'labels'))
        super().__init__(ann_file='', data_prefix=data_prefix, img_suffix=img_suffix,
                         seg_map_suffix=seg_map_suffix, reduce_zero_label=False, **kwargs)

    def _generate_synthetic(self, root: str) -> None:
        """Rank 0 generates the synthetic set unless it is finished; other ranks wait."""
        if get_rank() == 0 and not osp.isfile(osp.join(root, SYNTHETIC_MARKER)):
            cfg = dict(self.synthetic)
            print_log(f'{osp.join(root, SYNTHETIC_MARKER)} not found: generating '
                      f'{cfg.get("num")} synthetic faces in LaPa\'s layout in {root} ({cfg})',
                      logger='current')
            make_synthetic_lapa(root, **cfg)
        barrier()

    def load_data_list(self) -> list:
        root = self.data_root or ''
        if self.synthetic and root:
            self._generate_synthetic(root)  # every rank, so that all of them meet at the barrier
        hint = DOWNLOAD_HINT.format(root=root or 'ROOT')
        if root and not osp.isdir(root):
            raise FileNotFoundError(f'LaPa root {root} does not exist; {hint}')
        for key, what in (('img_path', 'image'), ('seg_map_path', 'label')):
            folder = self.data_prefix.get(key, '')
            if not osp.isdir(folder):
                raise FileNotFoundError(f'LaPa {what} folder {folder} (split {self.split!r}) '
                                        f'does not exist; {hint}')
        data_list = super().load_data_list()
        if not data_list:
            raise ValueError(f'LaPa image folder {self.data_prefix["img_path"]} has no '
                             f'*{self.img_suffix} images; {hint}')
        missing = [d for d in data_list if not osp.isfile(d['seg_map_path'])]
        if missing:
            raise FileNotFoundError(f'{len(missing)} LaPa images have no label, e.g. '
                                    f'{missing[0]["img_path"]} (expected '
                                    f'{missing[0]["seg_map_path"]})')
        return data_list
