import csv

from tools.analysis import make_leaderboard as lb
from tools.run_zoo import zoo_configs


def test_readme_and_docs_are_what_the_results_files_give():
    """README's model table, docs/results.md and docs/protocol.md are generated: edit the results
    (or the protocol), not the docs."""
    for path, text in lb.outputs(lb.osp.join(lb.ROOT, 'README.md'),
                                 lb.osp.join(lb.ROOT, 'docs', 'results.md')).items():
        assert open(path).read() == text, (
            f'{path} is not what results/ gives: run python tools/analysis/make_leaderboard.py')


def _write(path, rows):
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=sorted({k for r in rows for k in r}))
        writer.writeheader()
        writer.writerows(rows)


def test_model_table_has_one_row_per_config_with_its_numbers(tmp_path):
    demo, bench = tmp_path / 'demo.csv', tmp_path / 'bench.csv'
    _write(demo, [dict(config='configs/demo/bisenetv1_demo.py', mF1='61.234')])
    _write(bench, [dict(config='configs/bisenetv1_celebamask.py', params_inference='13340563',
                        gmacs='14.861', latency_best_ms='120.44', best_mode='fold_bn',
                        latency_vs_reference='1.104', device_name='Some CPU'),
                   dict(config='configs/bisenetv1-fp_celebamask.py', reference='x',
                        device_name='Some CPU', latency_best_ms='109.1')])
    table = lb.model_table((str(demo), str(bench)))
    rows = [line for line in table.splitlines() if line.startswith('| [`')]
    assert len(rows) == len(zoo_configs())
    (seed,) = [r for r in rows if '`bisenetv1_celebamask.py`' in r]
    assert '| 13,340,563 | 14.86 | 120.4 (fold_bn) | 1.10x | 61.23 |' in seed
    assert 'BiSeNet V1, R18, spatial path | real-time' in seed
    (fp,) = [r for r in rows if '`bisenetv1-fp_celebamask.py`' in r]
    assert '|  |  | 109.1 |  |  |' in fp  # not measured: empty cells, never zeros
    assert 'on Some CPU' in table


def test_markers_are_required_once():
    text = f'intro\n{lb.BEGIN}\nold table\n{lb.END}\noutro\n'
    assert lb.replace_between_markers(text, 'new\n') == f'intro\n{lb.BEGIN}\nnew\n{lb.END}\noutro\n'
    import pytest
    with pytest.raises(SystemExit, match='markers'):
        lb.replace_between_markers('no markers here', 'x')
    with pytest.raises(SystemExit, match='markers'):
        lb.replace_between_markers(text + lb.BEGIN, 'x')
