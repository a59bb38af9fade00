"""Cost of each config's model: parameters, FLOPs, latency and throughput, in several inference
modes, on this machine.

    python tools/analysis/benchmark.py CONFIG [CONFIG ...] [--shape H W] [--batch B]
        [--device cpu|cuda] [--amp] [--repeats N] [--warmup N] [--threads N] [--seed S]
        [--cost-images K]
        [--modes eager,fold_bn,channels_last,fold_bn+channels_last,compile,onnxruntime]
        [--out FILE.json]

What is timed is what ``predict`` runs minus the data preprocessor and the argmax:
``encode_decode`` (backbone, main decode head, logits resized to the input size; auxiliary heads
excluded), in eval mode under ``torch.inference_mode``, with weights randomly initialised (nothing
is downloaded; SyncBN built as BN) from ``--seed``, which also draws the random images, so a
rerun counts the same MACs. A model whose cost depends on the input (dynamic routing, whose
gates skip cells and routes per image) is counted on ``--cost-images`` images (``flops`` their
mean, ``flops_range`` mean, min and max) and timed over them in turn. Latency: batch 1, median
and p10/p90 of ``--repeats`` runs after ``--warmup``; throughput: images/s at ``--batch``.
Modes: ``eager``; ``fold_bn`` (BatchNorm folded into the preceding conv,
``faceparse_mm.utils.fuse.fold_bn``);
``channels_last`` (NHWC memory format); their combination; ``compile`` (``torch.compile``,
default inductor backend; a mode that fails is recorded as unavailable with the reason);
``onnxruntime`` (the same ``encode_decode`` exported to ONNX at the timed shape with a dynamic
batch, ``faceparse_mm.apis.onnx_export``, run by onnxruntime on the CPU with torch's thread
count; not in the default modes, needs ``pip install -e .[deploy]``; its entry also holds the
``parity`` of the timed graph with eager on the timed image and another, max abs and relative logit
difference and label agreement, and a graph that does not reproduce the model, such as dynamic
routing's or a video model's, is recorded as unavailable).

FLOPs come from mmengine's ``get_model_complexity_info`` (fvcore's counter), which counts one
fused multiply-add as one FLOP: for convolutions and matrix products the number is MACs
(``flops_are_macs``; checked by ``tests/tools/test_benchmark.py`` on a bare conv), plus small
per-element counts for BN, upsampling and pooling; activations and additions are not counted.
The "floor" is the time 2 x MACs would take at this machine's fp32 matmul speed (a 2048x2048
matmul timed in the same run): a lower bound no mode can beat; ``best_to_floor`` says how far the
best mode is from it. The JSON holds the environment (device name, torch threads, torch, mmseg and
mmengine versions, commit, date) and one entry per config.
"""
from __future__ import annotations

import argparse
import copy
import os.path as osp
import platform
import statistics
import sys
import tempfile
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import torch  # noqa: E402

import faceparse_mm  # noqa: E402,F401
from faceparse_mm.apis.onnx_export import (  # noqa: E402
    MIN_AGREEMENT,
    REFUSE_RTOL,
    OnnxInferenceModule,
    compare_logits,
    export_onnx,
    onnx_session,
    run_session,
    settle_batchnorm,
)
from faceparse_mm.utils.build import build_segmentor, count_params  # noqa: E402
from faceparse_mm.utils.fuse import fold_bn  # noqa: E402
from faceparse_mm.utils.io import write_json_atomic  # noqa: E402

MODES = ('eager', 'fold_bn', 'channels_last', 'fold_bn+channels_last', 'compile', 'onnxruntime')
# onnxruntime is asked for by name (an optional dependency; exporting a big model takes a while)
DEFAULT_MODES = ','.join(MODES[:5])
FLOPS_NOTE = ('mmengine get_model_complexity_info: one fused multiply-add = one flop (MACs) for '
              'conv/linear/matmul; BN, upsampling, pooling counted per element; activations '
              'and additions not counted')


def build_model(config: str):
    """The config's segmentor in eval mode, random weights, BN instead of SyncBN."""
    return build_segmentor(config, offline=True, init_weights=True).eval()


class InferenceModule(torch.nn.Module):
    """The inference path of a segmentor as a plain module: normalised images (N, 3, H, W) ->
    logits (N, num_classes, H, W), i.e. ``encode_decode`` as ``predict`` calls it (auxiliary heads
    and the data preprocessor are not run)."""

    def __init__(self, segmentor):
        super().__init__()
        self.segmentor = segmentor

    def forward(self, x):
        shape = tuple(x.shape[-2:])
        metas = [dict(img_shape=shape, pad_shape=shape, ori_shape=shape)] * x.shape[0]
        return self.segmentor.encode_decode(x, metas)


