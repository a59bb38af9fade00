import csv
import json
import os

import pytest

from tools import run_zoo as zoo
from tools.run_zoo import (
    REFERENCE,
    arch_name,
    bench_rows,
    checkpoint_to_test,
    demo_config,
    is_complete,
    train_cmd,
    zoo_configs,
)

TOY = 'tests/data/toy_config.py'


def _rows(path):
    with open(path) as f:
        return {r['config']: r for r in csv.DictReader(f)}


def test_run_zoo_merges_rows_skips_complete_runs_and_forces(tool, tmp_path, monkeypatch):
    out = tmp_path / 'zoo.csv'
    with open(out, 'w') as f:  # a row of another architecture, made earlier
        f.write('config,architecture,mF1,commit\nconfigs/other_celebamask.py,other,55.5,abc\n')
    common = ['--profile', 'full', TOY, '--work-root', str(tmp_path / 'zoo'), '--out', str(out),
              '--bench-repeats', '2', '--bench-modes', 'eager', '--cfg-options',
              'train_cfg.max_iters=2']
    proc = tool('tools/run_zoo.py', *common, check=True)
    assert '1 configs (1 run, 0 already complete)' in proc.stdout
    rows = _rows(out)
    assert rows['configs/other_celebamask.py']['mF1'] == '55.5'  # kept
    row = rows[TOY]
    assert row['iterations'] == '2' and float(row['mIoU']) >= 0 and int(row['params']) > 0
    assert float(row['latency_ms']) > 0 and row['best_mode'] == 'eager' and row['device']
    assert row['commit'] and row['date']
    assert row['command'] == ('python tools/run_zoo.py --profile full tests/data/toy_config.py '
                              '--cfg-options train_cfg.max_iters=2')
    run_dir = tmp_path / 'zoo' / 'full' / 'toy_config'
    assert is_complete(str(run_dir))

    # again, in-process, recording what would run: a complete config is skipped, its row kept
    calls = []
    monkeypatch.setattr(zoo, 'run', lambda args, python=True: calls.append(args))
    zoo.main(common)
    assert not calls and _rows(out)[TOY]['date'] == row['date']
    assert is_complete(str(run_dir))
    # --force runs it again from scratch (the old run directory is removed first)
    with pytest.raises(SystemExit, match='no checkpoint'):  # the recorded train made none
        zoo.main([*common, '--force'])
    assert calls[0][:2] == ['tools/train.py', TOY] and '--resume' not in calls[0]
    assert not run_dir.exists()
    assert set(_rows(out)) == {TOY, 'configs/other_celebamask.py'}


def test_an_interrupted_run_resumes_and_is_not_complete(tmp_path):
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_2.pth'))
    assert not is_complete(str(tmp_path))
    cmd, python = train_cmd('c.py', 'w', [], 1, 'none', resume=True)
    assert python and cmd == ['tools/train.py', 'c.py', '--work-dir', 'w', '--resume']
    (tmp_path / 'test_metrics.json').write_text(json.dumps(dict(checkpoint='x', metrics={})))
    assert not is_complete(str(tmp_path))  # no metrics: the test did not finish
    done = dict(checkpoint='x', metrics={'mF1': 1})
    (tmp_path / 'test_metrics.json').write_text(json.dumps(done))
    assert is_complete(str(tmp_path))


def test_gpus_and_launcher_reach_the_launch_scripts():
    cmd, python = train_cmd('c.py', 'w', ['--cfg-options', 'a=1'], 4, 'none', resume=False)
    assert not python
    assert cmd == ['bash', 'tools/dist_train.sh', 'c.py', '4', '--work-dir', 'w',
                   '--cfg-options', 'a=1']
    cmd, _ = zoo.test_cmd('c.py', 'k.pth', 'w', [], 4, 'none')
    assert cmd == ['bash', 'tools/dist_test.sh', 'c.py', 'k.pth', '4', '--work-dir', 'w']
    cmd, python = zoo.test_cmd('c.py', 'k.pth', 'w', [], 1, 'slurm')
    assert python and cmd[-2:] == ['--launcher', 'slurm']


def test_configs_default_to_every_user_config_and_map_to_demo_variants():
    configs = zoo_configs()
    assert 'configs/bisenetv1_celebamask.py' in configs and REFERENCE in configs
    assert all(c.endswith('_celebamask.py') for c in configs)
    for c in configs:
        assert demo_config(c) == f'configs/demo/{arch_name(c)}_demo.py'
    assert demo_config('configs/demo/bisenetv1_demo.py') == 'configs/demo/bisenetv1_demo.py'
    assert arch_name('configs/bisenetv1-fp_celebamask.py') == 'bisenetv1-fp'


def test_best_checkpoint_is_tested_when_kept(tmp_path):
    (tmp_path / 'iter_20.pth').write_bytes(b'')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_20.pth'))
    assert checkpoint_to_test(str(tmp_path)) == str(tmp_path / 'iter_20.pth')
    (tmp_path / 'best_mF1_iter_10.pth').write_bytes(b'')
    assert checkpoint_to_test(str(tmp_path)) == os.path.join(tmp_path, 'best_mF1_iter_10.pth')


def test_benchmark_rows_are_relative_to_the_reference_of_the_same_run():
    env = dict(device='cpu', device_name='Some CPU', torch_threads=2, torch='2.x', commit='abc',
               date='2026-01-01T00:00:00')

    def result(config, eager, best):
        return dict(config=config, params=10, params_inference=8, flops=2e9, shape=[512, 512],
                    latency_ms=best, best_mode='fold_bn',
                    modes=dict(eager=dict(latency=dict(median_ms=eager))))
    rows = bench_rows(dict(environment=env, results=[result(REFERENCE, 100.0, 80.0),
                                                     result('configs/x_celebamask.py', 300, 240)]),
                      'cmd')
    ref, x = rows
    assert ref['latency_vs_reference'] == 1.0 and x['latency_vs_reference'] == 3.0
    assert x['latency_eager_ms'] == 300 and x['latency_best_ms'] == 240 and x['gmacs'] == 2.0
    assert x['device_name'] == 'Some CPU' and x['torch_threads'] == 2 and x['command'] == 'cmd'
    assert x['architecture'] == 'x' and x['shape'] == '512x512'


def test_a_complete_run_is_found_from_another_folder(tmp_path, monkeypatch):
    """The work root is relative to the repository, whatever the current folder: a run already
    complete there is skipped (nothing trains) and its row is written."""
    repo = tmp_path / 'repo'
    run_dir = repo / 'work_dirs' / 'zoo' / 'full' / 'toy_config'
    run_dir.mkdir(parents=True)
    (run_dir / 'test_metrics.json').write_text(json.dumps(dict(
        config=TOY, checkpoint='work_dirs/zoo/full/toy_config/iter_2.pth',
        metrics=dict(mF1=50.0))))
    monkeypatch.setattr(zoo, 'ROOT', str(repo))
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    calls = []
    monkeypatch.setattr(zoo, 'run', lambda args, python=True: calls.append(args))
    zoo.main(['--profile', 'full', TOY, '--curves', ''])
    assert calls == []
    row = _rows(repo / 'results' / 'zoo_full.csv')[TOY]
    assert row['mF1'] == '50.0' and row['work_dir'] == 'work_dirs/zoo/full/toy_config'
    assert not os.listdir(elsewhere)
