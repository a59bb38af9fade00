"""Collect one results row per run directory into a CSV (the zoo's table; never typed by hand).

    python tools/analysis/collect_results.py WORK_DIRS [WORK_DIRS ...] --out results/NAME.csv
        [--replace] [--command "how the runs were made"]

A run directory is any folder holding ``test_metrics.json`` (written by ``tools/test.py``),
``benchmark.json`` (``tools/analysis/benchmark.py --out``) or a ``last_checkpoint``. Columns:
config, test_time, architecture, dataset, iterations, aAcc, mAcc, mIoU, mF1, params,
params_inference, flops (MACs), latency_ms, best_mode, device, commit, date, command, work_dir,
then ``F1.<class>`` and ``IoU.<class>``. Missing pieces leave empty cells.

``test_time`` labels a run that is not the protocol's plain test: ``flip TTA``
(``tools/test.py --tta``) or ``dense CRF`` (``--crf``); empty for the protocol numbers.

The CSV grows row by row: rows are keyed by ``config``, ``test_time`` and ``dataset``; a
collected row replaces the existing row of its config (test-time setting and dataset) and every
other row stays as it was (``--replace`` writes only the collected rows). A config written by
``tools/derive_config.py`` (one architecture on another dataset, e.g. LaPa) gets the row of its
source config (``derived_from``) with its own ``dataset`` (``dataset_label``), so it sits beside
the CelebAMask-HQ row of that config. ``command`` is what produced the run:
``tools/run_zoo.py`` records it in the run directory (``zoo_run.json``); ``--command`` sets it
for runs made by hand.

``seed``: an extra seed of ``tools/run_zoo.py --seeds K`` (recorded in ``zoo_run.json``) is a
row of its own, keyed by its seed too; the run at the config's own seed leaves the cell empty
(the column appears with the first extra seed).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import os.path as osp
import re
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmengine.config import Config  # noqa: E402

from faceparse_mm.utils.io import atomic_path  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

BASE_COLUMNS = ['config', 'test_time', 'architecture', 'family', 'dataset', 'iterations', 'aAcc',
                'mAcc', 'mIoU', 'mF1',
                'params', 'params_inference', 'flops', 'latency_ms', 'best_mode', 'device',
                'commit', 'date', 'command', 'work_dir']
RUN_INFO = 'zoo_run.json'  # written by tools/run_zoo.py: the command that made the run
MARKERS = ('test_metrics.json', 'benchmark.json', 'last_checkpoint')
# flags of tools/test.py that change the numbers, and their label in the test_time column
TEST_TIME = (('tta', 'flip TTA'), ('crf', 'dense CRF'))


def _load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def find_runs(roots) -> list[str]:
    runs = set()
    for root in roots:
        for dirpath, _, files in os.walk(root):
            if any(m in files for m in MARKERS):
                runs.add(dirpath)
    return sorted(runs)


def arch_info(config: str | None) -> dict:
    """The model base's ``arch_info`` (title, family, paper) of ``config``; {} if unreadable."""
    for path in (config, osp.join(ROOT, config or '')):
        if path and osp.isfile(path):
            try:
                return dict(Config.fromfile(path, import_custom_modules=False).get('arch_info')
                            or {})
            except Exception:  # an unreadable config leaves the cells empty
                return {}
    return {}


def _config_max_iters(run, config):
    """``train_cfg.max_iters`` of the config the run used: the copy mmengine dumps into the work
    dir (it includes ``--cfg-options``), else the config file itself."""
    candidates = [osp.join(run, osp.basename(config))] if config else []
    candidates += [config, osp.join(ROOT, config)] if config else []
    for path in candidates:
        if path and osp.isfile(path):
            try:
                cfg = Config.fromfile(path, import_custom_modules=False)
            except Exception:  # an unreadable config leaves the cell empty
                continue
            iters = (cfg.get('train_cfg') or {}).get('max_iters')
            if isinstance(iters, int):
                return iters
    return None


def _iterations(run, metrics, config=None):
    """From the tested checkpoint's name (``iter_N.pth``, ``best_mF1_iter_N.pth``), else the
    work dir's ``last_checkpoint``, else the config's ``train_cfg.max_iters``."""
    ckpt = (metrics or {}).get('checkpoint') or ''
    if not ckpt and osp.isfile(osp.join(run, 'last_checkpoint')):
        with open(osp.join(run, 'last_checkpoint')) as f:
            ckpt = f.read().strip()
    m = re.search(r'iter_(\d+)\.pth', osp.basename(ckpt))
    return int(m.group(1)) if m else _config_max_iters(run, config)


def _declared(config: str | None) -> dict:
    """What a config says about its data: ``dataset_label`` (set by a dataset base other than
    CelebAMask-HQ's, e.g. ``configs/_base_/datasets/lapa.py``) and ``derived_from`` (the source
    config of one written by ``tools/derive_config.py``); {} if unreadable."""
    for path in (config, osp.join(ROOT, config or '')):
        if path and osp.isfile(path):
            try:
                cfg = Config.fromfile(path, import_custom_modules=False)
            except Exception:  # an unreadable config leaves the cells as the path gives them
                return {}
            return {k: cfg.get(k) for k in ('dataset_label', 'derived_from') if cfg.get(k)}
    return {}


