"""A segmentor's inference path as an ONNX graph, and onnxruntime sessions to run it.

:class:`OnnxInferenceModule` is what is exported: ``image`` (N, 3, H, W) float32 -> ``logits``
(N, num_classes, H, W) and, optionally, ``labels`` (N, H, W) int64 (their argmax). With
``preprocess=True`` (what ``tools/deploy/export_onnx.py`` writes) the normalisation is **inside**
the graph: ``image`` is the picture as OpenCV reads it, BGR channel order, values 0..255 (an
(H, W, 3) uint8 array transposed to (3, H, W) and cast to float32), and the graph does what the
config's ``SegDataPreProcessor`` does (BGR -> RGB when ``bgr_to_rgb``, then ``(x - mean) / std``).
No padding is done: H and W must suit the architecture (the full configs run at 512x512).
With ``preprocess=False`` the input is already normalised, which is what
``tools/analysis/benchmark.py`` times in its other modes (``encode_decode``: backbone, main decode
head, logits resized to the input size; no auxiliary heads).

Export uses the TorchScript-based exporter (``torch.onnx.export(..., dynamo=False)``): it needs
only ``onnx``, not ``onnxscript``. ONNX has no adaptive average pooling: the exporter writes it
only for a 1x1 output or an output size that divides the input size, which rules out the pyramid
poolings (PSPNet's 1/2/3/6 bins at a 64x64 feature map, ANN's anchors, SPNet's 20x20 and 12x12).
During export, :func:`adaptive_pool_as_matmul` writes every other adaptive average pooling as
what it is, a linear map of each axis (``P_h @ x @ P_w^T``, row i of ``P`` averaging input
positions floor(i * H / h) .. ceil((i + 1) * H / h) - 1, exactly PyTorch's bins), with the
matrices computed from the traced input size. Such a graph has a fixed H and W.

The batch axis is always dynamic; ``dynamic=True`` makes H and W dynamic too, which the
architecture allows when nothing in it depends on the traced size (a 1x1 adaptive pooling is
fine; pooling matrices, sizes computed in Python and read back as constants are not):
:func:`check_parity` at a second size tells, and ``tools/deploy/export_onnx.py`` checks it.

:func:`quantize_int8`: onnxruntime's static int8 quantisation of an exported graph, calibrated on
the batches given (the export tool gives it generated faces).
"""
from __future__ import annotations

import contextlib
import os
import time

import numpy as np
import torch
from torch import nn

__all__ = ['OnnxInferenceModule', 'adaptive_pool_as_matmul', 'check_parity', 'export_onnx',
           'onnx_session', 'pool_matrix', 'quantize_int8', 'run_session', 'settle_batchnorm']

INPUT = 'image'


class OnnxInferenceModule(nn.Module):
    """The exported module (see the module docstring)."""

    def __init__(self, segmentor, preprocess: bool = True, labels: bool = True) -> None:
        super().__init__()
        self.segmentor = segmentor
        self.preprocess = preprocess
        self.labels = labels
        dp = getattr(segmentor, 'data_preprocessor', None)
        mean = getattr(dp, 'mean', None)
        std = getattr(dp, 'std', None)
        self.bgr_to_rgb = bool(getattr(dp, 'channel_conversion', False))
        self.register_buffer('mean', (mean if mean is not None else torch.zeros(3))
                             .detach().float().reshape(1, -1, 1, 1).clone(), persistent=False)
        self.register_buffer('std', (std if std is not None else torch.ones(3))
                             .detach().float().reshape(1, -1, 1, 1).clone(), persistent=False)

    def forward(self, x):
        if self.preprocess:
            if self.bgr_to_rgb:
                x = x.flip(1)
            x = (x - self.mean) / self.std
        shape = tuple(x.shape[-2:])
        metas = [dict(img_shape=shape, pad_shape=shape, ori_shape=shape)] * x.shape[0]
        logits = self.segmentor.encode_decode(x, metas)
        return (logits, logits.argmax(1)) if self.labels else logits


def pool_matrix(size: int, out: int) -> torch.Tensor:
    """(out, size): row i averages positions floor(i * size / out) .. ceil((i + 1) * size / out)
    - 1, the bins of ``torch.nn.functional.adaptive_avg_pool1d``."""
    m = torch.zeros(out, size)
    for i in range(out):
        start, end = (i * size) // out, -((-(i + 1) * size) // out)
        m[i, start:end] = 1.0 / (end - start)
    return m


def _adaptive_avg_pool2d_symbolic(g, input, output_size):
    from torch.onnx import symbolic_helper

    try:
        out = [int(v) for v in symbolic_helper._parse_arg(output_size, 'is')]
    except Exception:  # the exporter raises several types for a non-constant list
        return symbolic_helper._onnx_unsupported('adaptive_avg_pool2d with a computed output '
                                                 'size', input)
    if out == [1] * len(out):
        return g.op('GlobalAveragePool', input)
    sizes = symbolic_helper._get_tensor_sizes(input)
    if not sizes or len(sizes) != 4 or sizes[2] is None or sizes[3] is None:
        return symbolic_helper._onnx_unsupported(
            f'adaptive_avg_pool2d to {out[0]}x{out[1]} with a dynamic input size (export '
            f'without --dynamic)', input)
    rows = g.op('MatMul', g.op('Constant', value_t=pool_matrix(sizes[2], out[0])), input)
    return g.op('MatMul', rows, g.op('Constant', value_t=pool_matrix(sizes[3], out[1]).t()))


