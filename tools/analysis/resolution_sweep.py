"""What does a smaller input cost in accuracy, and what does it save in time?

    python tools/analysis/resolution_sweep.py CONFIG CHECKPOINT --sizes 256 384 512
        [--split test] [--limit N] [--device cpu] [--batch-size 4] [--repeats 10] [--warmup 2]
        [--work-dir D] [--out results/NAME.csv] [--cfg-options k=v ...]

The same model at several input sizes: every image of the split (loaded as the test pipeline
loads it, at the label's size: 512 for CelebAMask-HQ) is resized to S x S (area when shrinking,
bilinear when enlarging, as ``FaceParser``), parsed, and its class probabilities resized back to
the label's size (bilinear, as mmseg's ``predict`` resizes logits to the original shape) before
the argmax; the labels are never resized, so every size is scored at the label resolution with
the protocol's metric. Latency: the model's ``encode_decode`` on one S x S input (batch 1, eval
mode, random input; median of ``--repeats`` runs after ``--warmup``), as
``tools/analysis/benchmark.py`` times the eager mode.

Writes ``WORK_DIR/resolution_sweep.json`` (default ``work_dirs/resolution_sweep/<config name>/``)
and prints one line per size; ``--out`` merges one row per size into a CSV, replacing the
config's earlier rows.
"""
from __future__ import annotations

import argparse
import datetime
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from mmengine.config import DictAction  # noqa: E402

import faceparse_mm  # noqa: E402,F401
from faceparse_mm.apis import FaceParser, resize_image  # noqa: E402
from faceparse_mm.apis.split_eval import split_images  # noqa: E402
from faceparse_mm.errors import FaceParseError  # noqa: E402
from faceparse_mm.evaluation import confusion_matrix, metrics_from_confusion  # noqa: E402
from faceparse_mm.utils.cli import cli_errors, load_config  # noqa: E402
from faceparse_mm.utils.io import write_json_atomic  # noqa: E402
from faceparse_mm.utils.results import (  # noqa: E402
    git_commit,
    recorded_command,
    repo_relative,
)
from tools.analysis.benchmark import InferenceModule, summarise, time_runs  # noqa: E402
from tools.analysis.collect_results import read_csv, write_csv  # noqa: E402
from tools.run_zoo import arch_name  # noqa: E402

COLUMNS = ['config', 'architecture', 'size', 'label_size', 'images', 'mF1', 'mIoU',
           'latency_ms', 'checkpoint', 'device', 'commit', 'date', 'command']


def predict_at(parser: FaceParser, images: list[np.ndarray], size: int) -> list[np.ndarray]:
    """Labels at each image's own size for ``images`` run at ``size`` x ``size``: probabilities
    resized back bilinearly, then the argmax."""
    parser.input_size = (size, size)
    small = [resize_image(img, (size, size)) for img in images]
    out = []
    for img, (_, probs) in zip(images, parser(small, return_probs=True)):
        p = torch.from_numpy(probs)[None]
        if tuple(p.shape[-2:]) != img.shape[:2]:
            p = F.interpolate(p, size=img.shape[:2], mode='bilinear', align_corners=False)
        out.append(p[0].argmax(0).numpy())
    return out


def sweep(parser: FaceParser, images, sizes: list[int], chunk: int = 4) -> dict:
    """{size: summed confusion matrix} over ``images`` (``(name, image, label)``), and the
    label sizes seen."""
    n = parser.num_classes
    sums = {s: np.zeros((n, n), np.int64) for s in sizes}
    label_sizes, count, batch = set(), 0, []

    def flush():
        for s in sizes:
            preds = predict_at(parser, [img for img, _ in batch], s)
            for pred, (_, label) in zip(preds, batch):
                sums[s] += confusion_matrix(pred, label, n)
        batch.clear()
    for _, img, label in images:
        label_sizes.add(label.shape[:2])
        batch.append((img, label))
        count += 1
        if len(batch) == chunk:
            flush()
    if batch:
        flush()
    if not count:
        raise FaceParseError('the split has no images')
    return dict(sums=sums, images=count, label_sizes=sorted(label_sizes))


