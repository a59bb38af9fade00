"""Machine-readable run outputs that the results table is collected from."""
from __future__ import annotations

import datetime
import math
import os.path as osp
import shlex
import subprocess

from .io import write_json_atomic

#: the repository's root (this file is faceparse_mm/utils/results.py)
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def repo_relative(path: str | None) -> str | None:
    """``path`` relative to the repository when it is an absolute path inside it, else as given:
    what a results file records, so that it names no machine's directories."""
    if path and osp.isabs(path) and osp.abspath(path).startswith(REPO_ROOT + osp.sep):
        return osp.relpath(osp.abspath(path), REPO_ROOT)
    return path


def recorded_command(script: str, args) -> str:
    """``python SCRIPT ARGS...`` shell-quoted as a results row records it, absolute paths inside
    the repository made relative to it (the command is then run from the repository root)."""
    return ' '.join(shlex.quote(p) for p in ['python', script,
                                             *(repo_relative(a) for a in args)])


def git_commit(cwd: str | None = None) -> str | None:
    try:
        out = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'],
                             cwd=cwd or osp.dirname(__file__),
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _plain(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, 'item'):
        return _plain(value.item())
    return value


def write_test_metrics(work_dir: str, metrics: dict, **info) -> str:
    """Write ``work_dir/test_metrics.json``: the metrics plus provenance (config, checkpoint,
    commit, date). NaN becomes null."""
    path = osp.join(work_dir, 'test_metrics.json')
    now = datetime.datetime.now().isoformat(timespec='seconds')
    record = dict(info, commit=git_commit(), date=now,
                  metrics={k: _plain(v) for k, v in (metrics or {}).items()})
    write_json_atomic(path, record)
    return path
