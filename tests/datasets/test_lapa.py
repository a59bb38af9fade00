"""LaPaDataset reads LaPa's release layout directly; its configs follow the dataset's class table;
training resizes image and label to the label size, evaluation happens at the original size."""
import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope
from mmseg.models.decode_heads.decode_head import BaseDecodeHead

import tests.toy  # noqa: F401  (registers IdentityBackbone)
from faceparse_mm.datasets import CLASSES, PALETTE, LaPaDataset
from faceparse_mm.datasets.synthetic_lapa import SYNTHETIC_MARKER
from faceparse_mm.errors import FaceDataError
from faceparse_mm.registry import DATASETS, METRICS, MODELS

BASES = ('configs/_base_/datasets/lapa.py', 'configs/_base_/datasets/lapa_demo.py')


def test_metainfo_is_lapas_order_with_celebamask_colours():
    meta = LaPaDataset.METAINFO
    assert meta['classes'] == ('background', 'skin', 'l_brow', 'r_brow', 'l_eye', 'r_eye', 'nose',
                               'u_lip', 'mouth', 'l_lip', 'hair')
    assert len({tuple(c) for c in meta['palette']}) == 11
    for name, colour in zip(meta['classes'], meta['palette']):
        assert colour == PALETTE[CLASSES.index(name)], name  # the same part, the same colour
    assert [tuple(p) for p in meta['flip_pairs']] == [(2, 3), (4, 5)]
    for a, b in meta['flip_pairs']:
        assert meta['classes'][a] == 'l_' + meta['classes'][b][2:]


@pytest.mark.parametrize('path', BASES)
def test_configs_take_the_flip_pairs_and_class_count_from_the_dataset(path):
    cfg = Config.fromfile(path)
    pairs = [list(p) for p in LaPaDataset.METAINFO['flip_pairs']]
    assert [list(p) for p in cfg.flip_pairs] == pairs
    assert [list(p) for p in cfg.tta_model.flip_pairs] == pairs
    pipelines = [cfg.tta_pipeline] + [cfg[f'{s}_dataloader'].dataset.pipeline
                                      for s in ('train', 'val', 'test')]
    flips = [t for p in pipelines for t in p if t['type'] == 'FaceRandomFlip']
    flips += [t for t in cfg.tta_pipeline[-1]['transforms'][0]]
    assert len(flips) >= 3 and all([list(p) for p in t['swap_seg_labels']] == pairs for t in flips)
    loads = [p[0] for p in pipelines]
    assert all(t == dict(type='LoadFaceAnnotations', num_classes=11) for t in loads)
    for split in ('train', 'val', 'test'):
        dataset = cfg[f'{split}_dataloader'].dataset
        assert dataset.type == 'LaPaDataset' and dataset.split == split
    assert cfg.test_evaluator == dict(type='FaceParsingMetric')  # mF1 over classes 1..10


