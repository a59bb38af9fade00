"""The protocol is pinned (faceparse_mm/protocol.py) and every config follows it or declares its
departures; and the protocol's parts do what they claim when built from the configs: the training
flip swaps left/right labels, padding is ignored by the loss and the metric, images reach the
network in the channel order of the normalisation constants, and ``tools/test.py --tta`` swaps
the left/right channels of the flipped view back."""
import glob
import json
import os

import cv2
import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from faceparse_mm import protocol
from faceparse_mm.datasets import CLASS_ID, FLIP_PAIRS, CelebAMaskHQDataset
from faceparse_mm.registry import METRICS
from faceparse_mm.utils.build import build_segmentor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
USER = sorted(glob.glob(os.path.join(ROOT, 'configs', '*_celebamask.py')))
DEMO = sorted(glob.glob(os.path.join(ROOT, 'configs', 'demo', '*_demo.py')))
SEED = os.path.join(ROOT, 'configs', 'bisenetv1_celebamask.py')


def _id(path):
    return os.path.relpath(path, ROOT)


@pytest.mark.parametrize('path', USER, ids=_id)
def test_user_config_follows_the_protocol_or_declares_departures(path):
    assert protocol.check(Config.fromfile(path)) == []


@pytest.mark.parametrize('path', DEMO, ids=_id)
def test_demo_config_follows_the_model_side_of_the_protocol(path):
    assert protocol.check(Config.fromfile(path), demo=True) == []


def test_a_changed_value_must_be_declared_with_a_reason():
    cfg = Config.fromfile(SEED)
    cfg.merge_from_dict({'model.auxiliary_head.0.loss_decode.loss_weight': 0.4})
    (problem,) = protocol.check(cfg)
    assert 'model.auxiliary_head.0.loss_decode.loss_weight = 0.4' in problem
    cfg.protocol_departures = {'model.auxiliary_head.0.loss_decode.loss_weight': 'paper: 0.4'}
    assert protocol.check(cfg) == []
    cfg.protocol_departures = {'model.auxiliary_head.0.loss_decode.loss_weight': ' '}
    assert protocol.check(cfg) == ["protocol_departures['model.auxiliary_head.0.loss_decode."
                                   "loss_weight'] has no reason"]
    cfg.merge_from_dict({'model.auxiliary_head.0.loss_decode.loss_weight': 1.0})
    cfg.protocol_departures = {'model.auxiliary_head.0.loss_decode.loss_weight': 'stale'}
    assert 'declared but the config follows the protocol' in protocol.check(cfg)[0]


def test_the_pinned_flip_pairs_and_classes_are_the_datasets():
    meta = CelebAMaskHQDataset.METAINFO
    assert protocol.FLIP_PAIRS == [list(p) for p in meta['flip_pairs']]
    assert protocol.NUM_CLASSES == len(meta['classes'])
    cfg = Config.fromfile(SEED)
    assert [list(p) for p in cfg.flip_pairs] == protocol.FLIP_PAIRS


# --------------------------------------------------------------------------------------------
# the parts, built from the config
# --------------------------------------------------------------------------------------------

def _write_pair(folder, image, label, name='0'):
    folder.mkdir(parents=True, exist_ok=True)
    img_path, label_path = str(folder / f'{name}.png'), str(folder / f'{name}_label.png')
    cv2.imwrite(img_path, image)
    cv2.imwrite(label_path, label)
    return dict(img_path=img_path, seg_map_path=label_path, seg_fields=[],
                reduce_zero_label=False)


def _face_label(size=512):
    """Left/right parts on their sides: the person's left (l_*) on the image's right."""
    label = np.full((size, size), CLASS_ID['skin'], np.uint8)
    c, d = size // 2, size // 8
    for name, dx in (('l_brow', d), ('r_brow', -d)):
        label[c - d - 8:c - d + 8, c + dx - 20:c + dx + 20] = CLASS_ID[name]
    for name, dx in (('l_eye', d), ('r_eye', -d)):
        label[c - 10:c + 10, c + dx - 15:c + dx + 15] = CLASS_ID[name]
    for name, dx in (('l_ear', 2 * d), ('r_ear', -2 * d)):
        label[c - 20:c + 20, c + dx - 8:c + dx + 8] = CLASS_ID[name]
    return label


