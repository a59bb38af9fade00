"""A test run of the tiny face parser on generated faces, shared by the evaluation tools' tests
(compare_runs, pose_buckets, robustness, resolution_sweep): one tools/test.py process in all."""
import os
from typing import NamedTuple

import pytest

from tests.conftest import ROOT, run_tool
from tests.infer_toy import write_checkpoint

EVAL_CONFIG = os.path.join(ROOT, 'tests', 'data', 'eval_toy_config.py')


class ToyRun(NamedTuple):
    root: object  # folder holding faces/ (the generated release), toy.pth and run_a/
    work: object  # tools/test.py's work dir: test_metrics.json, test_per_image.npz
    proc: object  # its CompletedProcess
    checkpoint: str
    config: str
    options: list  # the --cfg-options that point the config at the generated faces


@pytest.fixture(scope='session')
def toy_test_run(tmp_path_factory):
    """tools/test.py --per-image --boundary-width 2 --pose-file of the toy parser (random
    weights) on 24 generated 64-pixel faces (their train split: the official test split of so
    few faces holds one or two)."""
    root = tmp_path_factory.mktemp('eval')
    checkpoint = write_checkpoint(root / 'toy.pth')
    work = root / 'run_a'
    options = [f'test_dataloader.dataset.data_root={root / "faces"}',
               'test_dataloader.dataset.ann_file=splits/train.txt',
               'test_dataloader.dataset.synthetic.num=24',
               'test_dataloader.dataset.synthetic.nproc=1',
               'test_dataloader.dataset.synthetic.image_size=64',
               'test_dataloader.dataset.synthetic.mask_size=64', 'test_dataloader.num_workers=0',
               'test_dataloader.persistent_workers=False']
    proc = run_tool('tools/test.py', EVAL_CONFIG, checkpoint, '--work-dir', str(work),
                    '--per-image', '--boundary-width', '2', '--pose-file', '--cfg-options',
                    *options, check=True)
    return ToyRun(root, work, proc, checkpoint, EVAL_CONFIG, options)
