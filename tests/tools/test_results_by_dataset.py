"""A config run on LaPa (``tools/run_zoo.py --dataset lapa``) gets its own row beside the
CelebAMask-HQ row of the same config, and the leaderboards never mix the two datasets."""
import argparse
import csv
import json
import os

import pytest

from faceparse_mm.utils.derive_config import write_derived_config
from tools import run_zoo as zoo
from tools.analysis import make_leaderboard as lb
from tools.analysis.collect_results import collect_row, write_csv

DEMO = 'configs/demo/bisenetv1_demo.py'


def _fake_run(run, config, mf1):
    os.makedirs(run, exist_ok=True)
    with open(os.path.join(run, 'test_metrics.json'), 'w') as f:
        json.dump(dict(config=config, checkpoint=os.path.join(run, 'best_mF1_iter_1200.pth'),
                       commit='abc', date='2026-01-01T00:00:00',
                       metrics={'mF1': mf1, 'F1.mouth': 50.0}), f)
    return str(run)


def _rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_a_lapa_row_sits_beside_the_celebamask_row_of_the_same_config(tmp_path):
    derived = write_derived_config(os.path.join(lb.ROOT, DEMO), 'lapa', str(tmp_path / 'derived'))
    row = collect_row(_fake_run(tmp_path / 'lapa_run', derived, 70.5))
    assert row['config'] == DEMO and row['dataset'] == 'synthetic-lapa (demo)'
    assert row['architecture'] == 'bisenetv1' and row['family'] == 'real-time'
    assert row['iterations'] == 1200
    out = tmp_path / 'zoo_demo.csv'
    celeb = collect_row(_fake_run(tmp_path / 'celeb_run', DEMO, 59.3))
    assert celeb['config'] == DEMO and celeb['dataset'] == 'synthetic-celebamask (demo)'
    write_csv([celeb], str(out), merge=True)
    write_csv([row], str(out), merge=True)
    by_dataset = {r['dataset']: r['mF1'] for r in _rows(out)}
    assert by_dataset == {'synthetic-celebamask (demo)': '59.3', 'synthetic-lapa (demo)': '70.5'}
    write_csv([collect_row(_fake_run(tmp_path / 'lapa_run', derived, 71.0))], str(out),
              merge=True)  # a re-run replaces only its own dataset's row
    by_dataset = {r['dataset']: r['mF1'] for r in _rows(out)}
    assert by_dataset == {'synthetic-celebamask (demo)': '59.3', 'synthetic-lapa (demo)': '71.0'}


def test_leaderboards_keep_the_datasets_apart(tmp_path):
    rows = [dict(config=DEMO, architecture='bisenetv1', dataset='synthetic-celebamask (demo)',
                 mF1='61.234'),
            dict(config=DEMO, architecture='bisenetv1', dataset='synthetic-lapa (demo)',
                 mF1='77.777')]
    demo, bench = tmp_path / 'demo.csv', tmp_path / 'bench.csv'
    for path, content in ((demo, rows), (bench, [dict(config='configs/bisenetv1_celebamask.py')])):
        with open(path, 'w', newline='') as f:
            writer = csv.DictWriter(f, fieldnames=sorted({k for r in content for k in r}))
            writer.writeheader()
            writer.writerows(content)
    table = lb.model_table((str(demo), str(bench)))
    (line,) = [r for r in table.splitlines() if '`bisenetv1_celebamask.py`' in r]
    demo_mf1 = line.strip('|').split('|')[7].strip()  # the table's demo mF1 column
    assert demo_mf1 == '61.23' and '77.78' not in table  # the protocol's number only
    text = '\n'.join(lb.profile_sections('Demo profile', 'results/zoo_demo.csv', 'Note', rows))
    main, lapa = text.split('## Demo profile on synthetic-lapa (demo)')
    assert main.startswith('## Demo profile (`results/zoo_demo.csv`)')
    assert '61.23' in main and '77.78' not in main
    assert '77.78' in lapa and '61.23' not in lapa


def test_run_zoo_dataset_derives_each_config_and_records_it(tmp_path, monkeypatch):
    assert {'celebamask_hq', 'lapa'} <= set(zoo.dataset_names())
    calls = []
    monkeypatch.setattr(zoo, 'run', lambda args, python=True: calls.append(args))
    with pytest.raises(SystemExit, match='no checkpoint'):  # the recorded train made none
        zoo.main(['--profile', 'demo', '--dataset', 'lapa', 'configs/bisenetv1_celebamask.py',
                  '--work-root', str(tmp_path), '--out', str(tmp_path / 'z.csv'),
                  '--curves', ''])
    derived = os.path.join(str(tmp_path), 'derived', 'bisenetv1_lapa_demo.py')
    assert calls[0][:2] == ['tools/train.py', derived]
    assert calls[0][2:4] == ['--work-dir', os.path.join(str(tmp_path), 'demo',
                                                        'bisenetv1_lapa_demo')]
    with open(derived) as f:
        assert f"derived_from = '{DEMO}'" in f.read()
    args = argparse.Namespace(dataset='lapa', gpus=1, cfg_options=[])
    assert zoo.row_command('demo', 'configs/bisenetv1_celebamask.py', args) == (
        'python tools/run_zoo.py --profile demo configs/bisenetv1_celebamask.py --dataset lapa')
    with pytest.raises(SystemExit) as exit_info:
        zoo.main(['--bench-only', '--dataset', 'lapa'])
    assert exit_info.value.code == 2
