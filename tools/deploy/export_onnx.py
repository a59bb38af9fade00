"""Export a trained face parser to ONNX, check it against PyTorch with onnxruntime, time both.

    python tools/deploy/export_onnx.py CONFIG CHECKPOINT OUT.onnx [--shape H W] [--dynamic]
        [--opset N] [--repeats N] [--threads N] [--int8 [--calibration N]]
        [--eval-split val|test [--eval-limit N]]

The graph (``faceparse_mm.apis.onnx_export``): input ``image``, (N, 3, H, W) float32, **BGR,
0..255** (an OpenCV image transposed to channels-first; the normalisation is inside the graph);
outputs ``logits`` (N, 19, H, W) and ``labels`` (N, H, W) int64. The batch axis is dynamic;
``--dynamic`` makes H and W dynamic and is refused for an architecture whose graph does not give
the eager results at a second size. ``--shape`` defaults to the config's input size (512x512 for
the full configs). The class names and palette of the checkpoint are stored in the model's
metadata (``classes``, ``palette``: JSON; ``input``: the layout above).

Then: parity on random images and generated faces (max abs logit difference, the same relative
to the largest logit, label agreement) and median latency of onnxruntime and eager PyTorch at
batch 1 with the same number of threads. A graph beyond the parity limits is refused (exit
status 2) and not written: the export goes to a temporary name, renamed to OUT once the checks
pass. Needs ``pip install -e .[deploy]`` (onnx, onnxruntime).

``--int8`` also writes ``OUT.int8.onnx``: onnxruntime's static quantisation (QDQ, int8 weights per
channel, uint8 activations) calibrated on ``--calibration`` generated faces (default 16) at the
export size, and prints its agreement with the float model on other generated faces and its
latency. An int8 graph is an approximation: its label agreement is what to judge it by.

``--eval-split`` scores eager PyTorch, the exported graph and (with ``--int8``) the int8 graph on
a split of the config's own dataset with the protocol's metric (mF1 over the foreground classes,
mIoU): each image as the dataset's test pipeline loads it (at its label size), resized to the
export size like :class:`FaceParser` does, the labels resized back (nearest) and compared with
the ground truth. The demo configs train on generated faces, so for a demo checkpoint use its
demo config and ``--shape`` left at its input size.
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import statistics
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import faceparse_mm  # noqa: E402,F401  (applies compat before mmseg is imported)
from faceparse_mm.apis import FaceParser, resize_image, resize_nearest  # noqa: E402
from faceparse_mm.apis.onnx_export import (  # noqa: E402
    MIN_AGREEMENT,
    REFUSE_RTOL,
    RTOL,
    OnnxInferenceModule,
    check_parity,
    export_onnx,
    onnx_session,
    run_session,
)
from faceparse_mm.datasets.synthetic import render_face  # noqa: E402
from faceparse_mm.errors import UserError  # noqa: E402
from faceparse_mm.evaluation.face_metric import (  # noqa: E402
    confusion_matrix,
    metrics_from_confusion,
)
from faceparse_mm.utils.cli import cli_errors  # noqa: E402
from faceparse_mm.utils.io import atomic_path  # noqa: E402
from tools.analysis.benchmark import summarise, time_runs  # noqa: E402

INPUT_DOC = ('image: float32 (N, 3, H, W), BGR channel order, values 0..255 (normalised inside '
             'the graph); outputs logits (N, C, H, W) and labels (N, H, W) int64')


def face_batch(n: int, shape, seed: int = 0) -> torch.Tensor:
    """``n`` generated faces as the graph's input: (n, 3, H, W) float32 BGR 0..255."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        rgb, _ = render_face(rng, image_size=max(shape), mask_size=max(shape) // 2)
        bgr = resize_image(np.ascontiguousarray(rgb[..., ::-1]), tuple(shape))
        out.append(torch.from_numpy(bgr.transpose(2, 0, 1).astype(np.float32)))
    return torch.stack(out)


def random_batch(n: int, shape, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, *shape), generator=g).float()


def second_shape(shape) -> tuple[int, int]:
    """Another size for the dynamic check, of another aspect ratio: 32 more rows, 64 more
    columns (a size computed from the traced input and frozen in the graph shows there; a plain
    halving of a square input can hide it)."""
    return shape[0] + 32, shape[1] + 64


def add_metadata(path: str, meta: dict) -> None:
    import onnx

    model = onnx.load(path)
    for key, value in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    with atomic_path(path) as tmp:
        onnx.save(model, tmp)


