import json

import pytest
import torch
from torch import nn

from tools.analysis import benchmark

CFG = 'tests/data/toy_config.py'


def test_flops_are_macs():
    """mmengine counts one fused multiply-add as one flop: a bias-free conv gives its MACs."""
    conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
    x = torch.randn(1, 3, 8, 8)
    assert benchmark.count_flops(conv, x) == 8 * 3 * 9 * 8 * 8
    assert benchmark.count_flops(nn.Linear(10, 20, bias=False), torch.randn(1, 10)) == 200


def test_benchmark_json_fields(tmp_path):
    out = tmp_path / 'bench.json'
    benchmark.main([CFG, '--shape', '32', '32', '--batch', '2', '--repeats', '3', '--warmup', '1',
                    '--modes', 'eager,fold_bn,channels_last', '--out', str(out)])
    report = json.loads(out.read_text())
    env = report['environment']
    assert env['torch'] == torch.__version__ and env['torch_threads'] >= 1
    assert env['mmseg'] and env['mmengine'] and env['device_name'] and 'commit' in env
    assert report['matmul_gflops'] > 0
    (r,) = report['results']
    assert r['config'] == CFG and r['shape'] == [32, 32] and r['flops_are_macs'] is True
    assert 0 < r['params_inference'] <= r['params']
    # toy: conv 3->8 3x3 + FCN conv 8->4 3x3 + conv_seg 4->3 1x1 at 32x32, plus BN and resize
    assert r['flops'] >= (8 * 3 * 9 + 4 * 8 * 9 + 3 * 4) * 32 * 32
    assert set(r['modes']) == {'eager', 'fold_bn', 'channels_last'}
    for mode in r['modes'].values():
        lat = mode['latency']
        assert 0 < lat['p10_ms'] <= lat['median_ms'] <= lat['p90_ms'] and lat['runs'] == 3
        assert mode['throughput'] > 0
    assert r['best_mode'] in r['modes'] and r['best_speedup_vs_eager'] >= 1
    assert r['latency_ms'] == r['modes'][r['best_mode']]['latency']['median_ms']
    assert r['floor_ms'] == pytest.approx(2 * r['flops'] / (report['matmul_gflops'] * 1e9) * 1e3)
    assert r['best_to_floor'] > 0


def test_timed_path_is_predict_without_aux_heads():
    model = benchmark.build_model('configs/bisenetv1_celebamask.py')
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        logits = benchmark.InferenceModule(model)(x)
    assert logits.shape == (2, 19, 64, 64)  # the 1/8 head output resized to the input, as predict


def test_latency_percentiles_stay_within_the_runs():
    s = benchmark.summarise([0.001, 0.002, 0.010])
    assert s['median_ms'] == 2 and 1 <= s['p10_ms'] <= 2 <= s['p90_ms'] <= 10 and s['runs'] == 3


def test_unavailable_mode_is_recorded(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError('no compiler here')

    monkeypatch.setattr(torch, 'compile', broken)
    r = benchmark.benchmark(CFG, shape=(32, 32), batch=2, repeats=2, warmup=0,
                            modes=['eager', 'compile'])
    assert r['modes']['compile'] == {'unavailable': 'RuntimeError: no compiler here'}
    assert r['best_mode'] == 'eager' and r['best_speedup_vs_eager'] == 1


def test_inference_only_excludes_auxiliary_heads():
    model = benchmark.build_model('configs/bisenetv1_celebamask.py')
    total, inference = benchmark.count_params(model)
    aux = sum(p.numel() for p in model.auxiliary_head.parameters())
    assert aux > 0 and total - inference == aux


def test_unknown_mode_is_refused(capsys):
    with pytest.raises(SystemExit):
        benchmark.main([CFG, '--modes', 'eager,turbo'])
    assert 'unknown modes' in capsys.readouterr().err


def test_onnxruntime_mode_times_the_same_logits():
    pytest.importorskip('onnxruntime')
    model = benchmark.InferenceModule(benchmark.build_model(CFG)).eval()
    x = torch.randn(3, 3, 32, 32)
    run, to_input = benchmark.prepare('onnxruntime', model, x[:1])
    # the graph is the model's with settled BatchNorm statistics: every other weight the same
    exported, original = run.module.segmentor.state_dict(), model.segmentor.state_dict()
    assert exported.keys() == original.keys()
    stats = {k for k in original if k.endswith(('running_mean', 'running_var'))}
    assert stats and all(not torch.equal(exported[k], original[k]) for k in stats)
    assert all(torch.equal(exported[k], original[k]) for k in original.keys() - stats
               if not k.endswith('num_batches_tracked'))
    with torch.no_grad():
        expected = run.module(x)
    got = torch.from_numpy(run(to_input(x)))  # batch 3: the exported batch axis is dynamic
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)
    r = benchmark.benchmark(CFG, shape=(32, 32), batch=2, repeats=2, warmup=0,
                            modes=['eager', 'onnxruntime'])
    assert r['modes']['onnxruntime']['latency']['runs'] == 2
    assert r['modes']['onnxruntime']['throughput'] > 0
    parity = r['modes']['onnxruntime']['parity']  # the timed graph against eager, one image
    assert parity['shape'] == [1, model.segmentor.decode_head.num_classes, 32, 32]
    assert parity['max_rel'] < 1e-4 and parity['label_agreement'] == 1.0
    assert 'onnxruntime' not in benchmark.DEFAULT_MODES.split(',')


