"""Train, test and benchmark the zoo under one profile; every finished config becomes its row.

    python tools/run_zoo.py --profile demo|full [CONFIG ...] [--dataset NAME] [--seeds K]
        [--force] [--gpus N]
        [--launcher none|pytorch|slurm] [--work-root work_dirs/zoo] [--out CSV]
        [--cfg-options k=v ...] [--bench-repeats N] [--bench-modes M,M] [--device cpu|cuda]
    python tools/run_zoo.py --bench-only [CONFIG ...] [--out results/zoo_benchmark.csv]

CONFIG defaults to every ``configs/*_celebamask.py``.

``demo``: each ``configs/NAME_celebamask.py`` runs as ``configs/demo/NAME_demo.py`` (generated
faces, CPU schedule), benchmarked at 128x128; rows go to ``results/zoo_demo.csv`` and each run's
training scalars (loss, lr, a few KB) to ``results/curves/NAME_demo.json``, so the notebook draws
the curves on a fresh clone. ``full``: the config as given (the real protocol), benchmarked at
512x512, rows in ``results/zoo_full.csv``. Each run lives in ``WORK_ROOT/PROFILE/<config name>/``
(logs, checkpoints, ``test_metrics.json``, ``benchmark.json``, ``zoo_run.json``).

Rows are merged into the CSV keyed by config as soon as a config is done: a re-run replaces only
that config's row. Each row keeps the commit, date, device and the command that reproduces it.

Stop and restart: a config whose ``test_metrics.json`` is complete (it names its checkpoint and
holds metrics) is skipped unless ``--force`` (which removes its run directory and starts over);
one stopped during training resumes from its last checkpoint (``tools/train.py --resume``). The
test uses the best checkpoint on val (``best_*.pth``, the protocol's model selection) when
training saved one, else the last one.

``--gpus N`` (N > 1) trains with ``tools/dist_train.sh CONFIG N`` and tests with
``tools/dist_test.sh``; ``--launcher slurm`` passes the launcher to train.py/test.py (run
run_zoo itself under ``srun``). ``--cfg-options`` go to both train and test (e.g.
``train_cfg.max_iters=2`` for a smoke run) and are part of the recorded command.

``--dataset NAME`` (default ``celebamask_hq``, the protocol) runs every config on another
dataset base, ``configs/_base_/datasets/NAME.py`` (``NAME_demo.py`` for the demo profile), e.g.
``lapa``: each config is first derived (``tools/derive_config.py``: the dataset base swapped,
every head set to the dataset's classes) into ``WORK_ROOT/derived/``, and that config runs as
above (``WORK_ROOT/PROFILE/NAME_lapa[_demo]/``). Its row goes to the same CSV keyed by the
source config and the ``dataset`` column, beside the CelebAMask-HQ row of that config.

``--seeds K``: K runs of each config, the first at the config's own ``randomness.seed`` (the
work dir and row a single run has), then seed + 1, ..., seed + K - 1 (``--cfg-options
randomness.seed=S`` for train and test, in ``WORK_ROOT/PROFILE/<config name>-seedS/``). Each run
is a CSV row; an extra seed's row names its ``seed`` (empty: the config's own). The generated
faces are the same for every seed: what varies is the initialisation, the sampling order and the
augmentation. ``make_leaderboard.py`` shows mean +- std over the runs of a config.

``--bench-only``: one ``tools/analysis/benchmark.py`` run over all the configs at 512x512 (so that
latency ratios are comparable), always including the reference ``bisenetv1-fp``; rows merged
into ``results/zoo_benchmark.csv`` with the machine (CPU/GPU name, threads, torch) and each
config's latency relative to the reference in the same run.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import os.path as osp
import re
import shlex
import shutil
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

from mmengine.config import Config  # noqa: E402

from faceparse_mm.errors import UserError  # noqa: E402
from faceparse_mm.utils.derive_config import write_derived_config  # noqa: E402
from faceparse_mm.utils.io import write_json_atomic  # noqa: E402
from tools.analysis.collect_results import RUN_INFO, arch_info, collect_row, write_csv  # noqa: E402

PROFILES = dict(demo=dict(shape=(128, 128), batch=8), full=dict(shape=(512, 512), batch=8))
REFERENCE = 'configs/bisenetv1-fp_celebamask.py'
BENCH_COLUMNS = ['config', 'architecture', 'family', 'params', 'params_inference', 'gmacs',
                 'gmacs_min', 'gmacs_max', 'cost_images', 'latency_eager_ms', 'latency_best_ms',
                 'best_mode', 'latency_vs_reference',
                 'reference', 'shape', 'device', 'device_name', 'torch_threads', 'torch',
                 'commit', 'date', 'command']


#: the protocol's dataset base: configs run as they are
SOURCE_DATASET = 'celebamask_hq'


def dataset_names() -> list[str]:
    """The dataset bases ``--dataset`` accepts: ``configs/_base_/datasets/NAME.py``, except
    those that say ``derivable = False`` (face clips: a video dataset, not for image configs)."""
    found = glob.glob(osp.join(ROOT, 'configs', '_base_', 'datasets', '*.py'))
    names = []
    for path in found:
        with open(path) as f:
            refused = re.search(r'^derivable\s*=\s*False\b', f.read(), re.M)
        if not path.endswith('_demo.py') and not refused:
            names.append(osp.splitext(osp.basename(path))[0])
    return sorted(names)


def zoo_configs() -> list[str]:
    """Every user-facing config, ``configs/*_celebamask.py``, relative to the repository."""
    found = glob.glob(osp.join(ROOT, 'configs', '*_celebamask.py'))
    return sorted(osp.relpath(p, ROOT) for p in found)


def arch_name(config: str) -> str:
    """``configs/NAME_celebamask.py``, ``configs/NAME_facevideo.py`` (video models, on face
    clips) or ``configs/demo/NAME_demo.py`` -> ``NAME``."""
    stem = osp.splitext(osp.basename(config))[0]
    for suffix in ('_celebamask', '_facevideo', '_demo'):  # _facevideo: video models on clips
        if stem.endswith(suffix):
            return stem[:-len(suffix)]
    return stem


def demo_config(config: str) -> str:
    """configs/NAME_celebamask.py -> configs/demo/NAME_demo.py (demo configs pass through)."""
    if osp.basename(config).endswith('_demo.py'):
        return config
    candidate = osp.join(osp.dirname(config), 'demo', f'{arch_name(config)}_demo.py')
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


def is_complete(work_dir: str) -> bool:
    """A finished run: ``test_metrics.json`` names its checkpoint and holds metrics."""
    try:
        with open(osp.join(work_dir, 'test_metrics.json')) as f:
            record = json.load(f)
    except (OSError, ValueError):
        return False
    return bool(record.get('checkpoint')) and bool(record.get('metrics'))


def run(args: list[str], python: bool = True):
    print('+', ' '.join(args), flush=True)
    env = dict(os.environ, PYTHON=sys.executable)  # the interpreter tools/dist_*.sh use
    proc = subprocess.run([sys.executable, *args] if python else args, cwd=ROOT, env=env)
    if proc.returncode != 0:
        raise SystemExit(f'error: {" ".join(args[:2])} failed with status {proc.returncode}')


def train_cmd(cfg: str, work_dir: str, extra: list[str], gpus: int, launcher: str,
              resume: bool) -> tuple[list[str], bool]:
    tail = ['--work-dir', work_dir, *(['--resume'] if resume else []), *extra]
    if gpus > 1:
        return ['bash', 'tools/dist_train.sh', cfg, str(gpus), *tail], False
    launch = ['--launcher', launcher] if launcher != 'none' else []
    return ['tools/train.py', cfg, *tail, *launch], True


def test_cmd(cfg: str, checkpoint: str, work_dir: str, extra: list[str], gpus: int,
             launcher: str) -> tuple[list[str], bool]:
    tail = ['--work-dir', work_dir, *extra]
    if gpus > 1:
        return ['bash', 'tools/dist_test.sh', cfg, checkpoint, str(gpus), *tail], False
    return ['tools/test.py', cfg, checkpoint, *tail,
            *(['--launcher', launcher] if launcher != 'none' else [])], True


def save_curves(work_dir: str, out: str) -> str | None:
    """Copy the run's training scalars (mmengine's ``vis_data/scalars.json``: loss, lr, ...)
    to ``out`` as one JSON list; None when the run logged none."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')), key=osp.getmtime)
    if not files:
        return None
    with open(files[-1]) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    keep = ('step', 'loss', 'lr', 'mF1', 'mIoU')
    slim = [{k: r[k] for k in keep if k in r} for r in rows]
    write_json_atomic(out, slim)
    return out


def extra_seeds(config: str, seeds: int, cfg_options=()) -> list[int | None]:
    """The runs of ``config`` for ``--seeds``: ``None`` (the config as it is, at its own
    ``randomness.seed``), then ``seeds - 1`` extra seeds, the config's seed + 1, + 2, ..."""
    if seeds < 1:
        raise SystemExit(f'error: --seeds must be at least 1, got {seeds}')
    if seeds == 1:
        return [None]
    if any(str(o).startswith('randomness.seed=') for o in cfg_options):
        raise SystemExit('error: --seeds sets randomness.seed for each run; do not also pass it '
                         'in --cfg-options')
    path = config if osp.isfile(config) else osp.join(ROOT, config)
    base = (Config.fromfile(path, import_custom_modules=False).get('randomness') or {}).get(
        'seed')
    base = 0 if base is None else int(base)
    return [None] + [base + k for k in range(1, seeds)]


def row_command(profile: str, config: str, args) -> str:
    parts = ['python', 'tools/run_zoo.py', '--profile', profile, config]
    if getattr(args, 'seeds', 1) > 1:
        parts += ['--seeds', str(args.seeds)]
    if getattr(args, 'dataset', SOURCE_DATASET) != SOURCE_DATASET:
        parts += ['--dataset', args.dataset]
    if args.gpus > 1:
        parts += ['--gpus', str(args.gpus)]
    if args.cfg_options:
        parts += ['--cfg-options', *args.cfg_options]
    return ' '.join(shlex.quote(p) for p in parts)


def run_profile(args) -> None:
    profile = PROFILES[args.profile]
    extra = ['--cfg-options', *args.cfg_options] if args.cfg_options else []
    out = args.out or osp.join('results', f'zoo_{args.profile}.csv')
    start, done = time.time(), 0
    for config in args.configs:
        cfg = demo_config(config) if args.profile == 'demo' else config
        if args.dataset != SOURCE_DATASET:  # the same config on another dataset base
            try:
                derived = write_derived_config(osp.join(ROOT, cfg), args.dataset,
                                               osp.join(ROOT, args.work_root, 'derived'))
            except UserError as err:
                raise SystemExit(f'error: {err}') from None
            cfg = osp.join(args.work_root, 'derived', osp.basename(derived))
        for seed in extra_seeds(cfg, args.seeds, args.cfg_options):
            # the config's own seed runs as it always did; each extra seed is a run of its own
            name = osp.splitext(osp.basename(cfg))[0] + ('' if seed is None else f'-seed{seed}')
            run_extra = extra if seed is None else [
                '--cfg-options', *args.cfg_options, f'randomness.seed={seed}']
            work_dir = osp.join(args.work_root, args.profile, name)
            abs_work_dir = osp.join(ROOT, work_dir)
            if is_complete(abs_work_dir) and not args.force:
                print(f'= {cfg}: complete in {work_dir}, skipped (--force runs it again)',
                      flush=True)
            else:
                if osp.isdir(abs_work_dir) and args.force:
                    shutil.rmtree(abs_work_dir)
                resume = osp.isfile(osp.join(abs_work_dir, 'last_checkpoint'))
                run(*train_cmd(cfg, work_dir, run_extra, args.gpus, args.launcher, resume))
                checkpoint = checkpoint_to_test(abs_work_dir)
                run(*test_cmd(cfg, checkpoint, work_dir, run_extra, args.gpus, args.launcher))
                modes = ['--modes', args.bench_modes] if args.bench_modes else []
                run(['tools/analysis/benchmark.py', cfg, '--shape', *map(str, profile['shape']),
                     '--batch', str(profile['batch']), '--repeats', str(args.bench_repeats),
                     '--device', args.device, *modes,
                     '--out', osp.join(work_dir, 'benchmark.json')])
                info = dict(command=row_command(args.profile, config, args))
                if seed is not None:
                    info['seed'] = seed
                write_json_atomic(osp.join(abs_work_dir, RUN_INFO), info)
                done += 1
            if args.profile == 'demo' and args.curves:
                save_curves(abs_work_dir, osp.join(ROOT, args.curves, f'{name}.json'))
            row = collect_row(abs_work_dir)  # read where the run is, from any folder
            row['work_dir'] = work_dir  # named as the command names it
            write_csv([row], osp.join(ROOT, out), merge=True)
    runs = len(args.configs) * args.seeds
    print(f'zoo ({args.profile}): {len(args.configs)} configs ({done} run, '
          f'{runs - done} already complete) in {(time.time() - start) / 60:.1f} min '
          f'-> {out}')


def bench_rows(report: dict, command: str) -> list[dict]:
    """One ``results/zoo_benchmark.csv`` row per config of one benchmark.py report."""
    env = report['environment']
    results = report['results']
    ref = next((r for r in results if r['config'] == REFERENCE and 'latency_ms' in r), None)
    rows = []
    for r in results:
        eager = (r['modes'].get('eager') or {}).get('latency', {}).get('median_ms')
        best = r.get('latency_ms')
        spread = r.get('flops_range') or {}  # a model whose cost depends on the image
        rows.append(dict(
            config=r['config'], architecture=arch_name(r['config']),
            family=arch_info(r['config']).get('family'), params=r['params'],
            params_inference=r['params_inference'], gmacs=round(r['flops'] / 1e9, 3),
            gmacs_min=round(spread['min'] / 1e9, 3) if spread else None,
            gmacs_max=round(spread['max'] / 1e9, 3) if spread else None,
            cost_images=spread.get('images'),
            latency_eager_ms=None if eager is None else round(eager, 2),
            latency_best_ms=None if best is None else round(best, 2),
            best_mode=r.get('best_mode'),
            latency_vs_reference=(round(best / ref['latency_ms'], 3)
                                  if ref and best is not None else None),
            reference=REFERENCE if ref else None, shape='x'.join(map(str, r['shape'])),
            device=env['device'], device_name=env['device_name'],
            torch_threads=env['torch_threads'], torch=env['torch'], commit=env['commit'],
            date=env['date'], command=command))
    return rows


def run_bench_only(args) -> None:
    configs = list(args.configs)
    if REFERENCE not in configs:
        configs.append(REFERENCE)  # every latency is also given relative to the reference
    out = args.out or osp.join('results', 'zoo_benchmark.csv')
    report_path = osp.join(args.work_root, 'benchmark', 'benchmark.json')
    modes = ['--modes', args.bench_modes] if args.bench_modes else []
    run(['tools/analysis/benchmark.py', *configs, '--shape', '512', '512', '--batch', '1',
         '--repeats', str(args.bench_repeats), '--device', args.device, *modes,
         '--out', report_path])
    with open(osp.join(ROOT, report_path)) as f:
        report = json.load(f)
    command = ' '.join(shlex.quote(p) for p in [
        'python', 'tools/run_zoo.py', '--bench-only', *args.configs,
        '--bench-repeats', str(args.bench_repeats), '--device', args.device, *modes])
    rows = write_csv(bench_rows(report, command), osp.join(ROOT, out), merge=True,
                     base_columns=BENCH_COLUMNS)
    print(f'benchmark: {len(configs)} configs -> {out} ({len(rows)} rows)')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('configs', nargs='*', help='default: every configs/*_celebamask.py')
    parser.add_argument('--profile', choices=sorted(PROFILES))
    parser.add_argument('--dataset', default=SOURCE_DATASET, choices=dataset_names(),
                        help='the dataset base the configs run on (configs/_base_/datasets/); '
                             'another than celebamask_hq derives each config for it first')
    parser.add_argument('--bench-only', action='store_true',
                        help='benchmark the configs at 512x512 in one run, no training')
    parser.add_argument('--seeds', type=int, default=1, metavar='K',
                        help='K runs per config: its own seed, then seed+1 ... seed+K-1 (one CSV '
                             'row each, in WORK_DIR-seedS; the leaderboard shows mean +- std)')
    parser.add_argument('--force', action='store_true',
                        help='run complete configs again, from scratch')
    parser.add_argument('--gpus', type=int, default=1,
                        help='GPUs per run; more than 1 uses tools/dist_train.sh / dist_test.sh')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none',
                        help='passed to train.py and test.py (slurm: run this under srun)')
    parser.add_argument('--work-root', default='work_dirs/zoo')
    parser.add_argument('--out', default=None)
    parser.add_argument('--curves', default='results/curves',
                        help='demo profile: where training scalars are copied ("" to skip)')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='passed to train.py and test.py')
    parser.add_argument('--bench-repeats', type=int, default=10)
    parser.add_argument('--bench-modes', default=None,
                        help='benchmark.py --modes (default: all of its modes)')
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'],
                        help='device for the benchmark')
    args = parser.parse_args(argv)
    if bool(args.profile) == args.bench_only:
        parser.error('give --profile demo|full or --bench-only')
    if args.bench_only and args.dataset != SOURCE_DATASET:
        parser.error('--dataset applies to --profile runs (--bench-only measures the configs '
                     'as they are)')
    args.configs = args.configs or zoo_configs()
    if args.bench_only:
        run_bench_only(args)
    else:
        run_profile(args)


if __name__ == '__main__':
    main()
