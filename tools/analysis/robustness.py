"""How much does a face parser lose under noise, blur, JPEG, low light, low contrast, occluders?

    python tools/analysis/robustness.py CONFIG CHECKPOINT [--corruptions NAME ...]
        [--severities 1 2 3 4 5] [--split test] [--limit N] [--tta] [--device cpu]
        [--batch-size 8] [--work-dir D] [--out results/NAME.csv] [--cfg-options k=v ...]

Every image of the split (loaded as the test pipeline loads it: at the label's size) is scored
clean and under each corruption at each severity (``faceparse_mm/evaluation/corruptions.py``:
gaussian_noise, motion_blur, defocus_blur, jpeg, low_light, contrast, occlusion; five severities
each, the same pixels for the same image on every run), by the checkpoint through
``FaceParser``, against its untouched label. The metric is the protocol's: one confusion matrix
per condition over the split, mF1 over the foreground classes.

Writes ``WORK_DIR/robustness.json`` (default ``work_dirs/robustness/<config name>/``: the table,
the summary and the provenance) and ``WORK_DIR/robustness.png`` (mF1 per corruption and
severity), and prints the table. The robustness summary is the mean corruption mF1 (over every
corruption and severity asked for) and that mean relative to the clean mF1 (1.0: nothing lost).
``--out`` merges the rows of this config into a CSV (``corruption`` ``clean``, each corruption
and severity, and ``mean``), replacing the config's earlier rows.
"""
from __future__ import annotations

import argparse
import datetime
import os.path as osp
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402
from mmengine.config import DictAction  # noqa: E402

import faceparse_mm  # noqa: E402,F401
from faceparse_mm.apis import FaceParser  # noqa: E402
from faceparse_mm.apis.split_eval import split_images  # noqa: E402
from faceparse_mm.errors import FaceParseError  # noqa: E402
from faceparse_mm.evaluation import confusion_matrix, metrics_from_confusion  # noqa: E402
from faceparse_mm.evaluation.pose import image_key  # noqa: E402
from faceparse_mm.utils.cli import cli_errors, load_config  # noqa: E402
from faceparse_mm.utils.io import atomic_path, write_json_atomic  # noqa: E402
from faceparse_mm.utils.results import (  # noqa: E402
    git_commit,
    recorded_command,
    repo_relative,
)
from tools.analysis.collect_results import read_csv, write_csv  # noqa: E402
from tools.run_zoo import arch_name  # noqa: E402

try:
    from faceparse_mm.evaluation.corruptions import CORRUPTIONS, SEVERITIES, corrupt
except ImportError as err:  # the optional dependency
    CORRUPTIONS, SEVERITIES, corrupt = {}, (1, 2, 3, 4, 5), None
    MISSING = f'{err} (install it with: pip install -e .[robustness])'
else:
    MISSING = None

COLUMNS = ['config', 'architecture', 'corruption', 'severity', 'images', 'mF1', 'mIoU',
           'relative', 'checkpoint', 'commit', 'date', 'command']


def evaluate(parser: FaceParser, images, conditions: list[tuple[str, int]],
             progress=None) -> dict:
    """{('clean', 0) or (corruption, severity): summed confusion matrix} over ``images``
    (``(name, image, label)``), each image run once per condition in one batched call."""
    n = parser.num_classes
    sums = {('clean', 0): np.zeros((n, n), np.int64)}
    sums.update({c: np.zeros((n, n), np.int64) for c in conditions})
    count = 0
    for name, img, label in images:
        key = image_key(name)
        variants = [img] + [corrupt(img, c, s, key) for c, s in conditions]
        for cond, pred in zip(sums, parser(variants)):
            sums[cond] += confusion_matrix(pred, label, n)
        count += 1
        if progress:
            progress(count)
    if not count:
        raise FaceParseError('the split has no images')
    return dict(sums=sums, images=count)


def summarise(sums: dict, images: int, foreground=None) -> dict:
    """The table rows and the robustness summary of :func:`evaluate`'s counts."""
    clean = metrics_from_confusion(sums[('clean', 0)], foreground)
    rows = [dict(corruption='clean', severity=0, images=images, mF1=clean['mF1'],
                 mIoU=clean['mIoU'], relative=1.0)]
    for (corruption, severity), conf in sums.items():
        if corruption == 'clean':
            continue
        m = metrics_from_confusion(conf, foreground)
        rows.append(dict(corruption=corruption, severity=severity, images=images, mF1=m['mF1'],
                         mIoU=m['mIoU'], relative=m['mF1'] / clean['mF1']))
    corrupted = [r for r in rows if r['corruption'] != 'clean']
    summary = dict(clean_mF1=clean['mF1'])
    if corrupted:
        mean = float(np.mean([r['mF1'] for r in corrupted]))
        summary.update(mean_corruption_mF1=mean, relative=mean / clean['mF1'],
                       per_corruption={c: float(np.mean([r['mF1'] for r in corrupted
                                                         if r['corruption'] == c]))
                                       for c in dict.fromkeys(r['corruption'] for r in corrupted)})
        rows.append(dict(corruption='mean', severity=None, images=images, mF1=mean,
                         mIoU=float(np.mean([r['mIoU'] for r in corrupted])),
                         relative=mean / clean['mF1']))
    return dict(rows=rows, summary=summary)


