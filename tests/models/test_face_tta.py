"""Flip TTA on a toy segmentor that labels by position: l_eye (4) on the right half of whatever
it sees, r_eye (5) on the left half, like a face parser looking at a face centred in the image."""
import numpy as np
import torch
from mmcv.transforms import Compose
from mmengine.config import ConfigDict
from mmseg.models.segmentors.seg_tta import SegTTAModel

from faceparse_mm.datasets import FLIP_PAIRS
from faceparse_mm.models.segmentors import swap_channels
from faceparse_mm.registry import MODELS
from tests import toy  # noqa: F401  (registers IdentityBackbone, RightHalfIsLeftEyeHead)


def _segmentor():
    return dict(type='EncoderDecoder',
                data_preprocessor=dict(type='SegDataPreProcessor'),
                backbone=dict(type='IdentityBackbone'),
                decode_head=dict(type='RightHalfIsLeftEyeHead'),
                test_cfg=ConfigDict(mode='whole'))


def _tta_batch():
    rng = np.random.default_rng(0)
    results = dict(img=rng.integers(0, 255, (8, 10, 3)).astype(np.uint8),
                   gt_seg_map=np.zeros((8, 10), np.uint8), img_path='x.jpg', seg_map_path='x.png',
                   img_shape=(8, 10), ori_shape=(8, 10), seg_fields=['gt_seg_map'])
    pipeline = Compose([dict(type='TestTimeAug', transforms=[
        [dict(type='FaceRandomFlip', prob=0.0, swap_seg_labels=FLIP_PAIRS),
         dict(type='FaceRandomFlip', prob=1.0, swap_seg_labels=FLIP_PAIRS)],
        [dict(type='PackSegInputs')]])])
    from mmengine.registry import init_default_scope
    init_default_scope('faceparse_mm')
    out = pipeline(results)
    return dict(inputs=[[x] for x in out['inputs']],
                data_samples=[[s] for s in out['data_samples']])


def test_flip_tta_swaps_left_right_channels():
    from mmengine.registry import init_default_scope
    init_default_scope('faceparse_mm')
    face_tta = MODELS.build(dict(type='FaceSegTTAModel', flip_pairs=FLIP_PAIRS,
                                 module=_segmentor()))
    pred = face_tta.test_step(_tta_batch())[0].pred_sem_seg.data[0]
    expected = torch.where(torch.arange(10) >= 5, 4, 5).expand(8, 10)
    assert torch.equal(pred, expected)

    # without the swap the flipped view contradicts the plain one and the merge is wrong
    plain = SegTTAModel(module=MODELS.build(_segmentor()))
    pred_plain = plain.test_step(_tta_batch())[0].pred_sem_seg.data[0]
    assert not torch.equal(pred_plain, expected)


def test_swap_channels():
    x = torch.arange(19.).view(19, 1, 1).expand(19, 2, 2)
    y = swap_channels(x, [(2, 3), (7, 8)])
    assert y[2, 0, 0] == 3 and y[3, 0, 0] == 2 and y[8, 1, 1] == 7 and y[0, 0, 0] == 0
