"""Every config in configs/ loads, names only registered types, and builds its model (CPU, no
weights downloaded); every user-facing config is complete. Per-architecture files, forward,
training step and parameter counts: tests/test_zoo_contract.py."""
import glob
import os

import pytest
from mmengine.config import Config

from faceparse_mm.utils.build import build_segmentor, iter_heads
from faceparse_mm.utils.cli import check_types

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
USER = sorted(glob.glob(os.path.join(ROOT, 'configs', '*.py')))
DEMO = sorted(glob.glob(os.path.join(ROOT, 'configs', 'demo', '*.py')))
MODEL_BASES = sorted(glob.glob(os.path.join(ROOT, 'configs', '_base_', 'models', '*.py')))
# video models (configs/NAME_facevideo.py and their demo configs/demo/NAME_demo.py) run on face
# clips: their data and metric are the clip versions of the protocol's
VIDEO_NAMES = {os.path.basename(p)[:-len('_facevideo.py')]
               for p in glob.glob(os.path.join(ROOT, 'configs', '*_facevideo.py'))}
IMAGE_DATA = dict(metric='FaceParsingMetric', dataset='CelebAMaskHQDataset', splits='splits',
                  base='_base_/datasets/celebamask_hq.py')
VIDEO_DATA = dict(metric='FaceClipMetric', dataset='FaceClipDataset', splits='clip_splits',
                  base='_base_/datasets/face_clips.py')


def _data_kind(path):
    name = os.path.basename(path)
    video = name.endswith('_facevideo.py') or (
        os.path.basename(os.path.dirname(path)) == 'demo' and name.endswith('_demo.py')
        and name[:-len('_demo.py')] in VIDEO_NAMES)
    return VIDEO_DATA if video else IMAGE_DATA


@pytest.mark.parametrize('path', USER + DEMO + MODEL_BASES,
                         ids=lambda p: os.path.relpath(p, ROOT))
def test_config_builds(path):
    cfg = Config.fromfile(path)
    if 'model' not in cfg:
        pytest.skip('no model')
    check_types(cfg)
    model = build_segmentor(cfg)
    assert sum(p.numel() for p in model.parameters()) > 0


@pytest.mark.parametrize('path', USER + DEMO, ids=lambda p: os.path.relpath(p, ROOT))
def test_user_config_is_complete_and_follows_protocol(path):
    cfg = Config.fromfile(path)
    for key in ('model', 'train_dataloader', 'val_dataloader', 'test_dataloader',
                'val_evaluator', 'test_evaluator', 'optim_wrapper', 'param_scheduler',
                'train_cfg', 'default_scope', 'tta_model', 'tta_pipeline'):
        assert key in cfg, f'{path} lacks {key}'
    assert cfg.default_scope == 'faceparse_mm'
    kind = _data_kind(path)
    assert cfg.test_evaluator['type'] == kind['metric']
    assert cfg.test_dataloader.dataset.type == kind['dataset']
    assert cfg.test_dataloader.dataset.ann_file == f"{kind['splits']}/test.txt"
    assert cfg.val_dataloader.dataset.ann_file == f"{kind['splits']}/val.txt"
    flips = [t for t in cfg.train_dataloader.dataset.pipeline if 'Flip' in t['type']]
    assert [t['type'] for t in flips] == ['FaceRandomFlip']
    assert all(h['num_classes'] == 19 for _, h in iter_heads(cfg.model))


@pytest.mark.parametrize('path', USER, ids=lambda p: os.path.relpath(p, ROOT))
def test_user_config_uses_the_protocol_bases(path):
    text = open(path).read()
    for base in (_data_kind(path)['base'], '_base_/schedules/schedule_80k.py',
                 '_base_/default_runtime.py'):
        assert base in text, f'{path} must inherit {base}'
    cfg = Config.fromfile(path)
    assert cfg.train_cfg.max_iters == 80000 and cfg.train_dataloader.batch_size == 16
