import csv
import os
import time


def test_run_zoo_full_profile_on_toy_config(tool, tmp_path):
    out = tmp_path / 'zoo.csv'
    start = time.perf_counter()
    proc = tool('tools/run_zoo.py', '--profile', 'full', 'tests/data/toy_config.py',
                '--work-root', str(tmp_path / 'zoo'), '--out', str(out), '--bench-repeats', '3',
                '--bench-modes', 'eager,fold_bn', '--cfg-options', 'train_cfg.max_iters=2',
                check=True)
    assert time.perf_counter() - start < 120
    assert 'zoo (full): 1 configs' in proc.stdout
    (row,) = list(csv.DictReader(open(out)))
    assert row['config'] == 'tests/data/toy_config.py' and row['iterations'] == '2'
    assert float(row['mIoU']) >= 0 and int(row['params']) > 0 and float(row['latency_ms']) > 0
    assert row['best_mode'] in ('eager', 'fold_bn')
    assert (tmp_path / 'zoo' / 'full' / 'toy_config' / 'benchmark.json').exists()


def test_demo_profile_maps_to_demo_configs():
    from tools.run_zoo import demo_config
    assert demo_config('configs/bisenetv1_celebamask.py') == 'configs/demo/bisenetv1_demo.py'
    assert demo_config('configs/bisenetv1-fp_celebamask.py') == 'configs/demo/bisenetv1-fp_demo.py'
    assert demo_config('configs/demo/bisenetv1_demo.py') == 'configs/demo/bisenetv1_demo.py'


def test_best_checkpoint_is_tested_when_kept(tmp_path):
    from tools.run_zoo import checkpoint_to_test
    (tmp_path / 'iter_20.pth').write_bytes(b'')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_20.pth'))
    assert checkpoint_to_test(str(tmp_path)) == str(tmp_path / 'iter_20.pth')
    (tmp_path / 'best_mF1_iter_10.pth').write_bytes(b'')
    assert checkpoint_to_test(str(tmp_path)) == os.path.join(tmp_path, 'best_mF1_iter_10.pth')
