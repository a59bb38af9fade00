"""Checkpoints explain themselves: a checkpoint saved by training names the dataset's classes and
palette, and ``tools/test.py`` refuses one whose classes are not the config's."""
import os

import pytest
import torch
from mmengine.config import Config

from faceparse_mm.compat import load_checkpoint
from faceparse_mm.datasets import CelebAMaskHQDataset
from faceparse_mm.datasets.celebamask_convert import convert
from faceparse_mm.datasets.synthetic import make_synthetic_celebamask
from faceparse_mm.utils.runtime import build_runner
from tools import test as test_tool

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO = os.path.join(ROOT, 'configs', 'demo', 'bisenetv1-fp_demo.py')


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """Two training iterations of a demo config on twenty generated faces; its checkpoint."""
    tmp = tmp_path_factory.mktemp('run')
    root = tmp / 'faces'
    make_synthetic_celebamask(str(root), num=20, image_size=64, mask_size=32, seed=0)
    convert(str(root), split='random', progress=False, log=lambda m: None)
    cfg = Config.fromfile(DEMO)
    loader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                  dataset=dict(data_root=str(root), synthetic=None))
    cfg.merge_from_dict(dict(train_dataloader=loader, val_dataloader=loader,
                             test_dataloader=loader))
    cfg.train_cfg.max_iters, cfg.train_cfg.val_interval = 2, 100
    cfg.default_hooks.checkpoint.interval = 2
    cfg.work_dir = str(tmp / 'work')
    build_runner(cfg).train()
    return tmp / 'work' / 'iter_2.pth'


def test_a_training_checkpoint_names_the_datasets_classes_and_palette(trained):
    meta = load_checkpoint(str(trained))['meta']['dataset_meta']
    assert list(meta['classes']) == list(CelebAMaskHQDataset.METAINFO['classes'])
    assert [list(c) for c in meta['palette']] == [list(c) for c in
                                                  CelebAMaskHQDataset.METAINFO['palette']]


def test_tools_test_refuses_a_checkpoint_trained_on_other_classes(trained, tmp_path, capsys):
    state = load_checkpoint(str(trained))
    classes = list(state['meta']['dataset_meta']['classes'])
    classes[4], classes[5] = classes[5], classes[4]  # l_eye and r_eye exchanged
    state['meta']['dataset_meta']['classes'] = classes
    other = tmp_path / 'other.pth'
    torch.save(state, other)
    with pytest.raises(SystemExit) as exit_info:
        test_tool.main([DEMO, str(other), '--work-dir', str(tmp_path / 'w')])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert str(other) in err and "4: 'r_eye' vs 'l_eye'" in err
    assert not (tmp_path / 'w' / 'test_metrics.json').exists()