def _write_release(root, sizes, split='test', seed=0, suffix='.jpg'):
    """One image per (h, w) in ``sizes``: blocks of LaPa classes painted in their palette
    colours, the label the same blocks."""
    rng = np.random.default_rng(seed)
    for sub in ('images', 'labels', 'landmarks'):
        (root / split / sub).mkdir(parents=True, exist_ok=True)
    palette = np.array(LaPaDataset.METAINFO['palette'], np.uint8)
    for k, (h, w) in enumerate(sizes):
        label = np.zeros((h, w), np.uint8)
        for c in range(1, 11):
            y, x = rng.integers(0, h - 12), rng.integers(0, w - 12)
            label[y:y + rng.integers(10, h // 2), x:x + rng.integers(10, w // 2)] = c
        cv2.imwrite(str(root / split / 'images' / f'{k}{suffix}'), palette[label],
                    [cv2.IMWRITE_JPEG_QUALITY, 100])
        cv2.imwrite(str(root / split / 'labels' / f'{k}.png'), label)
        (root / split / 'landmarks' / f'{k}.txt').write_text('106\n' + '1 1\n' * 106)


def _pipeline(key, scale=(64, 64), crop=(48, 48)):
    """The base's pipeline at a small size, without the colour jitter."""
    cfg = Config.fromfile(BASES[0])
    pipeline = [t for t in cfg[key] if t['type'] != 'PhotoMetricDistortion']
    for t in pipeline:
        if t['type'] in ('Resize', 'RandomResize', 'ResizeImageOnly'):
            t['scale'] = scale
        if t['type'] == 'RandomCrop':
            t['crop_size'] = crop
    return pipeline


def test_reads_each_split_from_its_folder(tmp_path):
    init_default_scope('faceparse_mm')
    _write_release(tmp_path, [(40, 50), (60, 44)], split='train')
    _write_release(tmp_path, [(50, 50)], split='val')
    train = LaPaDataset(data_root=str(tmp_path), split='train', pipeline=[])
    val = LaPaDataset(data_root=str(tmp_path), split='val', pipeline=[])
    assert len(train) == 2 and len(val) == 1
    info = train.get_data_info(1)
    assert info['img_path'] == str(tmp_path / 'train' / 'images' / '1.jpg')
    assert info['seg_map_path'] == str(tmp_path / 'train' / 'labels' / '1.png')


def test_training_starts_from_image_and_label_at_the_fixed_label_size(tmp_path):
    """Before the random scale, every image and its label are the label size, whatever the
    image's size (stretched, the label's ids kept)."""
    init_default_scope('faceparse_mm')
    _write_release(tmp_path, [(40, 70), (90, 50)], split='train')
    pipeline = _pipeline('train_pipeline')
    first = [t['type'] for t in pipeline].index('RandomResize')
    ds = DATASETS.build(dict(type='LaPaDataset', data_root=str(tmp_path), split='train',
                             pipeline=pipeline[:first]))
    for k in range(len(ds)):
        item = ds[k]
        original = cv2.imread(item['seg_map_path'], cv2.IMREAD_UNCHANGED)
        assert item['img'].shape == (64, 64, 3) and item['gt_seg_map'].shape == (64, 64)
        assert set(np.unique(item['gt_seg_map'])) <= set(np.unique(original))


def test_train_pipeline_resizes_image_and_label_to_the_label_size_aligned(tmp_path):
    init_default_scope('faceparse_mm')
    _write_release(tmp_path, [(40, 70), (90, 50), (55, 60)], split='train')
    ds = DATASETS.build(dict(type='LaPaDataset', data_root=str(tmp_path), split='train',
                             pipeline=_pipeline('train_pipeline')))
    np.random.seed(0)  # the pipeline draws from numpy's global state
    palette = np.array(LaPaDataset.METAINFO['palette'], np.float64)

    def agreement(nearest, label):
        """Pixels whose colour is their class's, in a flipped view with the pairs swapped."""
        swapped = label.copy()
        for a, b in LaPaDataset.METAINFO['flip_pairs']:
            swapped[label == a], swapped[label == b] = b, a
        keep = label != 255
        return max((nearest == label)[keep].mean(), (nearest == swapped)[keep].mean())

    for rep in range(6):
        item = ds[rep % len(ds)]
        img = item['inputs'].numpy().astype(np.float64)  # (3, 48, 48), BGR
        label = item['data_samples'].gt_sem_seg.data[0].numpy()
        assert img.shape[1:] == label.shape == (48, 48)
        nearest = ((img[None] - palette[:, :, None, None]) ** 2).sum(1).argmin(0)
        # the resizes blend colours at block edges; a label 4 pixels off agrees far less
        shifted = agreement(nearest, np.roll(label, 4, axis=(0, 1)))
        assert agreement(nearest, label) > max(0.75, shifted + 0.15)


class LaPaColourOracleHead(BaseDecodeHead):
    """Labels each pixel by the nearest LaPa palette colour of the raw (BGR) image."""

    def __init__(self, **kwargs):
        super().__init__(in_channels=3, channels=4, num_classes=11, **kwargs)
        self.register_buffer('palette', torch.tensor(LaPaDataset.METAINFO['palette'],
                                                     dtype=torch.float32))

    def forward(self, inputs):
        x = inputs[0]
        return -((x[:, None] - self.palette[None, :, :, None, None]) ** 2).sum(2)


def test_evaluation_is_at_each_images_original_size(tmp_path):
    """The network sees 64x64; the prediction comes back at the original size and the metric
    compares it with the original label (a colour oracle scores near 100)."""
    init_default_scope('faceparse_mm')
    MODELS.register_module(module=LaPaColourOracleHead, force=True)
    sizes = [(45, 70), (81, 53), (64, 64)]
    _write_release(tmp_path, sizes, suffix='.png')  # exact colours: only the resizes blur
    ds = DATASETS.build(dict(type='LaPaDataset', data_root=str(tmp_path), split='test',
                             img_suffix='.png', pipeline=_pipeline('test_pipeline')))
    model = MODELS.build(dict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[0.0] * 3, std=[1.0] * 3,
                               bgr_to_rgb=False),
        backbone=dict(type='IdentityBackbone'),
        decode_head=dict(type='LaPaColourOracleHead'),
        test_cfg=ConfigDict(mode='whole'))).eval()
    metric = METRICS.build(dict(type='FaceParsingMetric'))
    metric.dataset_meta = LaPaDataset.METAINFO
    for k, (h, w) in enumerate(sizes):
        item = ds[k]
        sample = item['data_samples']
        assert tuple(item['inputs'].shape) == (3, 64, 64) and sample.img_shape == (64, 64)
        assert sample.ori_shape == (h, w) and tuple(sample.gt_sem_seg.data.shape) == (1, h, w)
        with torch.no_grad():
            (pred,) = model.test_step(dict(inputs=[item['inputs']], data_samples=[sample]))
        assert tuple(pred.pred_sem_seg.data.shape) == (1, h, w)
        metric.process({}, [pred.to_dict()])
    result = metric.compute_metrics(metric.results)
    assert result['mF1'] > 90 and result['aAcc'] > 95  # only block edges blur


