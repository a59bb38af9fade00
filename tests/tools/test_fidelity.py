"""tools/analysis/fidelity.py: per config, the worst of its stored comparisons with the authors."""
import glob
import json
import os.path as osp

from tools.analysis import fidelity


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