def count_flops(module, x) -> int:
    from mmengine.analysis import get_model_complexity_info
    info = get_model_complexity_info(module, inputs=(x,), show_table=False, show_arch=False)
    return int(info['flops'])


def _sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize()


def time_runs(fn, x, warmup: int, repeats: int, device) -> list[float]:
    """Seconds per call of ``fn`` after ``warmup`` calls; ``x`` is one input or a list of
    inputs taken in turn (a model whose cost depends on the input is timed over several)."""
    xs = x if isinstance(x, (list, tuple)) else [x]
    with torch.inference_mode():
        for k in range(warmup):
            fn(xs[k % len(xs)])
        _sync(device)
        times = []
        for k in range(repeats):
            t0 = time.perf_counter()
            fn(xs[k % len(xs)])
            _sync(device)
            times.append(time.perf_counter() - t0)
    return times


def summarise(times: list[float]) -> dict:
    # inclusive: quantiles stay within the observed times (the default extrapolates)
    q = (statistics.quantiles(times, n=10, method='inclusive') if len(times) >= 2
         else [times[0]] * 9)
    return dict(median_ms=statistics.median(times) * 1e3, p10_ms=q[0] * 1e3, p90_ms=q[-1] * 1e3,
                runs=len(times))


def matmul_gflops(device, n: int = 2048, repeats: int = 5) -> float:
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    times = time_runs(lambda _: a @ b, None, 2, repeats, device)
    return 2 * n ** 3 / statistics.median(times) / 1e9


def onnxruntime_runner(module: InferenceModule, sample):
    """``module`` exported to ONNX at ``sample``'s shape (dynamic batch) and loaded into an
    onnxruntime CPU session: a callable taking the same input tensor, giving the logits, with
    ``.parity`` (:func:`compare_logits` on ``sample``) and ``.module`` (the eager copy exported).

    The graph is exported from a copy whose BatchNorm statistics are those of two random images
    (:func:`settle_batchnorm`): the same ops, so the same time, but logits of a trained model's
    scale (with BN's defaults an untrained HRNet's reach the thousands, and float32 rounding
    alone then differs by more than ``REFUSE_RTOL``). A graph that does not reproduce the copy
    on ``sample`` and on a second random image (control flow that depends on the input, such as
    dynamic routing's, or on state) is refused, as is a segmentor that says it does not export
    (``onnx_unexportable``: dynamic routing, whose untrained gates close by the weights' draw and
    hardly by the image, so that random images cannot show it, and TDNet) or a video model, so
    that a time is never reported for a graph that is not the model."""
    if sample.device.type != 'cpu':
        raise RuntimeError('the onnxruntime mode runs on the CPU only')
    reason = getattr(module.segmentor, 'onnx_unexportable', None)
    if reason is None and getattr(module.segmentor, 'stream_history', 0):
        reason = 'a video model keeps state over a clip: the graph of one frame is not the model'
    if reason:  # a graph traced from random images can match the model on them and still not be it
        raise RuntimeError(f'does not export to ONNX: {reason}')
    generator = torch.Generator().manual_seed(0)
    settled = settle_batchnorm(InferenceModule(copy.deepcopy(module.segmentor)),
                               torch.randn(2, *sample.shape[1:], generator=generator))
    graph = OnnxInferenceModule(settled.segmentor, preprocess=False, labels=False)
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, 'model.onnx')
        export_onnx(graph, path, shape=tuple(sample.shape[-2:]), batch=sample.shape[0])
        session = onnx_session(path)
    # the timed image, and another one: a graph traced with the first image's routes frozen in
    # reproduces that image only
    checks = [sample, torch.randn(sample.shape, generator=generator)]
    with torch.inference_mode():
        results = [compare_logits(settled(x), torch.from_numpy(run_session(session, x)[0]))
                   for x in checks]
    parity = dict(results[0], max_abs=max(r['max_abs'] for r in results),
                  max_rel=max(r['max_rel'] for r in results),
                  label_agreement=min(r['label_agreement'] for r in results), images=len(checks))
    if parity['max_rel'] > REFUSE_RTOL or parity['label_agreement'] < MIN_AGREEMENT:
        raise RuntimeError(
            f'the exported graph does not reproduce the model on the timed image and another '
            f'(max relative '
            f'logit difference {parity["max_rel"]:.3g}, labels agree '
            f'{100 * parity["label_agreement"]:.2f}%): its computation depends on the input or '
            f'on state (README.md: architectures that do not export to ONNX)')

    def run(x):
        return run_session(session, x)[0]
    run.parity, run.module = parity, settled
    return run