def plot(rows: list[dict], summary: dict, title: str, path: str) -> str:
    """A heatmap of mF1 per corruption (rows) and severity (columns), written atomically."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    cells = [r for r in rows if r['corruption'] not in ('clean', 'mean')]
    names = list(dict.fromkeys(r['corruption'] for r in cells))
    levels = sorted({r['severity'] for r in cells})
    grid = np.full((len(names), len(levels)), np.nan)
    for r in cells:
        grid[names.index(r['corruption']), levels.index(r['severity'])] = r['mF1']
    fig, ax = plt.subplots(figsize=(1.1 * len(levels) + 3, 0.5 * len(names) + 1.8))
    im = ax.imshow(grid, vmin=0, vmax=max(summary['clean_mF1'], 1), cmap='viridis',
                   aspect='auto')
    for (i, j), v in np.ndenumerate(grid):
        if np.isfinite(v):
            ax.text(j, i, f'{v:.1f}', ha='center', va='center', fontsize=8,
                    color='w' if v < 0.6 * summary['clean_mF1'] else 'k')
    ax.set_xticks(range(len(levels)), [str(s) for s in levels])
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel('severity')
    fig.colorbar(im, ax=ax, label='mF1 (%)')
    rel = summary.get('relative')
    ax.set_title(f'{title}\nclean mF1 {summary["clean_mF1"]:.2f}'
                 + (f', mean corrupted {summary["mean_corruption_mF1"]:.2f} ({rel:.2f} of clean)'
                    if rel is not None else ''), fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format='png')
    plt.close(fig)
    return path


def _rounded(row: dict) -> dict:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--corruptions', nargs='+', default=None,
                        help='default: all (gaussian_noise motion_blur defocus_blur jpeg '
                             'low_light contrast occlusion)')
    parser.add_argument('--severities', nargs='+', type=int, default=list(SEVERITIES))
    parser.add_argument('--split', default='test')
    parser.add_argument('--limit', type=int, default=None, help='only the first N images')
    parser.add_argument('--tta', action='store_true', help='flip test-time augmentation')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--work-dir', default=None,
                        help='default: work_dirs/robustness/<config name>')
    parser.add_argument('--out', default=None, help='merge the rows into this CSV')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config, key=value; keys must exist')
    args = parser.parse_args(argv)
    if MISSING:
        print(f'error: the corruptions need albumentations: {MISSING}', file=sys.stderr)
        sys.exit(2)
    corruptions = args.corruptions or list(CORRUPTIONS)
    unknown = [c for c in corruptions if c not in CORRUPTIONS]
    if unknown:
        parser.error(f'unknown corruptions {unknown}; known: {", ".join(CORRUPTIONS)}')
    bad = [s for s in args.severities if s not in SEVERITIES]
    if bad:
        parser.error(f'severities must be among {list(SEVERITIES)}, got {bad}')
    if args.limit is not None and args.limit < 1:
        parser.error('--limit must be positive')
    name = osp.splitext(osp.basename(args.config))[0]
    work_dir = args.work_dir or osp.join('work_dirs', 'robustness', name)
    conditions = [(c, s) for c in corruptions for s in sorted(set(args.severities))]
    with cli_errors(checkpoint=args.checkpoint):
        cfg = load_config(args.config, args.cfg_options)
        face_parser = FaceParser(cfg, args.checkpoint, device=args.device, tta=args.tta,
                                 batch_size=args.batch_size)
        start = time.perf_counter()

        def progress(done):
            if done % 20 == 0:
                print(f'{done} images ({time.perf_counter() - start:.0f} s)', flush=True)
        counts = evaluate(face_parser, split_images(cfg, args.split, args.limit), conditions,
                          progress=progress)
    result = summarise(counts['sums'], counts['images'])
    command = recorded_command('tools/analysis/robustness.py',
                               argv if argv is not None else sys.argv[1:])
    provenance = dict(config=args.config, checkpoint=repo_relative(args.checkpoint),
                      split=args.split,
                      tta=args.tta, commit=git_commit(ROOT),
                      date=datetime.datetime.now().isoformat(timespec='seconds'),
                      command=command)
    write_json_atomic(osp.join(work_dir, 'robustness.json'),
                      dict(provenance, summary=result['summary'], rows=result['rows']))
    png = plot(result['rows'], result['summary'], f'{arch_name(args.config)} ({args.split})',
               osp.join(work_dir, 'robustness.png'))
    print(f'{"corruption":<16} {"severity":>8} {"mF1":>7} {"relative":>9}')
    for r in result['rows']:
        sev = '' if r['severity'] is None else r['severity']
        print(f'{r["corruption"]:<16} {sev!s:>8} {r["mF1"]:7.2f} {r["relative"]:9.3f}')
    s = result['summary']
    if 'relative' in s:
        print(f'robustness: mean corruption mF1 {s["mean_corruption_mF1"]:.2f} = '
              f'{s["relative"]:.3f} of clean {s["clean_mF1"]:.2f} ({counts["images"]} images)')
    print(f'-> {osp.join(work_dir, "robustness.json")}, {png}')
    if args.out:
        rows = [_rounded(dict(r, config=args.config, architecture=arch_name(args.config),
                              checkpoint=repo_relative(args.checkpoint),
                              commit=provenance['commit'],
                              date=provenance['date'], command=command))
                for r in result['rows']]
        kept = [r for r in read_csv(args.out) if r.get('config') != args.config]
        write_csv(kept + rows, args.out, base_columns=COLUMNS)
        print(f'{len(rows)} rows -> {args.out}')


if __name__ == '__main__':
    main()
