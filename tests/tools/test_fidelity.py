"""tools/analysis/fidelity.py: per config, the worst of its stored comparisons with the authors."""
import glob
import json
import os.path as osp

from tools.analysis import fidelity
from tools.analysis import make_leaderboard as lb
from tools.analysis.collect_results import write_csv


def test_each_config_gets_the_worst_difference_of_its_own_references(tmp_path):
    for name, config in (('a', 'configs/a_celebamask.py'), ('b', 'configs/b_celebamask.py')):
        (tmp_path / f'{name}.json').write_text(json.dumps(dict(
            config=config, repository=f'https://example.org/{name}', commit=name * 3)))
    record = dict(
        loaded={'tests.converters.test_a': 'a', 'tests.converters.test_b': 'b'},
        measured=[
            dict(test='tests/converters/test_a.py::test_x', output='main',
                 relative_difference=2e-6),
            dict(test='tests/converters/test_a.py::test_y', output='aux',
                 relative_difference=5e-7),
            dict(test='tests/converters/test_b.py::test_x', output='main',
                 relative_difference=0.3)],
        exitstatus=1)
    rows = {r['config']: r for r in fidelity.rows(record, str(tmp_path))}
    a, b = rows['configs/a_celebamask.py'], rows['configs/b_celebamask.py']
    assert a['max_relative_difference'] == 2e-6 and a['status'] == 'equal'
    assert a['outputs_compared'] == 2 and a['references'] == 'a' and a['commits'] == 'aaa'
    assert b['max_relative_difference'] == 0.3 and b['status'] == 'differs'
    assert b['outputs_compared'] == 1
    for config in fidelity.NO_PUBLIC_CODE:
        assert rows[config]['status'] == 'no public code'


def test_every_stored_reference_names_a_config_that_exists():
    paths = glob.glob(osp.join(fidelity.ROOT, fidelity.REFERENCES, '*.json'))
    assert paths
    for path in paths:
        with open(path) as f:
            config = json.load(f).get('config')
        assert config and osp.isfile(osp.join(fidelity.ROOT, config)), path


def test_the_model_table_shows_the_difference_the_range_and_the_other_run(tmp_path):
    bench, demo, fid = (str(tmp_path / n) for n in ('bench.csv', 'demo.csv', 'fidelity.csv'))
    write_csv([dict(config='configs/bisenetv1-fp_celebamask.py', latency_best_ms=80.0,
                    latency_vs_reference=1.0, reference='r', date='2026-01-01'),
               dict(config='configs/dynamic-routing-l16_celebamask.py', gmacs=12.0,
                    gmacs_min=10.5, gmacs_max=13.25, latency_best_ms=300.0,
                    latency_vs_reference=2.0, date='2026-02-02', commit='abc')], bench)
    write_csv([dict(config='configs/demo/regseg_demo.py', mF1=60.0)], demo)
    write_csv([dict(config='configs/dynamic-routing-l16_celebamask.py', status='equal',
                    max_relative_difference=3.2e-6),
               dict(config='configs/acfnet-r101-d8_celebamask.py', status='no public code')],
              fid)
    table = lb.model_table((demo, bench), fid)
    cells = {line.split('`')[1]: [c.strip() for c in line.strip('|').split('|')]
             for line in table.splitlines() if line.startswith('| [`')}
    routing = cells['dynamic-routing-l16_celebamask.py']
    assert routing[4] == '12.00 (10.50-13.25)' and routing[-1] == '3e-06'
    assert cells['acfnet-r101-d8_celebamask.py'][-1] == 'no public code'
    assert cells['regseg_celebamask.py'][-1] == '' and cells['regseg_celebamask.py'][4] == ''
    assert ('`dynamic-routing-l16` was measured in another run (2026-02-02, commit abc), where '
            '`bisenetv1-fp` took 150.0 ms') in table
