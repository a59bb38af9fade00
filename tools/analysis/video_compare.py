"""TDNet against per-frame models on the same face clips: per-frame latency, mF1, flicker.

    python tools/analysis/video_compare.py --profile demo|full [--models a,b,...] [--force]
        [--work-root work_dirs/video_compare] [--out CSV] [--clip-frames T] [--clips R]
        [--shape H W] [--device cpu|cuda] [--cfg-options k=v ...]

Rows (``--models`` picks some; all by default):

- ``tdnet-td4-psp18``: ``configs/tdnet-td4-psp18_facevideo.py`` (``configs/demo/
  tdnet-td4-psp18_demo.py`` for the demo profile), trained on samples of 4 frames;
- ``pspnet-r18-d8``: PSPNet (``configs/pspnet-r50-d8_celebamask.py``'s head, auxiliary head and
  losses; the demo's for the demo profile) on exactly one TDNet sub-network's backbone (the
  authors' ResNet-18-D8, taken from the TDNet config), heads at 512 -> 128 and 256 -> 64: the
  same depth as TDNet's, run on every frame;
- ``bisenetv1``: ``configs/bisenetv1_celebamask.py`` (its demo), per frame.

The per-frame configs are derived onto the TDNet config's face clips (its train, val and test
datasets, single frames for training: ``num_frames=1``; FaceClipMetric) and its schedule (batch
size, iterations, learning-rate schedule: the same labelled frames per step, since a TDNet
sample is labelled on its last frame only; each model keeps its own optimizer), written to
``WORK_ROOT/PROFILE/derived/NAME.py``; each is trained with ``tools/train.py`` and tested with
``tools/test.py`` (the best checkpoint on val, else the last) in ``WORK_ROOT/PROFILE/NAME/``, a
finished one skipped unless ``--force``, a stopped one resumed. ``--cfg-options`` go to every
train and test run (``train_cfg.max_iters=2`` for a smoke run).

Latency: one process, after the trainings, every model built with random weights in eval mode
(nothing downloaded): ``--clips`` clips of ``--clip-frames`` random frames at ``--shape`` (512 x
512), batch 1, each frame timed through ``encode_decode`` (what ``predict`` runs, without the
data preprocessor); per-frame latency = the mean over a clip, the median over the clips (TDNet's
clip starts with a fresh stream: its first three frames propagate nothing), after one clip of
warm-up. ``bisenetv1-fp`` is timed in the same run as the zoo's latency reference
(``latency_vs_reference``). Rows go to ``results/video_compare_PROFILE.csv`` (merged by model)
and a markdown table to ``results/video_compare_PROFILE.md``.
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
import statistics
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

import torch  # noqa: E402
from mmengine.config import Config, ConfigDict  # noqa: E402

import faceparse_mm  # noqa: E402,F401
from faceparse_mm.utils.build import build_segmentor, count_params  # noqa: E402
from faceparse_mm.utils.io import write_json_atomic, write_text_atomic  # noqa: E402
from faceparse_mm.utils.results import git_commit, repo_relative  # noqa: E402
from tools.analysis.benchmark import cpu_name  # noqa: E402
from tools.analysis.collect_results import write_csv  # noqa: E402

TDNET = 'tdnet-td4-psp18'
#: name -> (full config, demo config); per-frame models are derived onto the TDNet config's clips
MODELS = {
    TDNET: ('configs/tdnet-td4-psp18_facevideo.py', 'configs/demo/tdnet-td4-psp18_demo.py'),
    'pspnet-r18-d8': ('configs/pspnet-r50-d8_celebamask.py',
                      'configs/demo/pspnet-r50-d8_demo.py'),
    'bisenetv1': ('configs/bisenetv1_celebamask.py', 'configs/demo/bisenetv1_demo.py'),
}
REFERENCE = ('bisenetv1-fp', 'configs/bisenetv1-fp_celebamask.py')
COLUMNS = ['model', 'profile', 'config', 'params_inference', 'latency_ms', 'latency_min_ms',
           'latency_max_ms', 'latency_vs_reference', 'mF1', 'mIoU', 'flicker', 'mFlicker',
           'frame_pairs', 'iterations', 'checkpoint', 'shape', 'clip_frames', 'device_name',
           'torch_threads', 'commit', 'date', 'command']


def source_config(name: str, profile: str) -> str:
    full, demo = MODELS[name]
    return demo if profile == 'demo' else full


def derive_per_frame(name: str, profile: str) -> Config:
    """The per-frame model ``name``'s config on the TDNet config's face clips."""
    video = Config.fromfile(osp.join(ROOT, source_config(TDNET, profile)))
    cfg = Config.fromfile(osp.join(ROOT, source_config(name, profile)))
    train = video.train_dataloader.dataset.to_dict()
    train.update(num_frames=1, max_gap=1)
    cfg.train_dataloader.dataset = ConfigDict(train)
    cfg.val_dataloader.dataset = ConfigDict(video.val_dataloader.dataset.to_dict())
    cfg.test_dataloader.dataset = ConfigDict(video.test_dataloader.dataset.to_dict())
    cfg.val_evaluator = ConfigDict(video.val_evaluator.to_dict())
    cfg.test_evaluator = ConfigDict(video.test_evaluator.to_dict())
    # TDNet's schedule: a TDNet sample is labelled once, so the same batch size and iterations
    # give every row the same labelled frames in the same steps (the model's own optimizer kept)
    cfg.train_dataloader.batch_size = video.train_dataloader.batch_size
    cfg.train_cfg = ConfigDict(video.train_cfg.to_dict())
    cfg.param_scheduler = [ConfigDict(s.to_dict()) for s in video.param_scheduler]
    if name == 'pspnet-r18-d8':
        # one TDNet sub-network's backbone, heads sized for its 512 / 256 channels (C / 4)
        cfg.model.backbone = ConfigDict(video.model.backbone.to_dict())
        cfg.model.decode_head.update(in_channels=512, channels=128)
        cfg.model.auxiliary_head.update(in_channels=256, channels=64)
    cfg.protocol_departures = None
    return cfg


def run_config(name: str, profile: str, work_root: str) -> str:
    """The config file the row runs: TDNet's own, or the derived per-frame one (written)."""
    if name == TDNET:
        return source_config(name, profile)
    path = osp.join(work_root, profile, 'derived', f'{name}.py')
    cfg = derive_per_frame(name, profile)
    os.makedirs(osp.dirname(osp.join(ROOT, path)), exist_ok=True)
    cfg.dump(osp.join(ROOT, path))
    return path