class _Stateful(nn.Module):
    """A segmentor whose output depends on how often it ran (a video model's stream): a graph
    traced at one call is not the model at the next."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.calls = 0

    def encode_decode(self, x, metas):
        self.calls += 1
        return self.conv(x) * self.calls


def test_onnxruntime_mode_refuses_a_graph_that_is_not_the_model():
    pytest.importorskip('onnxruntime')
    module = benchmark.InferenceModule(_Stateful()).eval()
    with pytest.raises(RuntimeError, match='does not reproduce the model on the timed image'):
        benchmark.prepare('onnxruntime', module, torch.randn(1, 3, 16, 16))
    # the same module without its state exports
    run, _ = benchmark.prepare('onnxruntime', benchmark.InferenceModule(_Stateless()).eval(),
                               torch.randn(1, 3, 16, 16))
    assert run.parity['label_agreement'] == 1.0 and run.parity['max_rel'] < 1e-5


class _Stateless(_Stateful):
    def encode_decode(self, x, metas):
        return self.conv(x)


class _Routed(_Stateful):
    """Input-dependent control flow (dynamic routing's kind): the trace keeps one branch."""

    def encode_decode(self, x, metas):
        return self.conv(x) if x.mean() > 0.4 else -self.conv(x)


def test_onnxruntime_mode_refuses_input_dependent_routes_and_video_models():
    pytest.importorskip('onnxruntime')
    x = torch.randn(1, 3, 16, 16)
    x = x - x.mean() + 1
    # export traces at uniform noise (mean 0.5) and x has mean 1: both take the first branch, so
    # only the mode's second image (standard normal, mean about 0) shows the frozen route
    with pytest.raises(RuntimeError, match='does not reproduce the model'):
        benchmark.prepare('onnxruntime', benchmark.InferenceModule(_Routed()).eval(), x)
    video = _Stateless()
    video.stream_history = 3
    with pytest.raises(RuntimeError, match='video model'):
        benchmark.prepare('onnxruntime', benchmark.InferenceModule(video).eval(), x)
    declared = _Stateless()
    declared.onnx_unexportable = 'routes depend on the image'
    with pytest.raises(RuntimeError, match='does not export to ONNX: routes depend on the image'):
        benchmark.prepare('onnxruntime', benchmark.InferenceModule(declared).eval(), x)



def test_an_input_dependent_cost_is_counted_per_image_and_timed_over_them(monkeypatch):
    """A segmentor whose cost depends on the image: MACs mean, min and max over the images, the
    latency over every one of them in turn; the weights and the images come from the seed."""
    build = benchmark.build_model
    draws = []

    def dynamic(config):
        draws.append(torch.rand(1).item())  # what the weights' initialisation would draw
        model = build(config)
        model.cost_depends_on_input = True
        return model

    seen = []

    def count(module, x):
        seen.append(x)
        return 1000 + int(1000 * x.flatten()[0].abs())  # differs per image

    timed = []
    monkeypatch.setattr(benchmark, 'build_model', dynamic)
    monkeypatch.setattr(benchmark, 'count_flops', count)
    monkeypatch.setattr(benchmark.InferenceModule, 'forward',
                        lambda self, x: timed.append(x) or x)
    kwargs = dict(shape=(8, 8), batch=2, repeats=6, warmup=0, modes=['eager'], cost_images=3)
    r = benchmark.benchmark(CFG, **kwargs)
    images = seen[:3]
    counts = [count(None, x) for x in images]
    assert len(set(counts)) == 3
    assert r['flops_range'] == dict(mean=round(sum(counts) / 3), min=min(counts),
                                    max=max(counts), images=3)
    assert r['flops'] == round(sum(counts) / 3)
    timed_images = [x for x in timed if x.shape[0] == 1]  # batch 2 is the throughput run
    assert len(timed_images) == 6
    for k, x in enumerate(timed_images):
        assert torch.equal(x, images[k % 3])

    seen.clear()
    again = benchmark.benchmark(CFG, **kwargs)
    assert again['flops_range'] == r['flops_range'] and draws[1] == draws[0]
    assert all(torch.equal(a, b) for a, b in zip(seen[:3], images))
    seen.clear()
    other = benchmark.benchmark(CFG, seed=1, **kwargs)
    assert draws[2] != draws[0] and not torch.equal(seen[0], images[0])
    assert other['flops_range'] != r['flops_range']

    monkeypatch.setattr(benchmark, 'build_model', build)
    seen.clear()
    static = benchmark.benchmark(CFG, **kwargs)
    assert 'flops_range' not in static and len(seen) == 1
