"""Data-side benchmarks (numbers for notes and docs, not tests).

    python tools/analysis/benchmark_data.py converter ROOT [--nproc N] [--limit K]
        Our converter vs the common sequential palette method on the same release tree.
    python tools/analysis/benchmark_data.py pipeline CONFIG [--split train|val|test] [--num K]
        [--data-root DIR]
        Images/s of a config's data pipeline in one process (= per dataloader worker).

The palette method, as widely copied CelebAMask-HQ preprocessing scripts do it: for every image,
for every part, ``PIL.Image.open(mask).convert('P')`` then ``label[mask == 225] = id`` into a
float array, then
``cv2.imwrite``, one image after another.
"""
import argparse
import os
import os.path as osp
import shutil
import sys
import tempfile
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import cv2  # noqa: E402
import numpy as np  # noqa: E402


def palette_method(root, out_dir, ids, size):
    from PIL import Image

    from faceparse_mm.datasets.class_table import PART_NAMES
    anno = osp.join(root, 'CelebAMask-HQ-mask-anno')
    os.makedirs(out_dir, exist_ok=True)
    for j in ids:
        mask = np.zeros(size)
        for label, part in enumerate(PART_NAMES, 1):
            path = osp.join(anno, str(j // 2000), f'{j:05d}_{part}.png')
            if os.path.exists(path):
                sep = np.array(Image.open(path).convert('P'))
                mask[sep == 225] = label
        cv2.imwrite(osp.join(out_dir, f'{j}.png'), mask)


def bench_converter(args):
    from faceparse_mm.datasets.celebamask_convert import (
        _detect_size,
        convert,
        scan_images,
        scan_masks,
    )
    root = args.root
    ids = sorted(scan_images(root))[:args.limit or None]
    size = _detect_size(scan_masks(root))
    with tempfile.TemporaryDirectory() as tmp:
        # ours, on a copy holding only the first --limit ids so both methods see the same work
        work = osp.join(tmp, 'release')
        os.makedirs(osp.join(work, 'CelebA-HQ-img'))
        for i in ids:
            os.symlink(osp.abspath(osp.join(root, 'CelebA-HQ-img', f'{i}.jpg')),
                       osp.join(work, 'CelebA-HQ-img', f'{i}.jpg'))
        os.symlink(osp.abspath(osp.join(root, 'CelebAMask-HQ-mask-anno')),
                   osp.join(work, 'CelebAMask-HQ-mask-anno'))
        t0 = time.perf_counter()
        palette_method(root, osp.join(tmp, 'palette'), ids, size)
        palette_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        convert(work, split='random', nproc=args.nproc, progress=False, log=lambda m: None)
        ours_s = time.perf_counter() - t0
        same = np.mean([np.array_equal(cv2.imread(osp.join(tmp, 'palette', f'{i}.png'), 0),
                                       cv2.imread(osp.join(work, 'mask', f'{i}.png'), 0))
                        for i in ids])
        shutil.rmtree(osp.join(work, 'mask'))
    n = len(ids)
    print(f'images: {n}, mask size {size[1]}x{size[0]}, cores {os.cpu_count()}')
    print(f'palette method (sequential):  {palette_s:7.2f} s  {n / palette_s:8.1f} images/s')
    print(f'ours (--nproc {args.nproc}):        {ours_s:7.2f} s  {n / ours_s:8.1f} images/s')
    print(f'speed-up: {palette_s / ours_s:.2f}x; identical label maps: {same * 100:.1f}%')


def bench_pipeline(args):
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import faceparse_mm  # noqa: F401
    from faceparse_mm.registry import DATASETS
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'faceparse_mm'))
    dataset_cfg = cfg[f'{args.split}_dataloader'].dataset
    if args.data_root:
        dataset_cfg.data_root = args.data_root
    dataset = DATASETS.build(dataset_cfg)
    n = min(args.num, len(dataset))
    for i in range(min(5, n)):  # warm-up (file cache, lazy init)
        dataset[i]
    t0 = time.perf_counter()
    for i in range(n):
        dataset[i % len(dataset)]
    s = time.perf_counter() - t0
    item = dataset[0]
    print(f'{args.config} [{args.split}]: {n} samples in {s:.2f} s = {n / s:.1f} images/s per '
          f'worker (1 thread); sample {tuple(item["inputs"].shape)}')


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='what', required=True)
    c = sub.add_parser('converter')
    c.add_argument('root')
    c.add_argument('--nproc', type=int, default=os.cpu_count() or 1)
    c.add_argument('--limit', type=int, default=0, help='first K images only (0: all)')
    p = sub.add_parser('pipeline')
    p.add_argument('config')
    p.add_argument('--split', default='train', choices=['train', 'val', 'test'])
    p.add_argument('--num', type=int, default=200)
    p.add_argument('--data-root', help="override the config's data_root")
    args = parser.parse_args()
    bench_converter(args) if args.what == 'converter' else bench_pipeline(args)


if __name__ == '__main__':
    main()