def _dataset(config: str | None) -> str | None:
    if not config:
        return None
    label = _declared(config).get('dataset_label')
    if label:
        return label
    name = osp.basename(config)
    if '/demo/' in config.replace(os.sep, '/') or name.endswith('_demo.py'):
        return 'synthetic-celebamask (demo)'
    return 'celebamask-hq'


def _architecture(config: str | None) -> str | None:
    if not config:
        return None
    return re.sub(r'_(celebamask|demo)$', '', osp.splitext(osp.basename(config))[0])


def collect_row(run: str) -> dict:
    test = _load(osp.join(run, 'test_metrics.json')) or {}
    info = _load(osp.join(run, RUN_INFO)) or {}
    bench = _load(osp.join(run, 'benchmark.json')) or {}
    bench_result = (bench.get('results') or [{}])[0]
    metrics = test.get('metrics') or {}
    run_config = test.get('config') or bench_result.get('config')
    # a derived config's row is its source config's, on its dataset
    config = _declared(run_config).get('derived_from') or run_config
    test_time = ', '.join(label for flag, label in TEST_TIME if test.get(flag)) or None
    row = dict(config=config, test_time=test_time, architecture=_architecture(config),
               family=arch_info(config).get('family'), dataset=_dataset(run_config),
               iterations=_iterations(run, test, run_config),
               params=bench_result.get('params'),
               params_inference=bench_result.get('params_inference'),
               flops=bench_result.get('flops'), latency_ms=bench_result.get('latency_ms'),
               best_mode=bench_result.get('best_mode'),
               device=(bench.get('environment') or {}).get('device_name'),
               commit=test.get('commit') or (bench.get('environment') or {}).get('commit'),
               date=test.get('date') or (bench.get('environment') or {}).get('date'),
               command=info.get('command'), work_dir=run)
    if info.get('seed') is not None:  # an extra seed of tools/run_zoo.py --seeds
        row['seed'] = info['seed']
    for key, value in metrics.items():
        row[key] = value
    return row


def collect(roots) -> list[dict]:
    return [collect_row(run) for run in find_runs(roots)]


def read_csv(path: str) -> list[dict]:
    """The rows of an existing results CSV (empty cells as None); [] when there is no file."""
    if not osp.isfile(path):
        return []
    with open(path, newline='') as f:
        return [{k: (v if v != '' else None) for k, v in row.items()} for row in csv.DictReader(f)]


def merge_rows(old: list[dict], new: list[dict], key: str = 'config') -> list[dict]:
    """``old`` with each row of ``new`` replacing the row of the same ``key``, ``test_time``,
    ``dataset`` and ``seed`` (or added), sorted by them. A row without a key cannot be merged:
    ValueError."""
    merged = {}
    for row in old + new:
        if not row.get(key):
            raise ValueError(f'a results row has no {key!r}: {row}')
        seed = row.get('seed')  # int from a run, str from a CSV; empty: the config's own
        merged[(row[key], row.get('test_time') or '', row.get('dataset') or '',
                '' if seed in (None, '') else str(seed))] = row
    return [merged[k] for k in sorted(merged)]


def write_csv(rows: list[dict], out: str, merge: bool = False, key: str = 'config',
              base_columns=BASE_COLUMNS) -> list[dict]:
    """Write ``rows`` to ``out`` atomically; with ``merge``, into the rows already there (see
    :func:`merge_rows`). Returns the rows written."""
    if merge:
        rows = merge_rows(read_csv(out), rows, key)
    extra = sorted({k for r in rows for k in r} - set(base_columns),
                   key=lambda k: (not k.startswith('F1.'), not k.startswith('IoU.'), k))
    columns = list(base_columns) + extra
    with atomic_path(out) as tmp:
        with open(tmp, 'w', newline='') as f:
            writer = csv.DictWriter(f, fieldnames=columns, restval='')
            writer.writeheader()
            for r in rows:
                writer.writerow({k: ('' if v is None else v) for k, v in r.items()})
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('work_dirs', nargs='+')
    parser.add_argument('--out', required=True, help='results/NAME.csv')
    parser.add_argument('--replace', action='store_true',
                        help='write only the collected rows (default: merge into --out)')
    parser.add_argument('--command', help='the command that made the runs (for their rows)')
    args = parser.parse_args(argv)
    rows = collect(args.work_dirs)
    if not rows:
        print(f'error: no run directories under {args.work_dirs}', file=sys.stderr)
        sys.exit(2)
    if args.command:
        for row in rows:
            row['command'] = row.get('command') or args.command
    missing = [r['work_dir'] for r in rows if not r.get('config')]
    if missing:
        print(f'error: no config recorded in {missing} (no test_metrics.json or benchmark.json)',
              file=sys.stderr)
        sys.exit(2)
    written = write_csv(rows, args.out, merge=not args.replace)
    print(f'{len(rows)} runs -> {args.out} ({len(written)} rows)')


if __name__ == '__main__':
    main()