def prepare(mode: str, module, sample):
    """(callable, input transform) for an inference mode, or raise if unavailable."""
    if mode == 'onnxruntime':
        return onnxruntime_runner(module, sample), lambda t: t
    m = module
    if 'fold_bn' in mode:
        m = fold_bn(module, sample)
    channels_last = 'channels_last' in mode
    if channels_last:
        m = copy.deepcopy(m) if m is module else m
        m = m.to(memory_format=torch.channels_last)
    if mode == 'compile':
        torch._dynamo.reset()
        m = torch.compile(copy.deepcopy(module))
        with torch.inference_mode():
            m(sample)  # compile now so that failures show here

    def to_input(t):
        return t.contiguous(memory_format=torch.channels_last) if channels_last else t
    return m, to_input


def benchmark(config: str, shape=(512, 512), batch: int = 8, device='cpu', amp=False,
              repeats: int = 20, warmup: int = 3, modes=DEFAULT_MODES.split(','),
              matmul: float | None = None, seed: int = 0, cost_images: int = 8) -> dict:
    """One config's entry of the report. The weights and the images are drawn from ``seed``, so
    a rerun counts the same MACs. A segmentor whose cost depends on the input
    (``cost_depends_on_input``: dynamic routing) is counted on ``cost_images`` images and timed
    over them in turn; ``flops`` is then their mean and ``flops_range`` holds mean, min and
    max."""
    device = torch.device(device)
    torch.manual_seed(seed)
    segmentor = build_model(config).to(device)
    params, params_inference = count_params(segmentor)
    module = InferenceModule(segmentor).eval()
    generator = torch.Generator().manual_seed(seed)
    dynamic = bool(getattr(segmentor, 'cost_depends_on_input', False))
    images = [torch.randn(1, 3, *shape, generator=generator).to(device)
              for _ in range(max(1, cost_images) if dynamic else 1)]
    x1 = images[0]
    xb = torch.randn(batch, 3, *shape, generator=generator).to(device)
    # a video model (TDNet) is a stream over frames: count and time frames with a full history
    with torch.inference_mode():
        for _ in range(getattr(segmentor, 'stream_history', 0)):
            module(x1)
    per_image = [count_flops(module, x) for x in images]
    macs = round(statistics.mean(per_image))
    result = dict(config=config, shape=list(shape), batch=batch, device=str(device), amp=amp,
                  params=params, params_inference=params_inference, flops=macs,
                  flops_are_macs=True, flops_note=FLOPS_NOTE, seed=seed,
                  timed='encode_decode: backbone + decode head + resize to input; '
                        'no auxiliary heads, no data preprocessor', modes={})
    if dynamic:
        result['flops_range'] = dict(mean=macs, min=min(per_image), max=max(per_image),
                                     images=len(images))
        result['timed'] += f'; latency over {len(images)} images in turn'
    autocast = torch.autocast(device.type, enabled=amp)
    for mode in modes:
        try:
            t0 = time.perf_counter()
            m, to_input = prepare(mode, module, images[0])
            setup_s = time.perf_counter() - t0
            with autocast:
                lat = time_runs(m, [to_input(x) for x in images], warmup, repeats, device)
                thr = time_runs(m, to_input(xb), 1, max(3, repeats // 5), device)
            result['modes'][mode] = dict(latency=summarise(lat),
                                         throughput=batch / statistics.median(thr),
                                         setup_s=setup_s)
            if hasattr(m, 'parity'):  # onnxruntime: the graph timed, against eager
                result['modes'][mode]['parity'] = m.parity
        except Exception as err:  # a mode that does not work here is recorded, not fatal
            result['modes'][mode] = dict(unavailable=f'{type(err).__name__}: {str(err)[:200]}')
    timed = {k: v for k, v in result['modes'].items() if 'latency' in v}
    if timed:
        best = min(timed, key=lambda k: timed[k]['latency']['median_ms'])
        eager = timed.get('eager', timed[best])['latency']['median_ms']
        result['latency_ms'] = timed[best]['latency']['median_ms']
        result['best_mode'] = best
        result['best_speedup_vs_eager'] = eager / timed[best]['latency']['median_ms']
        if matmul:
            floor_ms = 2 * macs / (matmul * 1e9) * 1e3
            result['floor_ms'] = floor_ms
            result['best_to_floor'] = timed[best]['latency']['median_ms'] / floor_ms
    return result


def cpu_name() -> str:
    """The CPU model (``/proc/cpuinfo`` on Linux), else what ``platform`` knows."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(device: str) -> dict:
    import mmengine
    import mmseg

    from faceparse_mm.utils.results import git_commit
    name = torch.cuda.get_device_name() if device == 'cuda' else cpu_name()
    return dict(device=device, device_name=name, torch_threads=torch.get_num_threads(),
                torch=torch.__version__, mmseg=mmseg.__version__, mmengine=mmengine.__version__,
                python=platform.python_version(), commit=git_commit(),
                date=time.strftime('%Y-%m-%dT%H:%M:%S'))


def _si(n: float) -> str:
    for unit, scale in (('G', 1e9), ('M', 1e6), ('K', 1e3)):
        if abs(n) >= scale:
            return f'{n / scale:.2f} {unit}'
    return f'{n:.0f} '


def print_table(report: dict) -> None:
    env = report['environment']
    print(f"device {env['device_name']} ({env['device']}), {env['torch_threads']} threads, "
          f"fp32 matmul {report['matmul_gflops']:.1f} GFLOP/s")
    for r in report['results']:
        spread = r.get('flops_range')
        spread = (f" (mean of {spread['images']} images; min {_si(spread['min'])}, "
                  f"max {_si(spread['max'])})" if spread else '')
        print(f"\n{r['config']}  {r['shape'][0]}x{r['shape'][1]}  params {r['params']:,} "
              f"(inference {r['params_inference']:,})  {_si(r['flops'])}MACs{spread}")
        for mode, v in r['modes'].items():
            if 'latency' in v:
                lat = v['latency']
                parity = (f"  parity: max rel {v['parity']['max_rel']:.2g}, labels "
                          f"{100 * v['parity']['label_agreement']:.3f}%" if 'parity' in v
                          else '')
                print(f"  {mode:24s} {lat['median_ms']:9.2f} ms  [p10 {lat['p10_ms']:.2f}, "
                      f"p90 {lat['p90_ms']:.2f}]  {v['throughput']:7.2f} img/s @ b{r['batch']}"
                      + parity)
            else:
                print(f"  {mode:24s} unavailable: {v['unavailable']}")
        if 'best_mode' in r:
            floor = (f", floor {r['floor_ms']:.3g} ms, best/floor {r['best_to_floor']:.1f}"
                     if 'floor_ms' in r else '')
            print(f"  best: {r['best_mode']} ({r['best_speedup_vs_eager']:.2f}x eager){floor}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('configs', nargs='+')
    parser.add_argument('--shape', type=int, nargs=2, default=[512, 512], metavar=('H', 'W'))
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--amp', action='store_true')
    parser.add_argument('--repeats', type=int, default=20)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--threads', type=int, default=None,
                        help='torch intra-op threads (default: torch\'s choice, recorded)')
    parser.add_argument('--modes', default=DEFAULT_MODES,
                        help=f'comma-separated, from {",".join(MODES)}')
    parser.add_argument('--seed', type=int, default=0,
                        help='draws the weights and the images (a rerun counts the same MACs)')
    parser.add_argument('--cost-images', type=int, default=8,
                        help='images a model whose cost depends on the input (dynamic routing) '
                             'is counted and timed on (mean, min, max)')
    parser.add_argument('--out', help='write the report as JSON')
    args = parser.parse_args(argv)
    modes = [m for m in args.modes.split(',') if m]
    bad = [m for m in modes if m not in MODES]
    if bad:
        parser.error(f'unknown modes {bad}; choose from {MODES}')
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: no CUDA device here')
    for c in args.configs:
        if not osp.isfile(c):
            parser.error(f'config file not found: {c}')
    if args.threads:
        torch.set_num_threads(args.threads)
    gflops = matmul_gflops(torch.device(args.device))
    report = dict(environment=environment(args.device), matmul_gflops=gflops, results=[
        benchmark(c, tuple(args.shape), args.batch, args.device, args.amp, args.repeats,
                  args.warmup, modes, gflops, args.seed, args.cost_images)
        for c in args.configs])
    print_table(report)
    if args.out:
        write_json_atomic(args.out, report)
        print(f'\nwritten to {args.out}')


if __name__ == '__main__':
    main()
