"""Face-aware data transforms.

- :class:`FaceRandomFlip`: mmcv's ``RandomFlip`` whose label swap follows the geometry: a
  horizontal (or diagonal) flip exchanges the left/right classes (brows, eyes, ears), a vertical
  flip does not. mmcv swaps ``swap_seg_labels`` for every direction, and mmseg configs use no swap
  at all, which teaches a face parser that a left eye may appear on either side.
- :class:`LoadFaceAnnotations`: mmseg's ``LoadAnnotations`` that names the file when a label map
  cannot be decoded and refuses values outside ``0..num_classes-1`` other than 255.
- :class:`LoadImageAtLabelSize`: loads an image at the size of its already loaded label map
  (CelebAMask-HQ: 1024x1024 JPEG, 512x512 labels). For an integer ratio of 2, 4 or 8 the JPEG is
  decoded directly at the reduced size (libjpeg DCT scaling: about 4x less decoding work), then
  resized exactly to the label size if needed, so image and label can never be misaligned.
"""
from __future__ import annotations

import io

import cv2
import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms import RandomFlip as _MMCVRandomFlip
from mmseg.datasets.transforms import LoadAnnotations
from PIL import Image

from faceparse_mm.errors import FaceDataError
from faceparse_mm.registry import TRANSFORMS


def swap_pairs(seg_map: np.ndarray, pairs) -> np.ndarray:
    """Return a copy of ``seg_map`` with every (a, b) in ``pairs`` exchanged."""
    out = seg_map.copy()
    for a, b in pairs:
        out[seg_map == a] = b
        out[seg_map == b] = a
    return out


@TRANSFORMS.register_module()
class FaceRandomFlip(_MMCVRandomFlip):
    """Random flip that swaps left/right face classes on horizontal (and diagonal) flips.

    Args:
        prob, direction: as mmcv's ``RandomFlip``.
        swap_seg_labels: (left, right) class pairs, required: the dataset's
            ``METAINFO['flip_pairs']`` (the protocol configs pass ``flip_pairs``). ``()`` swaps
            nothing (for data without left/right classes).
    """

    def __init__(self, prob=None, direction='horizontal', swap_seg_labels=None) -> None:
        if swap_seg_labels is None:
            raise TypeError("FaceRandomFlip needs swap_seg_labels: the dataset's left/right "
                            "class pairs (its METAINFO['flip_pairs']), or () for none")
        super().__init__(prob=prob, direction=direction,
                         swap_seg_labels=[tuple(p) for p in swap_seg_labels])

    def _flip_seg_map(self, seg_map: np.ndarray, direction: str) -> np.ndarray:
        seg_map = mmcv.imflip(seg_map, direction=direction)
        if direction in ('horizontal', 'diagonal') and self.swap_seg_labels:
            seg_map = swap_pairs(seg_map, self.swap_seg_labels)
        return seg_map


@TRANSFORMS.register_module()
class LoadFaceAnnotations(LoadAnnotations):
    """``LoadAnnotations`` with checked labels.

    Args:
        num_classes: valid ids are ``0..num_classes-1`` and ``ignore_index``.
        ignore_index: the label value that means "not annotated".
    """

    def __init__(self, num_classes: int = 19, ignore_index: int = 255, **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.ignore_index = ignore_index

    def _load_seg_map(self, results: dict) -> None:
        path = results['seg_map_path']
        try:
            super()._load_seg_map(results)
        except Exception as err:  # decoders raise many types for a bad file
            raise FaceDataError(f'cannot read label {path}: {err}') from None
        label = results['gt_seg_map']
        if label.ndim != 2:
            raise FaceDataError(f'label {path} has shape {label.shape}; expected a 2-D map')
        counts = np.bincount(label.ravel(), minlength=256)
        counts[:self.num_classes] = 0
        counts[self.ignore_index] = 0
        if counts.any():
            bad = np.flatnonzero(counts).tolist()
            raise FaceDataError(f'label {path} has values {bad[:10]} outside '
                                f'0..{self.num_classes - 1} (and not {self.ignore_index})')


_REDUCED = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
            8: cv2.IMREAD_REDUCED_COLOR_8}


@TRANSFORMS.register_module()
class LoadImageAtLabelSize(BaseTransform):
    """Load ``img_path`` (BGR uint8, like ``LoadImageFromFile``) at the size of ``gt_seg_map``.

    Must come after ``LoadAnnotations``. Sets ``img``, ``img_shape`` and ``ori_shape`` to the
    label's size, so predictions are evaluated at label resolution.

    Args:
        interpolation: cv2 interpolation for the final exact resize (default area).
    """

    def __init__(self, interpolation: str = 'area') -> None:
        self.interpolation = interpolation

    def transform(self, results: dict) -> dict:
        if 'gt_seg_map' not in results:
            raise KeyError('LoadImageAtLabelSize needs gt_seg_map: '
                           'put LoadFaceAnnotations before it')
        path = results['img_path']
        lh, lw = results['gt_seg_map'].shape[:2]
        try:
            with open(path, 'rb') as f:
                data = f.read()
            with Image.open(io.BytesIO(data)) as im:
                w, h = im.size
        except (OSError, ValueError) as err:
            raise FaceDataError(f'cannot read image {path}: {err}') from None
        is_jpeg = data[:2] == b'\xff\xd8'
        if is_jpeg and data.rstrip(b'\x00')[-2:] != b'\xff\xd9':
            raise FaceDataError(f'image {path} is truncated (no JPEG end marker)')
        if w * lh != h * lw:
            raise FaceDataError(f'image {path} is {w}x{h} but its label '
                                f'{results.get("seg_map_path")} '
                                f'is {lw}x{lh}: the shapes do not match')
        factor = w // lw if w % lw == 0 else 1
        flag = _REDUCED.get(factor, cv2.IMREAD_COLOR) if is_jpeg else cv2.IMREAD_COLOR
        img = cv2.imdecode(np.frombuffer(data, np.uint8), flag)
        if img is None:
            raise FaceDataError(f'cannot decode image {path}')
        if img.shape[:2] != (lh, lw):
            img = mmcv.imresize(img, (lw, lh), interpolation=self.interpolation)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(interpolation={self.interpolation!r})'
