"""The README's main command (``make demo``): train a face parser on generated faces on the CPU,
evaluate it on the held-out synthetic test split, draw overlays and say where everything is.

    python tools/demo.py [--config configs/demo/bisenetv1_demo.py] [--cfg-options k=v ...]
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def run(args):
    print('+', ' '.join(args), flush=True)
    proc = subprocess.run([sys.executable, *args], cwd=ROOT)
    if proc.returncode != 0:
        sys.exit(proc.returncode)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--config', default='configs/demo/bisenetv1_demo.py')
    parser.add_argument('--work-dir', default=None)
    parser.add_argument('--cfg-options', nargs='+', default=[])
    args = parser.parse_args()
    name = osp.splitext(osp.basename(args.config))[0]
    work_dir = args.work_dir or osp.join('work_dirs', name)
    extra = ['--cfg-options', *args.cfg_options] if args.cfg_options else []
    start = time.time()
    run(['tools/train.py', args.config, '--work-dir', work_dir, *extra])
    train_s = time.time() - start
    with open(osp.join(ROOT, work_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    overlays = osp.join(work_dir, 'overlays')
    run(['tools/test.py', args.config, checkpoint, '--work-dir', work_dir,
         '--show-dir', overlays, *extra])
    total_s = time.time() - start
    with open(osp.join(ROOT, work_dir, 'test_metrics.json')) as f:
        metrics = json.load(f)['metrics']
    images = sorted(
        osp.join(dp, fn) for dp, _, fns in os.walk(osp.join(ROOT, overlays)) for fn in fns
        if fn.endswith('.png'))
    print('\n== demo finished ==')
    print(f"synthetic test split: mF1 {metrics['mF1']:.2f}  mIoU {metrics['mIoU']:.2f}  "
          f"mAcc {metrics['mAcc']:.2f}  aAcc {metrics['aAcc']:.2f}")
    print(f'time: training {train_s / 60:.1f} min, total {total_s / 60:.1f} min')
    print(f'logs and checkpoints: {work_dir}/')
    print(f'test metrics (json):  {work_dir}/test_metrics.json')
    shown = osp.relpath(checkpoint, ROOT) if osp.isabs(checkpoint) else checkpoint
    print(f'checkpoint:           {shown}')
    if images:
        print(f'overlays ({len(images)}, image | ground truth | prediction): '
              f'{osp.relpath(osp.dirname(images[0]), ROOT)}/')


if __name__ == '__main__':
    main()