def _line(name: str, r: dict) -> str:
    return (f'  {name:32s} max |diff| {r["max_abs"]:.3g}  relative {r["max_rel"]:.3g}  '
            f'labels agree {100 * r["label_agreement"]:.3f}%')


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('config')
    ap.add_argument('checkpoint')
    ap.add_argument('out', help='the .onnx file to write')
    ap.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                    help='input size traced (default: the config\'s input size)')
    ap.add_argument('--dynamic', action='store_true', help='dynamic H and W (checked)')
    ap.add_argument('--opset', type=int, default=17)
    ap.add_argument('--repeats', type=int, default=10, help='timed runs per runtime')
    ap.add_argument('--threads', type=int, default=None,
                    help='threads for both runtimes (default: torch\'s)')
    ap.add_argument('--int8', action='store_true',
                    help='also write OUT.int8.onnx, statically quantised (generated faces)')
    ap.add_argument('--eval-split', choices=['val', 'test'], default=None,
                    help="score eager, ONNX (and int8) on this split of the config's dataset")
    ap.add_argument('--eval-limit', type=int, default=None, help='first N images of the split')
    ap.add_argument('--calibration', type=int, default=16,
                    help='generated faces to calibrate --int8 on')
    args = ap.parse_args(argv)
    if args.calibration < 1:
        ap.error('--calibration must be at least 1')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    with cli_errors(checkpoint=args.checkpoint):
        try:
            import onnx  # noqa: F401
            import onnxruntime  # noqa: F401
        except ImportError as err:
            raise UserError(f'{err.name} is not installed: pip install -e .[deploy]') from None
        if args.threads:
            torch.set_num_threads(args.threads)
        parser = FaceParser(args.config, args.checkpoint)
        shape = tuple(args.shape) if args.shape else parser.input_size
        module = OnnxInferenceModule(parser.model).eval()
        # exported under a temporary name, renamed to OUT only once the parity checks pass
        with atomic_path(args.out) as tmp:
            try:
                seconds = export_onnx(module, tmp, shape=shape, dynamic=args.dynamic,
                                      opset=args.opset)
            except (torch.onnx.errors.OnnxExporterError, RuntimeError) as err:
                raise UserError(f'{args.config} does not export to ONNX: '
                                f'{str(err).splitlines()[0]}') from None
            add_metadata(tmp, dict(classes=json.dumps(list(parser.classes)),
                                   palette=json.dumps([list(c) for c in parser.palette]),
                                   input=INPUT_DOC, config=osp.basename(args.config)))
            print(f'exported {args.out} ({os.path.getsize(tmp) / 1e6:.1f} MB) at '
                  f'{shape[0]}x{shape[1]}{", dynamic H/W" if args.dynamic else ""}, opset '
                  f'{args.opset}, in {seconds:.1f} s')
            session = onnx_session(tmp, args.threads)
            checks = {'random images (batch 2)': random_batch(2, shape),
                      'generated faces (batch 2)': face_batch(2, shape)}
            if args.dynamic:
                other = second_shape(shape)
                checks[f'generated faces at {other[0]}x{other[1]}'] = face_batch(1, other,
                                                                                 seed=1)
            print('parity, onnxruntime vs PyTorch:')
            failed = []
            for name, x in checks.items():
                try:
                    r = check_parity(module, session, x)
                except Exception as err:  # onnxruntime refuses a size the graph was frozen at
                    r = None
                    failed.append(f'{name}: {type(err).__name__}: '
                                  f'{str(err).splitlines()[0][:200]}')
                if r is not None:
                    print(_line(name, r))
                    if r['max_rel'] > REFUSE_RTOL or r['label_agreement'] < MIN_AGREEMENT:
                        failed.append(f'{name}: relative difference {r["max_rel"]:.3g}, labels '
                                      f'agree {100 * r["label_agreement"]:.2f}%')
                    elif r['max_rel'] > RTOL:
                        print(f'warning: {name}: relative difference {r["max_rel"]:.3g} > '
                              f'{RTOL} (float32 rounding of this model; labels agree '
                              f'{100 * r["label_agreement"]:.3f}%)', file=sys.stderr)
            if failed:
                kept = ' (the file already there is left as it was)' if osp.exists(
                    args.out) else ''
                raise UserError(f'{args.out} does not reproduce the model ({"; ".join(failed)})'
                                f'; not written{kept}'
                                + ('; the architecture does not allow dynamic H/W, export '
                                   'without --dynamic' if args.dynamic else ''))
        x = face_batch(1, shape, seed=2)
        with torch.inference_mode():
            eager = time_runs(module, x, 2, args.repeats, torch.device('cpu'))
        ort = time_runs(lambda t: run_session(session, t), x, 2, args.repeats,
                        torch.device('cpu'))
        e, o = summarise(eager), summarise(ort)
        print(f'latency at {shape[0]}x{shape[1]}, batch 1, {torch.get_num_threads()} threads, '
              f'median of {args.repeats}:')
        print(f'  eager PyTorch  {e["median_ms"]:9.1f} ms  [p10 {e["p10_ms"]:.1f}, p90 '
              f'{e["p90_ms"]:.1f}]')
        print(f'  onnxruntime    {o["median_ms"]:9.1f} ms  [p10 {o["p10_ms"]:.1f}, p90 '
              f'{o["p90_ms"]:.1f}]  ({statistics.median(eager) / statistics.median(ort):.2f}x '
              f'eager)')
        quantised = int8_report(module, session, args, shape, eager) if args.int8 else None
        if args.eval_split:
            runners = {'eager PyTorch': lambda x: module(x)[1].numpy(),
                       'onnxruntime': lambda x: run_session(session, x)[1]}
            if quantised is not None:
                runners['onnxruntime int8'] = lambda x: run_session(quantised, x)[1]
            print_split_scores(split_scores(parser.cfg, args.eval_split, shape, runners,
                                            len(parser.classes), args.eval_limit),
                               args.eval_split)
    return 0


