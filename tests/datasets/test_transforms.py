import numpy as np
import pytest

from faceparse_mm.datasets import FLIP_PAIRS
from faceparse_mm.datasets.transforms import FaceRandomFlip, swap_pairs


def _results(seed=0):
    rng = np.random.default_rng(seed)
    seg = rng.integers(0, 19, (6, 9)).astype(np.uint8)
    img = rng.integers(0, 255, (6, 9, 3)).astype(np.uint8)
    return dict(img=img, gt_seg_map=seg, img_shape=(6, 9), seg_fields=['gt_seg_map'])


def test_horizontal_flip_mirrors_and_swaps_each_pair():
    res = _results()
    seg = res['gt_seg_map'].copy()
    flip = FaceRandomFlip(prob=1.0, swap_seg_labels=FLIP_PAIRS)
    out = flip(dict(res, gt_seg_map=seg.copy(), img=res['img'].copy()))
    assert out['flip'] and out['flip_direction'] == 'horizontal'
    mirrored = seg[:, ::-1]
    for a, b in FLIP_PAIRS:
        np.testing.assert_array_equal(out['gt_seg_map'] == b, mirrored == a)
        np.testing.assert_array_equal(out['gt_seg_map'] == a, mirrored == b)
    unpaired = ~np.isin(mirrored, [c for p in FLIP_PAIRS for c in p])
    np.testing.assert_array_equal(out['gt_seg_map'][unpaired], mirrored[unpaired])
    np.testing.assert_array_equal(out['img'], res['img'][:, ::-1])


def test_flipping_twice_is_identity():
    res = _results(1)
    seg, img = res['gt_seg_map'].copy(), res['img'].copy()
    flip = FaceRandomFlip(prob=1.0, swap_seg_labels=FLIP_PAIRS)
    out = flip(flip(res))
    np.testing.assert_array_equal(out['gt_seg_map'], seg)
    np.testing.assert_array_equal(out['img'], img)


def test_vertical_flip_does_not_swap():
    res = _results(2)
    seg = res['gt_seg_map'].copy()
    out = FaceRandomFlip(prob=1.0, direction='vertical', swap_seg_labels=FLIP_PAIRS)(res)
    np.testing.assert_array_equal(out['gt_seg_map'], seg[::-1])


def test_mmcv_flip_would_swap_on_vertical_flip():
    """The reason FaceRandomFlip exists: mmcv swaps pairs whatever the direction."""
    from mmcv.transforms import RandomFlip
    res = _results(3)
    seg = res['gt_seg_map'].copy()
    out = RandomFlip(prob=1.0, direction='vertical', swap_seg_labels=FLIP_PAIRS)(res)
    assert not np.array_equal(out['gt_seg_map'], seg[::-1])


def test_swap_pairs_is_an_involution():
    seg = np.arange(19, dtype=np.uint8)
    once = swap_pairs(seg, FLIP_PAIRS)
    assert once[2] == 3 and once[5] == 4 and once[8] == 7 and once[1] == 1
    np.testing.assert_array_equal(swap_pairs(once, FLIP_PAIRS), seg)


def test_prob_zero_never_flips():
    res = _results(4)
    seg = res['gt_seg_map'].copy()
    out = FaceRandomFlip(prob=0.0, swap_seg_labels=FLIP_PAIRS)(res)
    assert not out['flip']
    np.testing.assert_array_equal(out['gt_seg_map'], seg)


@pytest.mark.parametrize('factor', [1, 2, 3])
def test_load_image_at_label_size_aligns(tmp_path, factor):
    """A square drawn at the same place in image and label stays on the same pixels whatever the
    image/label size ratio (2 uses reduced JPEG decoding, 3 an exact resize)."""
    import cv2

    from faceparse_mm.datasets.transforms import LoadImageAtLabelSize
    size = 64
    img = np.zeros((size * factor, size * factor, 3), np.uint8)
    img[16 * factor:40 * factor, 8 * factor:24 * factor] = 255
    path = str(tmp_path / 'a.jpg')
    cv2.imwrite(path, img, [cv2.IMWRITE_JPEG_QUALITY, 100])
    label = np.zeros((size, size), np.uint8)
    label[16:40, 8:24] = 1
    out = LoadImageAtLabelSize()(dict(img_path=path, gt_seg_map=label))
    assert out['img'].shape == (size, size, 3) and out['ori_shape'] == (size, size)
    bright = out['img'].mean(axis=2) > 127
    assert (bright == (label == 1)).mean() > 0.99


def _label_file(tmp_path, label):
    import cv2
    path = str(tmp_path / 'l.png')
    cv2.imwrite(path, label)
    return path


def _load_label(path):
    from faceparse_mm.datasets.transforms import LoadFaceAnnotations
    return LoadFaceAnnotations()(dict(seg_map_path=path, reduce_zero_label=False, seg_fields=[]))


def test_label_values_outside_classes_name_the_file(tmp_path):
    from faceparse_mm.errors import FaceDataError
    label = np.zeros((8, 8), np.uint8)
    label[0, 0] = 255  # ignore is fine
    label[1, 1] = 18
    assert _load_label(_label_file(tmp_path, label))['gt_seg_map'][1, 1] == 18
    label[2, 2] = 19
    label[3, 3] = 200
    with pytest.raises(FaceDataError, match=r'l.png has values \[19, 200\] outside 0..18'):
        _load_label(_label_file(tmp_path, label))


def test_truncated_png_label_names_the_file(tmp_path):
    from faceparse_mm.errors import FaceDataError
    label = np.random.default_rng(0).integers(0, 19, (64, 64)).astype(np.uint8)
    path = _label_file(tmp_path, label)
    data = open(path, 'rb').read()
    open(path, 'wb').write(data[:len(data) // 2])
    with pytest.raises(FaceDataError, match='cannot read label .*l.png'):
        _load_label(path)


def test_truncated_jpeg_and_mismatched_size_name_the_file(tmp_path):
    import cv2

    from faceparse_mm.datasets.transforms import LoadImageAtLabelSize
    from faceparse_mm.errors import FaceDataError
    img = np.random.default_rng(0).integers(0, 255, (64, 64, 3)).astype(np.uint8)
    path = str(tmp_path / 'a.jpg')
    cv2.imwrite(path, img)
    load = LoadImageAtLabelSize()
    label = np.zeros((32, 32), np.uint8)
    assert load(dict(img_path=path, gt_seg_map=label))['img'].shape == (32, 32, 3)
    with pytest.raises(FaceDataError, match='a.jpg is 64x64 but its label l.png is 32x16'):
        load(dict(img_path=path, seg_map_path='l.png', gt_seg_map=np.zeros((16, 32), np.uint8)))
    data = open(path, 'rb').read()
    open(path, 'wb').write(data[:len(data) - 200])
    with pytest.raises(FaceDataError, match='a.jpg is truncated'):
        load(dict(img_path=path, gt_seg_map=label))
    open(path, 'wb').write(b'not an image at all')
    with pytest.raises(FaceDataError, match='cannot read image .*a.jpg'):
        load(dict(img_path=path, gt_seg_map=label))
