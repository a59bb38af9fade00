"""Where does a model fail on turned heads? mF1 per head-pose bucket, from saved test counts.

    python tools/analysis/pose_buckets.py RUN [RUN ...] [--pose-file FILE]
        [--yaw-edges 15 30 45] [--pitch-edges 15 30 45] [--out results/NAME.csv]

RUN is a run directory holding ``test_per_image.npz`` (``tools/test.py CONFIG CHECKPOINT
--per-image``) or the ``.npz``; nothing is run again. Each image goes to the bucket of its |yaw|
and of its |pitch| (``CelebAMask-HQ-pose-anno.txt``: ``--pose-file``, else the one beside the
run's image folder, as the release and the synthetic generator place it); a bucket's mF1 and
mIoU come from the confusion counts summed over its images, like the split's
(``faceparse_mm/evaluation/pose.py``). Buckets are right-open: edges 15 30 45 give 0-15, 15-30,
30-45 and >45 degrees. A run whose pose file is missing is said once and skipped.

``--out`` writes one row per run, axis and bucket (run, config, architecture, axis, bucket,
images, mF1, mIoU, commit, date); a rerun of a run replaces that run's rows, other runs' rows
stay.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

from faceparse_mm.errors import FaceDataError  # noqa: E402
from faceparse_mm.evaluation import metrics_from_confusion  # noqa: E402
from faceparse_mm.evaluation.per_image import load_per_image, run_label  # noqa: E402
from faceparse_mm.evaluation.pose import (  # noqa: E402
    DEFAULT_EDGES,
    pose_buckets,
    pose_file_for,
    read_pose_file,
)
from faceparse_mm.utils.results import git_commit, repo_relative  # noqa: E402
from tools.analysis.collect_results import read_csv, write_csv  # noqa: E402
from tools.run_zoo import arch_name  # noqa: E402

COLUMNS = ['run', 'config', 'architecture', 'axis', 'bucket', 'images', 'mF1', 'mIoU',
           'pose_file', 'commit', 'date']


def _config(npz_path: str) -> str | None:
    try:
        with open(osp.join(osp.dirname(npz_path), 'test_metrics.json')) as f:
            return json.load(f).get('config')
    except (OSError, ValueError):
        return None



def run_rows(run: str, pose_file: str | None, edges: dict, said: set) -> list[dict]:
    """The rows of one run; [] (said once per missing file) without a pose file."""
    data = load_per_image(run)
    path = pose_file or pose_file_for(str(data['names'][0]))
    if not osp.isfile(path):
        if path not in said:
            print(f'no head-pose file {path}: pose buckets skipped for the runs that need it')
            said.add(path)
        return []
    buckets, missing = pose_buckets(data['conf'], data['names'].tolist(), read_pose_file(path),
                                    edges)
    if missing:
        print(f'{run_label(data["path"])}: {missing} of {len(data["names"])} images have no '
              f'pose in {path}')
    config = _config(data['path'])
    label = run_label(data['path'])
    fg = data['foreground'].tolist()
    rows = []
    for b in buckets:
        m = metrics_from_confusion(b['conf'], fg) if b['images'] else {}
        # the architecture from the config the run names, else from the run's own name
        rows.append(dict(run=label, config=config,
                         architecture=arch_name(config or osp.basename(label)), axis=b['axis'],
                         bucket=b['bucket'], images=b['images'],
                         mF1=round(m['mF1'], 2) if m else None,
                         mIoU=round(m['mIoU'], 2) if m else None,
                         pose_file=repo_relative(osp.abspath(path))))
    return rows


def print_table(rows: list[dict]) -> None:
    for row in rows:
        mf1 = '' if row['mF1'] is None else f'{row["mF1"]:.2f}'
        print(f'{row["run"]:<40} {row["axis"]:<6} {row["bucket"]:>7} {row["images"]:>6} '
              f'{mf1:>7}')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('runs', nargs='+', help='run directories with test_per_image.npz')
    parser.add_argument('--pose-file', help='default: beside each run\'s image folder')
    parser.add_argument('--yaw-edges', type=float, nargs='+', default=list(DEFAULT_EDGES))
    parser.add_argument('--pitch-edges', type=float, nargs='+', default=list(DEFAULT_EDGES))
    parser.add_argument('--out', help='write the rows into this CSV (e.g. results/NAME.csv)')
    args = parser.parse_args(argv)
    edges = dict(yaw=args.yaw_edges, pitch=args.pitch_edges)
    for axis, values in edges.items():
        if any(v <= 0 for v in values) or values != sorted(set(values)):
            parser.error(f'--{axis}-edges must be increasing positive angles, got {values}')
    if args.pose_file and not osp.isfile(args.pose_file):
        print(f'error: pose file not found: {args.pose_file}', file=sys.stderr)
        sys.exit(2)
    said: set = set()
    rows = []
    try:
        for run in args.runs:
            rows += run_rows(run, args.pose_file, edges, said)
    except FaceDataError as err:
        print(f'error: {err}', file=sys.stderr)
        sys.exit(2)
    print(f'{"run":<40} {"axis":<6} {"bucket":>7} {"images":>6} {"mF1":>7}')
    print_table(rows)
    if args.out and rows:
        stamp = dict(commit=git_commit(ROOT),
                     date=datetime.datetime.now().isoformat(timespec='seconds'))
        done = {r['run'] for r in rows}
        kept = [r for r in read_csv(args.out) if r.get('run') not in done]
        new = [dict(r, **stamp) for r in rows]
        write_csv(kept + new, args.out, base_columns=COLUMNS)
        print(f'{len(rows)} rows -> {args.out}')


if __name__ == '__main__':
    main()
