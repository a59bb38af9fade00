"""Evaluating at the original image size: resize the network's input, never the label.

:class:`ResizeImageOnly` resizes ``img`` to a fixed size and leaves ``gt_seg_map`` and
``ori_shape`` as loaded (the original size). mmseg's segmentors then resize the logits back to
``ori_shape`` (``BaseSegmentor.postprocess_result``, bilinear, after removing the padding and
undoing a test-time flip), so the metric compares the prediction with the original label. mmcv's
``Resize`` cannot do this once the label is loaded: it resizes ``gt_seg_map`` too.
"""
from __future__ import annotations

import mmcv
from mmcv.transforms import BaseTransform

from faceparse_mm.registry import TRANSFORMS


@TRANSFORMS.register_module()
class ResizeImageOnly(BaseTransform):
    """Resize ``img`` to ``scale`` = (w, h) without keeping the aspect ratio; labels untouched.

    Sets ``img_shape`` (h, w), ``scale`` and ``scale_factor`` (w, h ratios) like mmcv's
    ``Resize``; ``ori_shape`` and ``gt_seg_map`` keep the size they were loaded at.

    Args:
        scale: (w, h) of the network's input, mmcv's convention; an int means a square.
        interpolation: cv2 interpolation (default bilinear, that of mmcv's ``Resize``, so that
            the test input is made like the training input).
    """

    def __init__(self, scale, interpolation: str = 'bilinear') -> None:
        if isinstance(scale, int):
            scale = (scale, scale)
        if len(scale) != 2 or min(scale) <= 0:
            raise ValueError(f'ResizeImageOnly: scale must be (w, h) > 0, got {scale!r}')
        self.scale = (int(scale[0]), int(scale[1]))
        self.interpolation = interpolation

    def transform(self, results: dict) -> dict:
        img = results['img']
        h, w = img.shape[:2]
        tw, th = self.scale
        if (h, w) != (th, tw):
            img = mmcv.imresize(img, (tw, th), interpolation=self.interpolation)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['scale'] = self.scale
        results['scale_factor'] = (tw / w, th / h)
        results['keep_ratio'] = False
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(scale={self.scale}, '
                f'interpolation={self.interpolation!r})')
