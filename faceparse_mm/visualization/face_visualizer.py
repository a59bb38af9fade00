"""FaceSegLocalVisualizer: image | ground truth | prediction panels for face parsing.

mmseg's ``SegLocalVisualizer`` draws two overlays (ground truth | prediction) on the image as read
from disk. For CelebAMask-HQ that image is 1024x1024 while labels and predictions are 512x512, so
the image is first resized to the label size; the plain image is kept as the first panel, since
small parts (eyes, lips, earrings) are hard to judge under an overlay. Class names are not
written on the panels by default (19 small parts make them unreadable).
"""
from __future__ import annotations

import mmcv
import numpy as np
from mmseg.visualization import SegLocalVisualizer

from faceparse_mm.registry import VISUALIZERS


@VISUALIZERS.register_module()
class FaceSegLocalVisualizer(SegLocalVisualizer):

    def add_datasample(self, name, image, data_sample=None, draw_gt=True, draw_pred=True,
                       show=False, wait_time=0, out_file=None, step=0,
                       with_labels=False) -> None:
        classes = self.dataset_meta.get('classes')
        palette = self.dataset_meta.get('palette')
        maps = []
        if data_sample is not None:
            if draw_gt and 'gt_sem_seg' in data_sample:
                maps.append(data_sample.gt_sem_seg)
            if draw_pred and 'pred_sem_seg' in data_sample:
                maps.append(data_sample.pred_sem_seg)
        if maps:
            h, w = maps[0].shape
            if image.shape[:2] != (h, w):
                image = mmcv.imresize(image, (w, h), interpolation='area')
        panels = [image] + [self._draw_sem_seg(image, m, classes, palette, with_labels)
                            for m in maps]
        drawn = np.concatenate(panels, axis=1)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(mmcv.rgb2bgr(drawn), out_file)
        else:
            self.add_image(name, drawn, step)