@contextlib.contextmanager
def adaptive_pool_as_matmul(opset: int):
    """While exporting at ``opset``: adaptive average pooling written as two matrix products
    (see the module docstring). Uses the exporter's own extension point
    (``torch.onnx.register_custom_op_symbolic``) and removes the registration afterwards."""
    torch.onnx.register_custom_op_symbolic('aten::adaptive_avg_pool2d',
                                           _adaptive_avg_pool2d_symbolic, opset)
    try:
        yield
    finally:
        torch.onnx.unregister_custom_op_symbolic('aten::adaptive_avg_pool2d', opset)


def output_names(module: OnnxInferenceModule) -> list[str]:
    return ['logits', 'labels'] if module.labels else ['logits']


def export_onnx(module: OnnxInferenceModule, path: str, shape=(512, 512), dynamic: bool = False,
                opset: int = 17, batch: int = 1) -> float:
    """Export ``module`` (eval mode) traced at ``batch`` x 3 x ``shape`` to ``path``; returns
    the seconds the export took. The file is written under a temporary name and renamed."""
    from faceparse_mm.utils.io import atomic_path

    module = module.eval()
    names = output_names(module)
    axes = {0: 'batch', 2: 'height', 3: 'width'} if dynamic else {0: 'batch'}
    dynamic_axes = {INPUT: axes, 'logits': axes}
    if 'labels' in names:
        dynamic_axes['labels'] = {k - (k > 1): v for k, v in axes.items()}
    x = torch.rand(batch, 3, *shape) * (255 if module.preprocess else 1)
    t0 = time.perf_counter()
    with atomic_path(path) as tmp, torch.no_grad(), adaptive_pool_as_matmul(opset):
        torch.onnx.export(module, (x,), tmp, dynamo=False, opset_version=opset,
                          input_names=[INPUT], output_names=names, dynamic_axes=dynamic_axes,
                          do_constant_folding=True)
    return time.perf_counter() - t0


#: the largest logit difference, relative to the largest logit (at least 1), that counts as the
#: same model (what tests/tools/test_export_onnx.py requires of every config)
RTOL = 1e-4
#: beyond these the graph is not the model (a size frozen at export, a traced branch): refused.
#: Between RTOL and REFUSE_RTOL it is the float32 rounding of a deep model (a random-noise image
#: through an untrained one reaches 2e-4): reported as a warning
REFUSE_RTOL = 1e-3
MIN_AGREEMENT = 0.99


def onnx_session(path: str, threads: int | None = None):
    """An onnxruntime CPU session for ``path`` with ``threads`` intra-op threads (default
    torch's current number, so that both runtimes get the same cores)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(os.fspath(path), options, providers=['CPUExecutionProvider'])


def run_session(session, x) -> list[np.ndarray]:
    x = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    return session.run(None, {INPUT: np.ascontiguousarray(x, dtype=np.float32)})


@torch.no_grad()
def check_parity(module: OnnxInferenceModule, session, x) -> dict:
    """Eager vs onnxruntime on ``x``: max abs logit difference, the same relative to the largest
    eager logit (at least 1), and the fraction of pixels whose labels agree."""
    ref = module.eval()(x)
    ref = ref[0] if isinstance(ref, tuple) else ref
    got = torch.from_numpy(run_session(session, x)[0])
    return compare_logits(ref, got)


def compare_logits(ref: torch.Tensor, got: torch.Tensor) -> dict:
    """Logits ``got`` (N, K, H, W) against the eager ``ref``: max abs difference, the same
    relative to the largest eager logit (at least 1), and the fraction of pixels whose argmax
    labels agree."""
    if got.shape != ref.shape:
        raise RuntimeError(f'onnxruntime gave logits of shape {tuple(got.shape)}, eager '
                           f'{tuple(ref.shape)}')
    diff = (got - ref).abs().max().item()
    scale = max(1.0, ref.abs().max().item())
    agree = (got.argmax(1) == ref.argmax(1)).float().mean().item()
    return dict(max_abs=diff, max_rel=diff / scale, label_agreement=agree,
                shape=list(ref.shape))


@torch.no_grad()
def settle_batchnorm(module: nn.Module, x: torch.Tensor) -> nn.Module:
    """Give a randomly initialised model the BatchNorm statistics of ``x`` (one forward pass in
    training mode, cumulative averages), then eval mode. Untrained, BN's default statistics
    (mean 0, var 1) let activations grow layer after layer (logits in the thousands after an
    HRNet), and fp32 rounding then differs between any two runtimes by more than 1e-4 of the
    logits; settled, the logits have a trained model's scale."""
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
             and m.track_running_stats]
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    module.train()
    module(x)
    for m, momentum in zip(norms, saved):
        m.momentum = momentum
    return module.eval()


class _Batches:
    """onnxruntime's CalibrationDataReader protocol over a list of input batches."""

    def __init__(self, batches) -> None:
        self._batches = iter([{INPUT: np.ascontiguousarray(b, dtype=np.float32)}
                              for b in batches])

    def get_next(self):
        return next(self._batches, None)


def quantize_int8(path: str, out: str, calibration) -> float:
    """Static int8 quantisation of the float graph ``path`` into ``out`` with onnxruntime's
    quantiser: QDQ format, weights int8 per output channel, activations uint8 with ranges from
    min/max over ``calibration`` (a list of (N, 3, H, W) input batches, e.g. generated faces).
    Returns the seconds it took. The graph is shape-inferred and optimised first
    (``quant_pre_process``), as onnxruntime recommends."""
    import tempfile

    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from faceparse_mm.utils.io import atomic_path

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        prepared = os.path.join(tmp, 'prepared.onnx')
        quant_pre_process(path, prepared, skip_symbolic_shape=True)
        with atomic_path(out) as target:
            quantize_static(prepared, target, _Batches(calibration),
                            quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            calibration_providers=['CPUExecutionProvider'])
    return time.perf_counter() - t0