def test_a_label_outside_lapas_classes_is_refused_naming_the_file(tmp_path):
    init_default_scope('faceparse_mm')
    _write_release(tmp_path, [(40, 40)])
    path = tmp_path / 'test' / 'labels' / '0.png'
    label = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    label[:4, :4] = 17  # CelebAMask-HQ's hair: not a LaPa id
    cv2.imwrite(str(path), label)
    ds = DATASETS.build(dict(type='LaPaDataset', data_root=str(tmp_path), split='test',
                             pipeline=_pipeline('test_pipeline')))
    with pytest.raises(FaceDataError, match=r'labels/0\.png has values \[17\]'):
        ds[0]


def test_missing_pieces_are_named(tmp_path):
    init_default_scope('faceparse_mm')
    with pytest.raises(FileNotFoundError, match='LaPa root .*nope does not exist.*--layout lapa'):
        LaPaDataset(data_root=str(tmp_path / 'nope'), pipeline=[])
    (tmp_path / 'r' / 'val' / 'images').mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r'image folder .*train/images .*split \'train\''):
        LaPaDataset(data_root=str(tmp_path / 'r'), pipeline=[])
    with pytest.raises(FileNotFoundError, match=r'label folder .*val/labels'):
        LaPaDataset(data_root=str(tmp_path / 'r'), split='val', pipeline=[])
    (tmp_path / 'r' / 'val' / 'labels').mkdir()
    with pytest.raises(ValueError, match=r'val/images has no \*\.jpg images'):
        LaPaDataset(data_root=str(tmp_path / 'r'), split='val', pipeline=[])
    cv2.imwrite(str(tmp_path / 'r' / 'val' / 'images' / 'a.jpg'), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(FileNotFoundError, match=r'images/a\.jpg \(expected .*labels/a\.png\)'):
        LaPaDataset(data_root=str(tmp_path / 'r'), split='val', pipeline=[])
    with pytest.raises(ValueError, match='ann_file'):
        LaPaDataset(data_root=str(tmp_path / 'r'), ann_file='x.txt', pipeline=[])


def test_synthetic_option_generates_the_set_once(tmp_path):
    init_default_scope('faceparse_mm')
    root = tmp_path / 'syn'
    synthetic = dict(num=5, min_size=32, max_size=40, seed=0)
    val = LaPaDataset(data_root=str(root), split='val', synthetic=synthetic, pipeline=[])
    assert len(val) == 1 and (root / SYNTHETIC_MARKER).is_file()
    stamp = (root / SYNTHETIC_MARKER).stat().st_mtime_ns
    train = LaPaDataset(data_root=str(root), split='train', synthetic=synthetic, pipeline=[])
    assert len(train) == 3 and (root / SYNTHETIC_MARKER).stat().st_mtime_ns == stamp


def test_resize_image_only_leaves_the_label_and_original_shape():
    from faceparse_mm.datasets import ResizeImageOnly
    img = np.zeros((30, 50, 3), np.uint8)
    img[:, 25:] = 255  # the right half white
    label = np.ones((30, 50), np.uint8)
    results = ResizeImageOnly(scale=(40, 20))(dict(img=img, gt_seg_map=label,
                                                    ori_shape=(30, 50)))
    assert results['img'].shape == (20, 40, 3) and results['img_shape'] == (20, 40)
    assert results['img'][:, 22:].min() == 255 and results['img'][:, :18].max() == 0
    assert results['gt_seg_map'] is label and results['ori_shape'] == (30, 50)
    assert results['scale_factor'] == (40 / 50, 20 / 30)
    with pytest.raises(ValueError, match='scale must be'):
        ResizeImageOnly(scale=(0, 20))


def _noise_release(root, size=(30, 44), seed=1):
    """A one-image test split whose image is random noise (so that interpolations differ);
    returns the image and label as written."""
    _write_release(root, [size], suffix='.png')
    img = np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)
    cv2.imwrite(str(root / 'test' / 'images' / '0.png'), img)
    label = cv2.imread(str(root / 'test' / 'labels' / '0.png'), cv2.IMREAD_UNCHANGED)
    return img, label