def latency_ms(parser: FaceParser, size: int, repeats: int, warmup: int) -> float:
    """Median eager latency of the model's ``encode_decode`` on one ``size`` x ``size`` input."""
    module = InferenceModule(parser.model).eval()
    x = torch.randn(1, 3, size, size, device=parser.device)
    return summarise(time_runs(module, x, warmup, repeats, parser.device))['median_ms']


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--sizes', nargs='+', type=int, required=True,
                        help='input sizes S (S x S), e.g. 256 384 512')
    parser.add_argument('--split', default='test')
    parser.add_argument('--limit', type=int, default=None, help='only the first N images')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--repeats', type=int, default=10, help='timed runs per size')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--work-dir', default=None,
                        help='default: work_dirs/resolution_sweep/<config name>')
    parser.add_argument('--out', default=None, help='merge the rows into this CSV')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config, key=value; keys must exist')
    args = parser.parse_args(argv)
    if any(s < 8 for s in args.sizes):
        parser.error(f'--sizes must be at least 8 pixels, got {args.sizes}')
    if args.repeats < 1 or args.warmup < 0 or (args.limit is not None and args.limit < 1):
        parser.error('--repeats and --limit must be positive, --warmup not negative')
    sizes = sorted(set(args.sizes))
    name = osp.splitext(osp.basename(args.config))[0]
    work_dir = args.work_dir or osp.join('work_dirs', 'resolution_sweep', name)
    with cli_errors(checkpoint=args.checkpoint):
        cfg = load_config(args.config, args.cfg_options)
        face_parser = FaceParser(cfg, args.checkpoint, device=args.device,
                                 batch_size=args.batch_size)
        result = sweep(face_parser, split_images(cfg, args.split, args.limit), sizes,
                       chunk=args.batch_size)
        times = {s: latency_ms(face_parser, s, args.repeats, args.warmup) for s in sizes}
    label = 'x'.join(str(v) for v in result['label_sizes'][0]) if len(
        result['label_sizes']) == 1 else 'mixed'
    command = recorded_command('tools/analysis/resolution_sweep.py',
                               argv if argv is not None else sys.argv[1:])
    stamp = dict(commit=git_commit(ROOT),
                 date=datetime.datetime.now().isoformat(timespec='seconds'))
    rows = []
    for s in sizes:
        m = metrics_from_confusion(result['sums'][s])
        rows.append(dict(config=args.config, architecture=arch_name(args.config), size=s,
                         label_size=label, images=result['images'], mF1=round(m['mF1'], 4),
                         mIoU=round(m['mIoU'], 4), latency_ms=round(times[s], 3),
                         checkpoint=repo_relative(args.checkpoint),
                         device=str(face_parser.device),
                         command=command, **stamp))
    write_json_atomic(osp.join(work_dir, 'resolution_sweep.json'),
                      dict(config=args.config, checkpoint=repo_relative(args.checkpoint),
                           split=args.split,
                           repeats=args.repeats, rows=rows, **stamp))
    print(f'{"size":>6} {"mF1":>7} {"mIoU":>7} {"latency ms":>11}   (labels at {label}, '
          f'{result["images"]} images)')
    for r in rows:
        print(f'{r["size"]:>6} {r["mF1"]:7.2f} {r["mIoU"]:7.2f} {r["latency_ms"]:11.2f}')
    print(f'-> {osp.join(work_dir, "resolution_sweep.json")}')
    if args.out:
        kept = [r for r in read_csv(args.out) if r.get('config') != args.config]
        write_csv(kept + rows, args.out, base_columns=COLUMNS)
        print(f'{len(rows)} rows -> {args.out}')


if __name__ == '__main__':
    main()
