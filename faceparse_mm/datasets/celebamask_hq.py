"""CelebAMask-HQ (Lee et al., "MaskGAN", CVPR 2020) as an mmseg dataset.

Reads the converter's output (``tools/dataset_converters/celebamask_hq.py``):

```
ROOT/CelebA-HQ-img/{i}.jpg      images (1024x1024 in the release)
ROOT/mask/{i}.png               8-bit label maps (512x512 in the release), ids in CLASSES order
ROOT/splits/{train,val,test}.txt one image id per line
```

Class names, palette and the left/right pairs that a horizontal flip swaps come from
:mod:`faceparse_mm.datasets.class_table` (ids as in face-parsing.PyTorch, so its checkpoints stay
usable) and are the dataset's ``METAINFO``.
"""
from __future__ import annotations

import os.path as osp

from mmengine.dist import barrier, get_rank
from mmengine.logging import print_log
from mmseg.datasets import BaseSegDataset

from faceparse_mm.errors import FaceDataError
from faceparse_mm.registry import DATASETS

from .celebamask_convert import convert
from .class_table import CELEBAMASK_HQ
from .synthetic import make_synthetic_celebamask

CONVERT_HINT = 'python tools/dataset_converters/celebamask_hq.py {root}'


class SkipBadSamples:
    """With ``skip_bad`` (training only), a sample whose files fail to load is logged and
    replaced by another; a test split always raises. Put before the dataset base class."""

    def prepare_data(self, idx):
        if not self.skip_bad or self.test_mode:
            return super().prepare_data(idx)
        try:
            return super().prepare_data(idx)
        except FaceDataError as err:
            print_log(f'skipped (skip_bad=True): {err}', logger='current', level=30)
            return None  # BaseDataset draws another sample


@DATASETS.register_module()
class CelebAMaskHQDataset(SkipBadSamples, BaseSegDataset):
    """CelebAMask-HQ face parsing, 19 classes (background included).

    Args:
        ann_file: split file relative to ``data_root``, e.g. ``'splits/train.txt'``.
        data_prefix: image and label folders (default ``CelebA-HQ-img`` and ``mask``).
        synthetic: if given (``dict(num=..., image_size=..., mask_size=..., seed=...)``) and the
            split file is missing, generate synthetic faces in the release layout under
            ``data_root`` and convert them first (the demo dataset; never for real data).
        skip_bad: during training, a sample whose image or label cannot be used (corrupt file,
            bad label values, mismatched sizes) is skipped with a warning naming the file and
            another sample is drawn. Off by default: a bad file stops training with one line.
        Other arguments as :class:`mmseg.datasets.BaseSegDataset`.
    """

    METAINFO = CELEBAMASK_HQ

    def __init__(self, ann_file: str = 'splits/train.txt',
                 data_prefix: dict = dict(img_path='CelebA-HQ-img', seg_map_path='mask'),
                 img_suffix: str = '.jpg', seg_map_suffix: str = '.png',
                 synthetic: dict | None = None, skip_bad: bool = False, **kwargs) -> None:
        self.synthetic = synthetic
        self.skip_bad = skip_bad
        super().__init__(ann_file=ann_file, data_prefix=data_prefix, img_suffix=img_suffix,
                         seg_map_suffix=seg_map_suffix, reduce_zero_label=False, **kwargs)

    def _generate_synthetic(self, root: str) -> None:
        """Rank 0 generates and converts the synthetic release; other ranks wait."""
        if get_rank() == 0 and not osp.isfile(self.ann_file):
            cfg = dict(self.synthetic)
            print_log(f'{self.ann_file} not found: generating {cfg.get("num")} synthetic faces '
                      f'in {root} ({cfg})', logger='current')
            make_synthetic_celebamask(root, **cfg)
            convert(root, split='auto', progress=False,
                    log=lambda msg: print_log(msg, logger='current'))
        barrier()

    def load_data_list(self) -> list:
        root = self.data_root or ''
        if self.synthetic and not osp.isfile(self.ann_file):
            self._generate_synthetic(root)
        hint = CONVERT_HINT.format(root=root or 'ROOT')
        if root and not osp.isdir(root):
            raise FileNotFoundError(f'CelebAMask-HQ root {root} does not exist; download the '
                                    f'release there and run: {hint}')
        label_dir = self.data_prefix.get('seg_map_path', '')
        if label_dir and not osp.isdir(label_dir):
            raise FileNotFoundError(f'label folder {label_dir} does not exist; create it with: '
                                    f'{hint}')
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'split file {self.ann_file} does not exist; create it with: '
                                    f'{hint}')
        data_list = super().load_data_list()
        if not data_list:
            raise ValueError(f'split file {self.ann_file} lists no images; recreate it with: '
                             f'{hint}')
        return data_list