def _run(args: list[str]) -> None:
    print('+', ' '.join(shlex.quote(a) for a in args), flush=True)
    proc = subprocess.run([sys.executable, *args], cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f'error: {" ".join(args[:2])} failed with status {proc.returncode}')


def checkpoint_to_test(work_dir: str) -> str:
    best = sorted(glob.glob(osp.join(work_dir, 'best_*.pth')), key=osp.getmtime)
    if best:
        return best[-1]
    last = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(last):
        raise SystemExit(f'error: no checkpoint in {work_dir} (train it first)')
    with open(last) as f:
        ckpt = f.read().strip()
    return ckpt if osp.isabs(ckpt) else osp.join(ROOT, ckpt)


def _load_metrics(work_dir: str) -> dict | None:
    try:
        with open(osp.join(work_dir, 'test_metrics.json')) as f:
            record = json.load(f)
    except (OSError, ValueError):
        return None
    return record if record.get('checkpoint') and record.get('metrics') else None


def train_and_test(name: str, config: str, work_dir: str, extra: list[str],
                   force: bool) -> dict:
    abs_dir = osp.join(ROOT, work_dir)
    record = _load_metrics(abs_dir)
    if record and not force:
        print(f'= {name}: tested in {work_dir}, skipped (--force runs it again)', flush=True)
        return record
    if force and osp.isdir(abs_dir):
        shutil.rmtree(abs_dir)
    resume = ['--resume'] if osp.isfile(osp.join(abs_dir, 'last_checkpoint')) else []
    tail = ['--cfg-options', *extra] if extra else []
    _run(['tools/train.py', config, '--work-dir', work_dir, *resume, *tail])
    _run(['tools/test.py', config, checkpoint_to_test(abs_dir), '--work-dir', work_dir, *tail])
    return _load_metrics(abs_dir)


def clip_latency(model, shape=(512, 512), frames: int = 32, clips: int = 3,
                 device='cpu') -> dict:
    """Per-frame latency (ms) of ``model.encode_decode`` over clips of random frames: the mean
    over each clip, then the median, min and max of those means over ``clips`` clips, after one
    clip of warm-up. A stateful model gets each clip as a fresh one (``clip``/``frame_index``
    metainfo)."""
    device = torch.device(device)
    model = model.to(device).eval()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 3, *shape, generator=g).to(device)
    metas_shape = dict(img_shape=tuple(shape), ori_shape=tuple(shape), pad_shape=tuple(shape))
    means = []
    with torch.inference_mode():
        for c in range(clips + 1):
            times = []
            for t in range(frames):
                meta = dict(metas_shape, clip=f'latency-{c}', frame_index=t)
                t0 = time.perf_counter()
                model.encode_decode(x, [meta])
                if device.type == 'cuda':
                    torch.cuda.synchronize()
                times.append(time.perf_counter() - t0)
            if c:  # the first clip warms up
                means.append(statistics.mean(times) * 1e3)
    return dict(latency_ms=statistics.median(means), latency_min_ms=min(means),
                latency_max_ms=max(means))


