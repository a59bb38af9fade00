"""Convert the CelebAMask-HQ release: merged label maps ``ROOT/mask/{i}.png`` and ``ROOT/splits/``.

    python tools/dataset_converters/celebamask_hq.py ROOT [--split auto|official|random]
        [--val-ratio R] [--seed K] [--nproc N] [--skip-bad]

Idempotent and resumable: outputs newer than their inputs are kept; each file is written to a
temporary name and renamed.
"""
import argparse
import os
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from faceparse_mm.datasets.celebamask_convert import ConversionError, convert  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Convert CelebAMask-HQ for faceparse_mm')
    parser.add_argument('root', help='the release folder (holds CelebA-HQ-img/, '
                        'CelebAMask-HQ-mask-anno/, CelebA-HQ-to-CelebA-mapping.txt)')
    parser.add_argument('--split', default='auto', choices=['auto', 'official', 'random'],
                        help='official: CelebA partition (needs list_eval_partition.txt in ROOT); '
                        'random: seeded 9:1 train:test; auto: official when possible')
    parser.add_argument('--val-ratio', type=float, default=0.1,
                        help='random split: fraction of train carved out as val')
    parser.add_argument('--seed', type=int, default=0, help='random split seed')
    parser.add_argument('--nproc', type=int, default=os.cpu_count() or 1)
    parser.add_argument('--skip-bad', action='store_true',
                        help='skip images with unreadable or wrongly sized files, listing them '
                        'in splits/skipped.txt, instead of stopping')
    parser.add_argument('--no-progress', action='store_true')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    try:
        summary = convert(args.root, split=args.split, val_ratio=args.val_ratio, seed=args.seed,
                          nproc=args.nproc, skip_bad=args.skip_bad,
                          progress=not args.no_progress)
    except ConversionError as err:
        print(f'error: {err}', file=sys.stderr)
        sys.exit(2)
    seconds = time.perf_counter() - start
    print(f"{summary['images']} images ({summary['written']} written, {summary['up_to_date']} "
          f"up to date, {len(summary['skipped'])} skipped) in {seconds:.1f} s "
          f"({summary['images'] / max(seconds, 1e-9):.1f} images/s); split {summary['split']}: "
          + ', '.join(f'{k} {v}' for k, v in summary['counts'].items()))


if __name__ == '__main__':
    main()
