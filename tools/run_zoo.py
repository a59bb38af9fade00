"""Train, test and benchmark a list of configs under one profile, then collect the results table.

    python tools/run_zoo.py --profile demo|full CONFIG [CONFIG ...]
        [--work-root work_dirs/zoo] [--out results/zoo_<profile>.csv] [--skip-train]
        [--cfg-options k=v ...] [--bench-repeats N] [--bench-modes M,M] [--device cpu|cuda]

``demo``: each ``configs/<arch>_celebamask.py`` runs as ``configs/demo/<arch>_demo.py`` (generated
faces, CPU schedule), benchmarked at 128x128. ``full``: the config as given (the real protocol),
benchmarked at 512x512. Each run goes to ``WORK_ROOT/<profile>/<config name>/`` with its logs,
checkpoints, ``test_metrics.json`` and ``benchmark.json``; the table is collected from there.
The test uses the best checkpoint on val (``best_*.pth``, the protocol's model selection) when
training saved one, else the last checkpoint. ``--cfg-options`` go to both train and test (e.g.
``train_cfg.max_iters=2`` for a smoke run).
"""
import argparse
import glob
import os
import os.path as osp
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PROFILES = dict(demo=dict(shape=(128, 128), batch=8), full=dict(shape=(512, 512), batch=8))


def demo_config(config: str) -> str:
    """configs/<arch>_celebamask.py -> configs/demo/<arch>_demo.py (demo configs pass through)."""
    name = osp.basename(config)
    if name.endswith('_demo.py'):
        return config
    arch = name.replace('_celebamask.py', '')
    candidate = osp.join(osp.dirname(config), 'demo', f'{arch}_demo.py')
    if osp.isfile(osp.join(ROOT, candidate)) or osp.isfile(candidate):
        return candidate
    raise SystemExit(f'error: no demo variant of {config} (looked for {candidate})')


def checkpoint_to_test(work_dir: str) -> str:
    """The best checkpoint on val if training kept one, else the last one."""
    best = sorted(glob.glob(osp.join(work_dir, 'best_*.pth')), key=osp.getmtime)
    if best:
        return best[-1]
    last = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(last):
        raise SystemExit(f'error: no checkpoint in {work_dir} (train it first)')
    with open(last) as f:
        checkpoint = f.read().strip()
    return checkpoint if osp.isabs(checkpoint) else osp.join(ROOT, checkpoint)


def run(args):
    print('+', ' '.join(args), flush=True)
    proc = subprocess.run([sys.executable, *args], cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f'error: {" ".join(args[:2])} failed with status {proc.returncode}')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('configs', nargs='+')
    parser.add_argument('--profile', choices=sorted(PROFILES), required=True)
    parser.add_argument('--work-root', default='work_dirs/zoo')
    parser.add_argument('--out', default=None)
    parser.add_argument('--skip-train', action='store_true',
                        help='test and benchmark the existing checkpoints only')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='passed to train.py and test.py')
    parser.add_argument('--bench-repeats', type=int, default=10)
    parser.add_argument('--bench-modes', default=None,
                        help='benchmark.py --modes (default: all of its modes)')
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'],
                        help='device for the benchmark')
    args = parser.parse_args(argv)
    profile = PROFILES[args.profile]
    extra = ['--cfg-options', *args.cfg_options] if args.cfg_options else []
    work_dirs = []
    start = time.time()
    for config in args.configs:
        cfg = demo_config(config) if args.profile == 'demo' else config
        name = osp.splitext(osp.basename(cfg))[0]
        work_dir = osp.join(args.work_root, args.profile, name)
        work_dirs.append(work_dir)
        if not args.skip_train:
            run(['tools/train.py', cfg, '--work-dir', work_dir, *extra])
        checkpoint = checkpoint_to_test(osp.join(ROOT, work_dir))
        run(['tools/test.py', cfg, checkpoint, '--work-dir', work_dir, *extra])
        modes = ['--modes', args.bench_modes] if args.bench_modes else []
        run(['tools/analysis/benchmark.py', cfg, '--shape', *map(str, profile['shape']),
             '--batch', str(profile['batch']), '--repeats', str(args.bench_repeats),
             '--device', args.device, *modes, '--out', osp.join(work_dir, 'benchmark.json')])
    out = args.out or osp.join('results', f'zoo_{args.profile}.csv')
    run(['tools/analysis/collect_results.py', *work_dirs, '--out', out])
    print(f'zoo ({args.profile}): {len(work_dirs)} configs in {(time.time() - start) / 60:.1f} min '
          f'-> {out}')


if __name__ == '__main__':
    main()
