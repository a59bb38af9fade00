import json

import torch
from torch import nn

from tools.analysis import benchmark

CFG = 'tests/data/toy_config.py'


def test_flops_are_macs():
    conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
    x = torch.randn(1, 3, 8, 8)
    assert benchmark.count_flops(conv, x) == 8 * 3 * 9 * 8 * 8  # one multiply-add = one


def test_benchmark_json_fields(tmp_path):
    out = tmp_path / 'bench.json'
    benchmark.main([CFG, '--shape', '32', '32', '--batch', '2', '--repeats', '3', '--warmup', '1',
                    '--modes', 'eager,fold_bn,channels_last', '--out', str(out)])
    report = json.loads(out.read_text())
    env = report['environment']
    assert env['torch'] == torch.__version__ and env['torch_threads'] >= 1 and env['mmseg']
    assert report['matmul_gflops'] > 0
    (r,) = report['results']
    assert r['config'] == CFG and r['shape'] == [32, 32] and r['flops_are_macs'] is True
    assert 0 < r['params_inference'] <= r['params'] and r['flops'] > 0
    assert set(r['modes']) == {'eager', 'fold_bn', 'channels_last'}
    for mode in r['modes'].values():
        lat = mode['latency']
        assert lat['p10_ms'] <= lat['median_ms'] <= lat['p90_ms'] and mode['throughput'] > 0
    assert r['best_mode'] in r['modes'] and r['best_speedup_vs_eager'] >= 1
    assert r['floor_ms'] > 0 and r['best_to_floor'] > 0


def test_inference_only_excludes_auxiliary_heads():
    model = benchmark.build_model('configs/bisenetv1_celebamask.py')
    total, inference = benchmark.count_params(model)
    aux = sum(p.numel() for p in model.auxiliary_head.parameters())
    assert aux > 0 and total - inference == aux


def test_unknown_mode_is_refused(capsys):
    import pytest
    with pytest.raises(SystemExit):
        benchmark.main([CFG, '--modes', 'eager,turbo'])
    assert 'unknown modes' in capsys.readouterr().err
