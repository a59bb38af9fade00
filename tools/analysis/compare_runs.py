"""Is a gap between two runs real? Bootstrap intervals over the test images.

    python tools/analysis/compare_runs.py RUN_A [RUN_B] [--n-boot 2000] [--seed 0]
        [--level 0.95] [--out results/NAME.csv]

RUN is a run directory holding ``test_per_image.npz`` (``tools/test.py CONFIG CHECKPOINT
--per-image``) or the ``.npz`` itself. With one run: its mF1 and mIoU with the 95% bootstrap
interval. With two: both runs' intervals and the paired bootstrap of A - B on the images both
were tested on (the same resampled images for both runs), with its interval and two-sided
p-value (``faceparse_mm/evaluation/bootstrap.py`` says how). The runs must cover the same
images (matched by image name, in any order) with the same classes.

``--out`` merges one row per comparison into a CSV (keyed by ``comparison``: ``A`` or
``A vs B``; a rerun replaces its own row) with the commit and date, like the zoo's results.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os.path as osp
import shlex
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

from faceparse_mm.errors import FaceDataError  # noqa: E402
from faceparse_mm.evaluation.bootstrap import (  # noqa: E402
    METRICS,
    bootstrap_interval,
    paired_bootstrap,
)
from faceparse_mm.evaluation.per_image import load_per_image, run_label  # noqa: E402
from faceparse_mm.utils.results import git_commit  # noqa: E402
from tools.analysis.collect_results import write_csv  # noqa: E402

COLUMNS = ['comparison', 'run_a', 'run_b', 'config_a', 'config_b', 'images', 'n_boot', 'level',
           'boot_seed'] + [f'{m}_{s}' for m in METRICS for s in ('a', 'a_lo', 'a_hi', 'b', 'b_lo',
                                                              'b_hi', 'diff', 'diff_lo',
                                                              'diff_hi', 'p')] + [
    'commit', 'date', 'command']


def _config(run: dict) -> str | None:
    """The config named by ``test_metrics.json`` beside the counts, if any."""
    try:
        with open(osp.join(osp.dirname(run['path']), 'test_metrics.json')) as f:
            return json.load(f).get('config')
    except (OSError, ValueError):
        return None


def align(a: dict, b: dict) -> np.ndarray:
    """B's confusion matrices in A's image order; :class:`FaceDataError` naming both files when
    the images or classes differ."""
    if a['classes'].tolist() != b['classes'].tolist():
        raise FaceDataError(f'{a["path"]} and {b["path"]} have different classes')
    if a['foreground'].tolist() != b['foreground'].tolist():
        raise FaceDataError(f'{a["path"]} and {b["path"]} average mF1 over different classes')
    names_a, names_b = a['names'].tolist(), b['names'].tolist()
    index = {n: i for i, n in enumerate(names_b)}
    only_a = [n for n in names_a if n not in index]
    only_b = sorted(set(names_b) - set(names_a))
    if only_a or only_b:
        raise FaceDataError(
            f'{a["path"]} ({len(names_a)} images) and {b["path"]} ({len(names_b)} images) were '
            f'not tested on the same images: {len(only_a)} only in A (e.g. {only_a[:3]}), '
            f'{len(only_b)} only in B (e.g. {only_b[:3]})')
    return b['conf'][[index[n] for n in names_a]]


def compare(path_a: str, path_b: str | None = None, n_boot: int = 2000, seed: int = 0,
            level: float = 0.95) -> dict:
    """The CSV row of one comparison (see the module docstring)."""
    a = load_per_image(path_a)
    fg = a['foreground'].tolist()
    row = dict(comparison=run_label(a['path']), run_a=run_label(a['path']), config_a=_config(a),
               images=len(a['names']), n_boot=n_boot, level=level, boot_seed=seed)
    one = bootstrap_interval(a['conf'], n_boot, seed, level, fg)
    for m in METRICS:
        row.update({f'{m}_a': one[m]['value'], f'{m}_a_lo': one[m]['lo'],
                    f'{m}_a_hi': one[m]['hi']})
    if path_b is not None:
        b = load_per_image(path_b)
        conf_b = align(a, b)
        run_b = run_label(b['path'])
        row.update(comparison=f'{row["run_a"]} vs {run_b}', run_b=run_b, config_b=_config(b))
        other = bootstrap_interval(conf_b, n_boot, seed, level, fg)
        paired = paired_bootstrap(a['conf'], conf_b, n_boot, seed, level, fg)
        for m in METRICS:
            row.update({f'{m}_b': other[m]['value'], f'{m}_b_lo': other[m]['lo'],
                        f'{m}_b_hi': other[m]['hi'], f'{m}_diff': paired[m]['diff'],
                        f'{m}_diff_lo': paired[m]['lo'], f'{m}_diff_hi': paired[m]['hi'],
                        f'{m}_p': paired[m]['p']})
    return row


def report(row: dict) -> str:
    pct = f'{row["level"] * 100:g}%'
    lines = [f'{row["images"]} images, {row["n_boot"]} bootstrap resamples (seed '
             f'{row["boot_seed"]}), '
             f'{pct} intervals']
    for side in ('a', 'b'):
        if row.get(f'run_{side}'):
            parts = [f'{m} {row[f"{m}_{side}"]:.2f} [{row[f"{m}_{side}_lo"]:.2f}, '
                     f'{row[f"{m}_{side}_hi"]:.2f}]' for m in METRICS]
            lines.append(f'{side.upper()} {row[f"run_{side}"]}: ' + '  '.join(parts))
    if row.get('run_b'):
        for m in METRICS:
            lines.append(f'A - B {m}: {row[f"{m}_diff"]:+.2f} [{row[f"{m}_diff_lo"]:+.2f}, '
                         f'{row[f"{m}_diff_hi"]:+.2f}], p = {row[f"{m}_p"]:.4f}')
    return '\n'.join(lines)


def _round(row: dict) -> dict:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('run_a', help='run directory with test_per_image.npz, or the .npz')
    parser.add_argument('run_b', nargs='?', help='a second run on the same images (paired)')
    parser.add_argument('--n-boot', type=int, default=2000, help='bootstrap resamples')
    parser.add_argument('--seed', type=int, default=0, help='seed of the resampling')
    parser.add_argument('--level', type=float, default=0.95, help='interval coverage')
    parser.add_argument('--out', help='merge the row into this CSV (e.g. results/NAME.csv)')
    args = parser.parse_args(argv)
    if args.n_boot < 1:
        parser.error('--n-boot must be positive')
    if not 0 < args.level < 1:
        parser.error('--level must be in (0, 1)')
    try:
        row = compare(args.run_a, args.run_b, args.n_boot, args.seed, args.level)
    except FaceDataError as err:
        print(f'error: {err}', file=sys.stderr)
        sys.exit(2)
    print(report(row))
    if args.out:
        row.update(commit=git_commit(ROOT),
                   date=datetime.datetime.now().isoformat(timespec='seconds'),
                   command=' '.join(shlex.quote(p) for p in [
                       'python', 'tools/analysis/compare_runs.py', *(argv or sys.argv[1:])]))
        write_csv([_round(row)], args.out, merge=True, key='comparison', base_columns=COLUMNS)
        print(f'-> {args.out}')


if __name__ == '__main__':
    main()
