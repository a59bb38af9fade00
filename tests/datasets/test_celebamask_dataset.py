import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from faceparse_mm.datasets import CLASSES, CelebAMaskHQDataset
from faceparse_mm.datasets.celebamask_convert import convert
from faceparse_mm.registry import DATASETS

BASE = 'configs/_base_/datasets/celebamask_hq.py'


def _release_with_square(root, n=10, image=128, mask=64):
    """Images with a white rectangle on black; the 'hat' part mask is the same rectangle."""
    (root / 'CelebA-HQ-img').mkdir(parents=True)
    (root / 'CelebAMask-HQ-mask-anno' / '0').mkdir(parents=True)
    rng = np.random.default_rng(0)
    f = image // mask
    for i in range(n):
        y0, x0 = rng.integers(4, mask // 2, 2)
        h, w = rng.integers(8, mask // 2, 2)
        img = np.zeros((image, image, 3), np.uint8)
        img[y0 * f:(y0 + h) * f, x0 * f:(x0 + w) * f] = 255
        cv2.imwrite(str(root / 'CelebA-HQ-img' / f'{i}.jpg'), img, [cv2.IMWRITE_JPEG_QUALITY, 100])
        m = np.zeros((mask, mask, 3), np.uint8)
        m[y0:y0 + h, x0:x0 + w] = 255
        cv2.imwrite(str(root / 'CelebAMask-HQ-mask-anno' / '0' / f'{i:05d}_hat.png'), m)
    convert(str(root), split='random', val_ratio=0.0, progress=False, log=lambda m: None)


def _dataset(root, pipeline_key, split='train', crop=48):
    init_default_scope('faceparse_mm')
    cfg = Config.fromfile(BASE)
    pipeline = cfg[pipeline_key]
    for t in pipeline:
        if t['type'] == 'RandomResize':
            t['scale'] = (64, 64)
        if t['type'] == 'RandomCrop':
            t['crop_size'] = (crop, crop)
    return DATASETS.build(dict(type='CelebAMaskHQDataset', data_root=str(root),
                               ann_file=f'splits/{split}.txt', pipeline=pipeline))


def test_metainfo_order_and_flip_pairs():
    meta = CelebAMaskHQDataset.METAINFO
    assert meta['classes'][0] == 'background' and meta['classes'][18] == 'hat'
    assert meta['classes'][4] == 'l_eye' and len(meta['classes']) == 19
    assert len({tuple(c) for c in meta['palette']}) == 19
    for a, b in meta['flip_pairs']:
        assert meta['classes'][a].startswith('l_') and meta['classes'][b].startswith('r_')


def test_train_pipeline_keeps_image_and_label_aligned(tmp_path):
    _release_with_square(tmp_path)
    ds = _dataset(tmp_path, 'train_pipeline')
    assert len(ds) > 0
    checked = 0
    np.random.seed(0)  # the pipeline draws from numpy's global state
    for rep in range(12):
        item = ds[rep % len(ds)]
        img = item['inputs'].numpy().astype(float).mean(axis=0)
        label = item['data_samples'].gt_sem_seg.data[0].numpy()
        assert img.shape == label.shape == (48, 48)
        if (label == 18).sum() < 20 or (label == 0).sum() < 20:
            continue  # crop missed the rectangle or its outside
        bright = img > (img[label == 18].mean() + img[label == 0].mean()) / 2
        # interpolation may blur the rectangle's 1-pixel border; beyond it everything must agree
        hat = (label == 18).astype(np.uint8)
        # the blurred border may also fall on the crop's edge: outside the crop counts as neither
        inner = cv2.erode(hat, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT,
                          borderValue=0) > 0
        outer = cv2.dilate(hat, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT,
                           borderValue=1) == 0
        outer &= label != 255  # padding of the crop
        assert bright[inner].all() and not bright[outer].any()
        checked += 1
    assert checked >= 2


def test_test_pipeline_loads_at_label_size(tmp_path):
    _release_with_square(tmp_path)
    ds = _dataset(tmp_path, 'test_pipeline', split='test')
    item = ds[0]
    assert tuple(item['inputs'].shape) == (3, 64, 64)
    assert item['data_samples'].ori_shape == (64, 64)


def test_missing_pieces_say_which_command_creates_them(tmp_path):
    init_default_scope('faceparse_mm')
    with pytest.raises(FileNotFoundError, match='does not exist.*celebamask_hq.py'):
        CelebAMaskHQDataset(data_root=str(tmp_path / 'nope'), pipeline=[])
    (tmp_path / 'r').mkdir()
    with pytest.raises(FileNotFoundError, match='label folder .*mask.*celebamask_hq.py'):
        CelebAMaskHQDataset(data_root=str(tmp_path / 'r'), pipeline=[])
    (tmp_path / 'r' / 'mask').mkdir()
    with pytest.raises(FileNotFoundError, match='split file .*train.txt.*celebamask_hq.py'):
        CelebAMaskHQDataset(data_root=str(tmp_path / 'r'), pipeline=[])
    (tmp_path / 'r' / 'splits').mkdir()
    (tmp_path / 'r' / 'splits' / 'train.txt').write_text('')
    with pytest.raises(ValueError, match='lists no images'):
        CelebAMaskHQDataset(data_root=str(tmp_path / 'r'), pipeline=[])
    assert CLASSES[1] == 'skin'


def test_skip_bad_draws_another_sample_and_default_stops(tmp_path):
    from faceparse_mm.errors import FaceDataError
    _release_with_square(tmp_path)
    ids = (tmp_path / 'splits' / 'train.txt').read_text().split()
    for i in ids[:-1]:  # all but one training image are truncated
        p = tmp_path / 'CelebA-HQ-img' / f'{i}.jpg'
        p.write_bytes(p.read_bytes()[:300])
    init_default_scope('faceparse_mm')
    pipeline = [dict(type='LoadFaceAnnotations'), dict(type='LoadImageAtLabelSize'),
                dict(type='PackSegInputs')]
    strict = DATASETS.build(dict(type='CelebAMaskHQDataset', data_root=str(tmp_path),
                                 ann_file='splits/train.txt', pipeline=pipeline))
    with pytest.raises(FaceDataError, match=r'CelebA-HQ-img/\d+\.jpg'):  # names the file
        for k in range(len(strict)):
            strict[k]
    lenient = DATASETS.build(dict(type='CelebAMaskHQDataset', data_root=str(tmp_path),
                                  ann_file='splits/train.txt', pipeline=pipeline, skip_bad=True,
                                  max_refetch=200))
    good = ids[-1]
    for k in range(3):
        assert lenient[k]['data_samples'].img_path.endswith(f'/{good}.jpg')
