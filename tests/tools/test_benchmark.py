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
    with torch.no_grad():
        expected = model(x)
    got = torch.from_numpy(run(to_input(x)))  # batch 3: the exported batch axis is dynamic
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)
    r = benchmark.benchmark(CFG, shape=(32, 32), batch=2, repeats=2, warmup=0,
                            modes=['eager', 'onnxruntime'])
    assert r['modes']['onnxruntime']['latency']['runs'] == 2
    assert r['modes']['onnxruntime']['throughput'] > 0
    assert 'onnxruntime' not in benchmark.DEFAULT_MODES.split(',')