def _views(item):
    """(image HWC, label) of each view a pipeline's output holds (one, or TTA's list)."""
    inputs, samples = item['inputs'], item['data_samples']
    if not isinstance(inputs, list):
        inputs, samples = [inputs], [samples]
    return [(x.numpy().transpose(1, 2, 0), s.gt_sem_seg.data[0].numpy())
            for x, s in zip(inputs, samples)]


@pytest.mark.parametrize('path', BASES)
@pytest.mark.parametrize('key', ['test', 'tta'])
def test_evaluation_input_is_the_bilinear_resize_of_the_image(tmp_path, path, key):
    """The network's input in val/test/TTA evaluation is the image resized bilinearly to the
    label size, as the training input is made (not nearest neighbour)."""
    init_default_scope('faceparse_mm')
    cfg = Config.fromfile(path)
    assert cfg.val_dataloader.dataset.pipeline == cfg.test_dataloader.dataset.pipeline
    pipeline = cfg.tta_pipeline if key == 'tta' else cfg.test_dataloader.dataset.pipeline
    img, _ = _noise_release(tmp_path)
    ds = DATASETS.build(dict(type='LaPaDataset', data_root=str(tmp_path), split='test',
                             img_suffix='.png', pipeline=pipeline))
    w, h = cfg.label_size
    bilinear = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)
    nearest = cv2.resize(img, (w, h), interpolation=cv2.INTER_NEAREST)
    assert not np.array_equal(bilinear, nearest)
    views = _views(ds[0])
    assert len(views) == (2 if key == 'tta' else 1)
    for k, (x, _) in enumerate(views):
        expected = bilinear[:, ::-1] if k == 1 else bilinear  # TTA's second view is flipped
        assert x.shape == (h, w, 3) and np.array_equal(x, expected)


@pytest.mark.parametrize('path', BASES)
def test_tta_views_keep_the_label_at_the_original_size(tmp_path, path):
    """Flip TTA resizes only the image: each view's label is the file's label at its own size
    (the flipped view's flipped, left/right swapped), so TTA is scored at the original size."""
    init_default_scope('faceparse_mm')
    cfg = Config.fromfile(path)
    img, label = _noise_release(tmp_path, size=(37, 26))
    ds = DATASETS.build(dict(type='LaPaDataset', data_root=str(tmp_path), split='test',
                             img_suffix='.png', pipeline=cfg.tta_pipeline))
    item = ds[0]
    swapped = label[:, ::-1].copy()
    for a, b in cfg.flip_pairs:
        swapped[label[:, ::-1] == a], swapped[label[:, ::-1] == b] = b, a
    assert not np.array_equal(swapped, label[:, ::-1])  # the label has left/right classes
    views = _views(item)
    assert len(views) == 2
    for (x, gt), expected, sample in zip(views, (label, swapped), item['data_samples']):
        assert x.shape[:2] == tuple(cfg.label_size)[::-1]
        assert gt.shape == label.shape and np.array_equal(gt, expected)
        assert sample.ori_shape == label.shape