def test_the_configs_training_flip_keeps_left_parts_on_the_images_right(tmp_path):
    """Built from the config: in every training sample the l_* parts stay on the image's right of
    their r_* partners, whether or not the sample was flipped (a flip without the swap would put
    them on the left)."""
    init_default_scope('faceparse_mm')
    pipeline = Compose(Config.fromfile(SEED).train_dataloader.dataset.pipeline)
    label = _face_label()
    image = np.random.default_rng(0).integers(0, 255, (512, 512, 3), np.uint8)
    info = _write_pair(tmp_path, image, label)
    np.random.seed(0)
    flipped = checked = 0
    for _ in range(40):
        out = pipeline(dict(info))
        seg = out['data_samples'].gt_sem_seg.data[0].numpy()
        flipped += bool(out['data_samples'].metainfo['flip'])
        for left, right in FLIP_PAIRS:
            ys_l, xs_l = np.nonzero(seg == left)
            ys_r, xs_r = np.nonzero(seg == right)
            if len(xs_l) and len(xs_r):
                checked += 1
                assert xs_l.mean() > xs_r.mean(), (left, right, out['data_samples'].metainfo)
    assert 8 <= flipped <= 32 and checked >= 10


def _padded_batch(cfg):
    """The config's data preprocessor on a 60x60 sample (padded to its size divisor)."""
    model = build_segmentor(cfg)
    sample = SegDataSample(metainfo=dict(img_shape=(60, 60), ori_shape=(60, 60)))
    sample.gt_sem_seg = PixelData(data=torch.full((1, 60, 60), CLASS_ID['skin']))
    data = model.data_preprocessor(dict(inputs=[torch.zeros(3, 60, 60, dtype=torch.uint8)],
                                        data_samples=[sample]), True)
    return model, data


def test_padding_from_the_config_is_ignored_by_the_losses_and_the_metric():
    cfg = Config.fromfile(SEED)
    model, data = _padded_batch(cfg)
    label = data['data_samples'][0].gt_sem_seg.data[0]
    assert label.shape[-1] > 60, 'the config pads (size_divisor)'
    pad = torch.zeros_like(label, dtype=torch.bool)
    pad[60:, :] = True
    pad[:, 60:] = True
    heads = [model.decode_head, *model.auxiliary_head]
    assert all((label[pad] == h.ignore_index).all() for h in heads)
    # a loss does not change when only the logits of padded pixels change
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(1, 19, *label.shape, generator=g)
    other = logits.clone()
    other[..., pad] = 10 * torch.randn(19, int(pad.sum()), generator=g)
    for head in heads:
        a = head.loss_by_feat(logits, data['data_samples'])
        b = head.loss_by_feat(other, data['data_samples'])
        for key in a:
            torch.testing.assert_close(a[key], b[key])
    # the metric of the config leaves padded pixels out: right inside, wrong in the padding
    init_default_scope('faceparse_mm')
    metric = METRICS.build(cfg.test_evaluator)
    metric.dataset_meta = CelebAMaskHQDataset.METAINFO
    pred = torch.where(pad, CLASS_ID['hair'], CLASS_ID['skin'])
    metric.process([], [dict(pred_sem_seg=dict(data=pred[None]),
                             gt_sem_seg=dict(data=label[None]))])
    results = metric.compute_metrics(metric.results)
    assert results['aAcc'] == 100.0


def test_an_image_file_reaches_the_network_in_the_normalisation_constants_channel_order(
        tmp_path):
    """A file whose three channels differ goes through the config's test pipeline and data
    preprocessor; channel 0 at the network is the file's red channel normalised with the first
    mean/std (ImageNet's red), and so on."""
    init_default_scope('faceparse_mm')
    cfg = Config.fromfile(SEED)
    image = np.zeros((32, 32, 3), np.uint8)
    image[..., 0], image[..., 1], image[..., 2] = 50, 100, 200  # cv2 order: B, G, R
    info = _write_pair(tmp_path, image, np.zeros((32, 32), np.uint8))
    packed = Compose(cfg.test_dataloader.dataset.pipeline)(dict(info))
    model = build_segmentor(cfg)
    x = model.data_preprocessor(dict(inputs=[packed['inputs']],
                                     data_samples=[packed['data_samples']]), False)['inputs']
    mean, std = cfg.model.data_preprocessor.mean, cfg.model.data_preprocessor.std
    for channel, value in enumerate((200, 100, 50)):  # R, G, B: ImageNet's constants' order
        expected = (value - mean[channel]) / std[channel]
        torch.testing.assert_close(x[0, channel, 5, 5].item(), expected, atol=1e-4, rtol=0)