@torch.no_grad()
def split_scores(cfg, split: str, shape, runners: dict, num_classes: int,
                 limit: int | None = None) -> dict:
    """{runner name: metrics (``metrics_from_confusion``) + ``images``} on ``split`` of the
    config's dataset; each runner maps a (1, 3, H, W) BGR 0..255 float batch at ``shape`` to
    (1, H, W) labels."""
    from tools.analysis.dynamic_cost import iter_split

    key = f'{split}_dataloader'
    if not (cfg.get(key) or {}).get('dataset'):
        raise UserError(f'the config has no {key}.dataset to evaluate on')
    confs, n = {}, 0
    for _, sample in iter_split(cfg, split, limit):
        img = sample['inputs'].numpy().transpose(1, 2, 0)  # BGR uint8, as the pipeline loads it
        gt = sample['data_samples'].gt_sem_seg.data[0].numpy()
        x = torch.from_numpy(resize_image(np.ascontiguousarray(img), tuple(shape))
                             .transpose(2, 0, 1).astype(np.float32))[None]
        for name, run in runners.items():
            pred = resize_nearest(np.asarray(run(x))[0].astype(np.uint8), gt.shape)
            conf = confusion_matrix(pred, gt, num_classes)
            confs[name] = conf if name not in confs else confs[name] + conf
        n += 1
    if not n:
        raise UserError(f'the {split} split of the config is empty')
    return {name: dict(metrics_from_confusion(conf), images=n) for name, conf in confs.items()}


def print_split_scores(scores: dict, split: str) -> None:
    first = next(iter(scores.values()))
    print(f'{split} split ({first["images"]} images), the protocol\'s metric:')
    ref = first['mF1']
    for name, m in scores.items():
        delta = '' if m is first else f'  ({m["mF1"] - ref:+.2f} mF1)'
        print(f'  {name:18s} mF1 {m["mF1"]:6.2f}  mIoU {m["mIoU"]:6.2f}{delta}')


def int8_path(out: str) -> str:
    return (out[:-len('.onnx')] if out.endswith('.onnx') else out) + '.int8.onnx'


def int8_report(module, session, args, shape, eager_times):
    """Quantise ``args.out``, compare it with the float model, time it; returns its session."""
    from faceparse_mm.apis.onnx_export import quantize_int8

    path = int8_path(args.out)
    calibration = [face_batch(1, shape, seed=100 + i) for i in range(args.calibration)]
    seconds = quantize_int8(args.out, path, calibration)
    quantised = onnx_session(path, args.threads)
    print(f'int8: {path} ({os.path.getsize(path) / 1e6:.1f} MB), calibrated on '
          f'{args.calibration} generated faces in {seconds:.1f} s')
    faces = face_batch(4, shape, seed=7)
    vs_float = check_parity(module, quantised, faces)
    print(_line('int8 vs float (4 faces)', vs_float))
    times = time_runs(lambda t: run_session(quantised, t), faces[:1], 2, args.repeats,
                      torch.device('cpu'))
    q = summarise(times)
    print(f'  onnxruntime int8 {q["median_ms"]:7.1f} ms  [p10 {q["p10_ms"]:.1f}, p90 '
          f'{q["p90_ms"]:.1f}]  ({statistics.median(eager_times) / statistics.median(times):.2f}x '
          f'eager)')
    return quantised


if __name__ == '__main__':
    sys.exit(main())