def latency_rows(configs: dict, shape, frames, clips, device) -> dict:
    """{name: latency dict + params_inference} for each config path, plus the reference."""
    out = {}
    for name, config in list(configs.items()) + [REFERENCE]:
        model = build_segmentor(osp.join(ROOT, config), offline=True, init_weights=True)
        print(f'timing {name} ({config}) at {shape[0]}x{shape[1]}, {clips} clips of {frames} '
              f'frames', flush=True)
        out[name] = dict(clip_latency(model, shape, frames, clips, device),
                         params_inference=count_params(model)[1])
    return out


def markdown(rows: list[dict]) -> str:
    lines = ['| model | params (inference) | latency per frame (ms) | vs bisenetv1-fp | mF1 | '
             'flicker (%) | mFlicker (%) |', '|---|---|---|---|---|---|---|']

    def cell(v, fmt='{:.2f}'):
        return '' if v in (None, '') else fmt.format(float(v))
    for r in rows:
        lines.append(f"| {r['model']} | {int(r['params_inference']):,} | "
                     f"{cell(r['latency_ms'])} | {cell(r['latency_vs_reference'])} | "
                     f"{cell(r.get('mF1'))} | {cell(r.get('flicker'), '{:.3f}')} | "
                     f"{cell(r.get('mFlicker'), '{:.3f}')} |")
    return '\n'.join(lines) + '\n'


def _iterations(checkpoint: str | None):
    m = re.search(r'iter_(\d+)\.pth', osp.basename(checkpoint or ''))
    return int(m.group(1)) if m else None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--profile', choices=['demo', 'full'], required=True)
    parser.add_argument('--models', default=','.join(MODELS),
                        help=f'comma-separated, from {",".join(MODELS)}')
    parser.add_argument('--work-root', default='work_dirs/video_compare')
    parser.add_argument('--out', default=None, help='default results/video_compare_PROFILE.csv')
    parser.add_argument('--force', action='store_true', help='train and test again')
    parser.add_argument('--clip-frames', type=int, default=32)
    parser.add_argument('--clips', type=int, default=3, help='timed clips (after one warm-up)')
    parser.add_argument('--shape', type=int, nargs=2, default=[512, 512], metavar=('H', 'W'))
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='passed to every tools/train.py and tools/test.py run')
    args = parser.parse_args(argv)
    names = [n for n in args.models.split(',') if n]
    bad = [n for n in names if n not in MODELS]
    if bad or not names:
        parser.error(f'unknown --models {bad}; choose from {list(MODELS)}')
    if args.clip_frames < 1 or args.clips < 1:
        parser.error('--clip-frames and --clips must be positive')
    out = args.out or osp.join('results', f'video_compare_{args.profile}.csv')
    command = ' '.join(shlex.quote(p) for p in ['python', 'tools/analysis/video_compare.py',
                                                *(argv if argv is not None else sys.argv[1:])])
    configs, records = {}, {}
    for name in names:
        config = run_config(name, args.profile, args.work_root)
        configs[name] = config
        work_dir = osp.join(args.work_root, args.profile, name)
        records[name] = train_and_test(name, config, work_dir, args.cfg_options, args.force)
    timing = latency_rows(configs, tuple(args.shape), args.clip_frames, args.clips, args.device)
    device_name = torch.cuda.get_device_name() if args.device == 'cuda' else cpu_name()
    reference = timing[REFERENCE[0]]['latency_ms']
    rows = []
    for name in names:
        metrics = (records[name] or {}).get('metrics', {})
        rows.append(dict(
            model=name, profile=args.profile, config=configs[name], **timing[name],
            latency_vs_reference=timing[name]['latency_ms'] / reference,
            **{k: metrics.get(k) for k in ('mF1', 'mIoU', 'flicker', 'mFlicker',
                                           'frame_pairs')},
            iterations=None,
            checkpoint=repo_relative((records[name] or {}).get('checkpoint')),
            shape='x'.join(map(str, args.shape)), clip_frames=args.clip_frames,
            device_name=device_name, torch_threads=torch.get_num_threads(),
            commit=git_commit(), date=time.strftime('%Y-%m-%dT%H:%M:%S'), command=command))
    for row in rows:
        row['iterations'] = _iterations(row['checkpoint'])
        for key in ('latency_ms', 'latency_min_ms', 'latency_max_ms', 'latency_vs_reference'):
            row[key] = round(row[key], 3)
    written = write_csv(rows, osp.join(ROOT, out), merge=True, key='model', base_columns=COLUMNS)
    table = markdown(written)
    write_text_atomic(osp.join(ROOT, osp.splitext(out)[0] + '.md'),
                      f'Generated by `{command}`; do not edit by hand.\n\n{table}')
    write_json_atomic(osp.join(ROOT, args.work_root, args.profile, 'video_compare.json'),
                      dict(rows=rows, reference=dict(model=REFERENCE[0], config=REFERENCE[1],
                                                     **timing[REFERENCE[0]])))
    print(table)
    print(f'{len(rows)} rows -> {out} (and {osp.splitext(out)[0]}.md)')


if __name__ == '__main__':
    main()
