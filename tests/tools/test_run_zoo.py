import csv


def test_run_zoo_full_profile_on_toy_config(tool, tmp_path):
    out = tmp_path / 'zoo.csv'
    proc = tool('tools/run_zoo.py', '--profile', 'full', 'tests/data/toy_config.py',
                '--work-root', str(tmp_path / 'zoo'), '--out', str(out), '--bench-repeats', '3',
                check=True)
    assert 'zoo (full): 1 configs' in proc.stdout
    (row,) = list(csv.DictReader(open(out)))
    assert row['config'] == 'tests/data/toy_config.py' and row['iterations'] == '4'
    assert float(row['mIoU']) >= 0 and int(row['params']) > 0 and float(row['latency_ms']) > 0
    assert (tmp_path / 'zoo' / 'full' / 'toy_config' / 'benchmark.json').exists()


def test_demo_profile_maps_to_demo_configs():
    from tools.run_zoo import demo_config
    assert demo_config('configs/bisenetv1_celebamask.py') == 'configs/demo/bisenetv1_demo.py'
    assert demo_config('configs/bisenetv1-fp_celebamask.py') == 'configs/demo/bisenetv1-fp_demo.py'
    assert demo_config('configs/demo/bisenetv1_demo.py') == 'configs/demo/bisenetv1_demo.py'
