"""Kill -9 a training run mid-way, resume it, and end where an uninterrupted run ends."""
import os
import signal
import subprocess
import sys
import time

import torch

from .conftest import ROOT

CFG = 'tests/data/toy_config.py'
OPTS = ['--cfg-options', 'train_cfg.max_iters=60', 'param_scheduler.0.end=60',
        'default_hooks.checkpoint.interval=5', 'default_hooks.checkpoint.max_keep_ckpts=1',
        'randomness.seed=0', 'randomness.deterministic=True']


def _cmd(work, *extra):
    return [sys.executable, 'tools/train.py', CFG, '--work-dir', str(work), *extra, *OPTS]


def _env():
    return dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))


def test_resume_after_sigkill_matches_uninterrupted_run(tmp_path):
    ref = tmp_path / 'ref'
    subprocess.run(_cmd(ref), cwd=ROOT, env=_env(), check=True, capture_output=True, timeout=300)

    work = tmp_path / 'killed'
    proc = subprocess.Popen(_cmd(work), cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    seen = []
    deadline = time.time() + 240
    try:
        while time.time() < deadline and proc.poll() is None:
            marker = work / 'last_checkpoint'
            if marker.exists():
                path = marker.read_text().strip()
                if path and (not seen or seen[-1] != path):
                    # whatever last_checkpoint names is always a complete checkpoint
                    torch.load(path, weights_only=True)
                    seen.append(path)
                if len(seen) >= 3:
                    break
            time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert len(seen) >= 3, 'the run ended before it could be killed'
    killed_at = torch.load((work / 'last_checkpoint').read_text().strip(),
                           weights_only=True)['meta']['iter']
    assert killed_at < 60
    # a partial write lying around is never picked up
    (work / '.iter_999.pth.partial').write_bytes(b'half a checkpoint')

    out = subprocess.run(_cmd(work, '--resume'), cwd=ROOT, env=_env(), capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert f'resumed epoch: 0, iter: {killed_at}' in out.stdout + out.stderr
    a = torch.load(ref / 'iter_60.pth', weights_only=True)['state_dict']
    b = torch.load(work / 'iter_60.pth', weights_only=True)['state_dict']
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-6, msg=key)
    # max_keep_ckpts=1: only the final checkpoint is left
    assert sorted(p.name for p in work.glob('iter_*.pth')) == ['iter_60.pth']
