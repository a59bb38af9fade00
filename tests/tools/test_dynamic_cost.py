"""tools/analysis/dynamic_cost.py: the MACs of the convolutions that ran, per image, and the cells
skipped: exact on a static model, and following the routing space's closed cells."""
import json
import os.path as osp

import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from faceparse_mm.utils.build import build_segmentor
from tests.models.test_dynamic_routing import _close, _tiny_segmentor_cfg
from tools.analysis import dynamic_cost

TOY = 'tests/data/toy_config.py'


def _samples(n, size=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    for i in range(n):
        sample = SegDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size)))
        sample.gt_sem_seg = PixelData(data=torch.zeros(1, size, size, dtype=torch.long))
        yield i, dict(inputs=torch.randint(0, 256, (3, size, size), dtype=torch.uint8,
                                           generator=g), data_samples=sample)


def test_a_static_model_costs_the_same_for_every_image(tmp_path):
    out = tmp_path / 'cost.json'
    report = dynamic_cost.main([TOY, '--limit', '3', '--out', str(out)])
    # toy: conv 3->8 3x3, FCN conv 8->4 3x3, conv_seg 4->3 1x1, at 32x32 (biases not counted)
    macs = (8 * 3 * 9 + 4 * 8 * 9 + 3 * 4) * 32 * 32
    assert report['summary']['macs'] == dict(mean=macs, min=macs, max=macs)
    assert report['summary']['images'] == 3 and 'skipped_fraction' not in report['summary']
    written = json.loads(out.read_text())
    assert written['summary'] == report['summary']
    # what reproduces it, and from which commit; no absolute path inside the repository
    assert written['command'].startswith('python tools/analysis/dynamic_cost.py ')
    assert written['command'].split()[2] == written['config'] and not osp.isabs(written['config'])
    assert written['commit'] and written['date']


def test_closing_a_cell_removes_exactly_its_cost():
    torch.manual_seed(0)
    model = build_segmentor(_tiny_segmentor_cfg()).eval()
    open_run = dynamic_cost.measure(model, _samples(2), log=None)
    cell = model.backbone.layers[2][1]
    _close(cell)
    closed_run = dynamic_cost.measure(model, _samples(2), log=None)
    h, w = model.backbone.scale_sizes((16, 16))[1]
    for before, after in zip(open_run['images'], closed_run['images']):
        assert before['skipped'] == 0 and after['cells_run'] == after['cells'] - 1
        assert before['macs'] - after['macs'] == cell.full_macs(h, w)
        assert before['macs'] - before['backbone_macs'] == after['macs'] - after['backbone_macs']
    summary = closed_run['summary']
    assert summary['skipped_fraction']['mean'] == pytest.approx(1 / summary['cells'])
    assert summary['dense_macs_first_image'] == open_run['images'][0]['macs']
    assert summary['macs']['min'] <= summary['macs']['mean'] <= summary['macs']['max']


def test_a_cell_reached_by_nothing_is_counted_apart_as_a_constant():
    """Close every route into (layer 2, scale 2): its output is computed from its parameters on a
    small map (``constant``), outside the backbone's executed MACs, and the check of the
    backbone's count against the hooks still holds."""
    torch.manual_seed(0)
    model = build_segmentor(_tiny_segmentor_cfg()).eval()
    _close(model.backbone.layers[1][2], routes=('keep', ))
    _close(model.backbone.layers[1][1], routes=('down', ))
    run = dynamic_cost.measure(model, _samples(1), log=None)
    (image, ) = run['images']
    assert image['backbone_constant'] > 0 and image['cells_run'] == image['cells'] - 1
