"""Machine-readable run outputs that the results table is collected from."""
from __future__ import annotations

import datetime
import math
import os.path as osp
import subprocess

from .io import write_json_atomic


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