def _tta_dataset(root):
    """One 16x16 face whose left half is r_eye and right half l_eye, in the converted layout."""
    (root / 'CelebA-HQ-img').mkdir(parents=True)
    (root / 'mask').mkdir()
    (root / 'splits').mkdir()
    image = np.random.default_rng(1).integers(0, 255, (16, 16, 3), np.uint8)
    cv2.imwrite(str(root / 'CelebA-HQ-img' / '0.jpg'), image)
    label = np.full((16, 16), CLASS_ID['r_eye'], np.uint8)
    label[:, 8:] = CLASS_ID['l_eye']
    cv2.imwrite(str(root / 'mask' / '0.png'), label)
    (root / 'splits' / 'test.txt').write_text('0\n')


def test_tools_test_tta_swaps_the_flipped_views_left_and_right_back(tool, tmp_path):
    init_default_scope('faceparse_mm')
    config = 'tests/data/tta_toy_config.py'
    root = tmp_path / 'data'
    _tta_dataset(root)
    model = build_segmentor(Config.fromfile(os.path.join(ROOT, config)))
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), tmp_path / 'toy.pth')
    root_option = f'test_dataloader.dataset.data_root={root}'

    def iou(*flags, options=()):
        work = tmp_path / f'work{len(flags)}{len(options)}'
        tool('tools/test.py', config, str(tmp_path / 'toy.pth'), '--work-dir', str(work),
             *flags, '--cfg-options', root_option, *options, check=True)
        metrics = json.loads((work / 'test_metrics.json').read_text())['metrics']
        return metrics['IoU.l_eye'], metrics['IoU.r_eye']

    assert iou() == (100.0, 100.0)  # the toy is right on an unflipped face
    assert iou('--tta') == (100.0, 100.0)  # and the flipped view, swapped back, agrees
    # the flipped view does reach the merge: without the swap it breaks the prediction
    assert min(iou('--tta', options=['tta_model.flip_pairs=[]'])) < 100.0


def test_added_removed_and_schedule_values_are_departures():
    """Extra and missing keys inside a pinned dict, a missing pinned key, and a schedule value that
    only the full configs pin (the demo configs run their own schedule)."""
    cfg = Config.fromfile(SEED)
    cfg.optim_wrapper.optimizer.nesterov = True
    del cfg.model.data_preprocessor['seg_pad_val']
    del cfg.model.test_cfg['mode']
    cfg.train_cfg.max_iters = 1000
    found = protocol.departures(cfg)
    assert found['optim_wrapper.optimizer.nesterov'] == (protocol.MISSING, True)
    assert found['model.data_preprocessor.seg_pad_val'] == (255, protocol.MISSING)
    assert found['model.test_cfg.mode'] == ('whole', protocol.MISSING)
    assert found['train_cfg.max_iters'] == (80000, 1000)
    assert 'train_cfg.max_iters' not in protocol.departures(cfg, demo=True)
    assert 'model.test_cfg.mode' in protocol.departures(cfg, demo=True)
    assert len(protocol.check(cfg)) == len(found) == 4


def test_lookup_reads_lists_by_index_and_reports_what_is_missing():
    cfg = Config.fromfile(SEED)
    assert protocol.lookup(cfg, 'param_scheduler.1.power') == 0.9
    assert protocol.lookup(cfg, 'param_scheduler.2') == protocol.MISSING
    assert protocol.lookup(cfg, 'param_scheduler.x') == protocol.MISSING
    assert protocol.lookup(cfg, 'model.nothing.here') == protocol.MISSING
