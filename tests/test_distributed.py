"""tools/dist_train.sh on CPU: two processes (gloo), a few iterations, then dist_test.sh."""
import os
import subprocess
import sys

import torch

from .conftest import ROOT

CFG = 'tests/data/toy_config.py'


def _env(port):
    return dict(os.environ, PYTHON=sys.executable, PORT=str(port),
                PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))


def test_two_process_cpu_training_and_testing(tmp_path):
    work = str(tmp_path / 'ddp')
    proc = subprocess.run(['bash', 'tools/dist_train.sh', CFG, '2', '--work-dir', work],
                          cwd=ROOT, env=_env(29611), capture_output=True, text=True, timeout=300)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert 'Distributed training: True' in log and "'backend': 'gloo'" in log
    assert 'Iter(train) [4/4]' in log
    ckpt = torch.load(os.path.join(work, 'iter_4.pth'), weights_only=True)
    assert ckpt['meta']['iter'] == 4
    # DDP wrapper keys are stripped: the checkpoint loads into a plain model
    assert not any(k.startswith('module.') for k in ckpt['state_dict'])
    proc = subprocess.run(['bash', 'tools/dist_test.sh', CFG, os.path.join(work, 'iter_4.pth'), '2',
                           '--work-dir', work], cwd=ROOT, env=_env(29612),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert os.path.isfile(os.path.join(work, 'test_metrics.json'))


def test_a_user_error_in_the_ranks_is_printed_once_last_with_the_tools_status(tmp_path):
    """Every rank stops on the same one-line error: the launcher prints it once, after
    torchrun's report, and exits 2 as the single-process tools do."""
    missing = str(tmp_path / 'nope.py')
    runs = [(['bash', 'tools/dist_train.sh', missing, '2', '--work-dir', str(tmp_path)], 29613,
             f'error: config file not found: {missing}'),
            (['bash', 'tools/dist_test.sh', CFG, str(tmp_path / 'x.pth'), '2'], 29614,
             f'error: checkpoint file not found: {tmp_path / "x.pth"}')]
    for args, port, message in runs:
        proc = subprocess.run(args, cwd=ROOT, env=_env(port), capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 2, (proc.stdout + proc.stderr)[-3000:]
        lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
        assert lines.count(message) == 1, (proc.stdout + proc.stderr)[-3000:]
        assert proc.stderr.rstrip().splitlines()[-1] == message
        assert not [line for line in lines if line.startswith('error:') and line != message]
