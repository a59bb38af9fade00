import cv2
import numpy as np
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from faceparse_mm.datasets import CLASSES, PALETTE
from faceparse_mm.visualization import FaceSegLocalVisualizer


def test_three_panels_at_label_size(tmp_path):
    vis = FaceSegLocalVisualizer(name='face_vis_test', alpha=1.0)
    vis.dataset_meta = dict(classes=CLASSES, palette=PALETTE)
    image = np.full((64, 64, 3), 40, np.uint8)  # twice the label size, like the release
    gt = torch.zeros(1, 32, 32, dtype=torch.long)
    gt[0, 8:16, 8:16] = 17
    pred = torch.zeros(1, 32, 32, dtype=torch.long)
    pred[0, 20:30, 20:30] = 1
    sample = SegDataSample(gt_sem_seg=PixelData(data=gt), pred_sem_seg=PixelData(data=pred))
    out = tmp_path / 'o.png'
    vis.add_datasample('x', image, sample, out_file=str(out))
    drawn = cv2.imread(str(out))[..., ::-1]  # RGB
    assert drawn.shape == (32, 96, 3)
    assert (drawn[:, :32] == 40).all()  # the plain image
    assert tuple(drawn[10, 32 + 10]) == tuple(PALETTE[17])  # hair in the ground-truth panel
    assert tuple(drawn[25, 64 + 25]) == tuple(PALETTE[1])  # skin in the prediction panel
    assert tuple(drawn[10, 64 + 10]) != tuple(PALETTE[17])
