import os
import subprocess
import sys

import pytest

import faceparse_mm  # noqa: F401  (compat first)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_tool(*args, timeout=600, check=False, env=None):
    """Run a repo script with this interpreter; returns CompletedProcess (text)."""
    full_env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    full_env.pop('FACEPARSE_DEBUG', None)
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=full_env)
    if check and proc.returncode != 0:
        raise AssertionError(f'{args} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n'
                             f'{proc.stderr[-3000:]}')
    return proc


@pytest.fixture
def tool():
    return run_tool


# whole processes (tools run in subprocesses, DDP, kill -9, the notebook kernel): seconds to a
# minute each. CI runs everything (`make test`); `make test-fast` leaves these out.
SLOW_MODULES = {'test_distributed.py', 'test_resume_after_kill.py', 'test_results_notebook.py',
                'test_checkpoint_meta.py'}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if 'tool' in getattr(item, 'fixturenames', ()) or item.path.name in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
