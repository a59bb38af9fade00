"""tools/analysis/robustness.py on the toy parser: the clean numbers are tools/test.py's, the
corrupted ones are deterministic, the table, summary, plot and CSV rows are consistent."""
import csv
import json

import pytest

from tools.analysis import robustness

pytestmark = pytest.mark.slow  # the toy_test_run fixture runs tools/test.py (about 10 s)


def _run(run, work, out, *extra):
    robustness.main([run.config, run.checkpoint, '--corruptions', 'gaussian_noise', 'occlusion',
                     '--severities', '1', '5', '--work-dir', str(work), '--out', str(out),
                     *extra, '--cfg-options', *run.options])
    return json.loads((work / 'robustness.json').read_text())


def test_robustness_table_summary_plot_and_rows(toy_test_run, tmp_path):
    out = tmp_path / 'robustness.csv'
    report = _run(toy_test_run, tmp_path / 'w', out)
    tested = json.loads((toy_test_run.work / 'test_metrics.json').read_text())['metrics']
    rows = report['rows']
    clean = rows[0]
    assert clean['corruption'] == 'clean' and clean['relative'] == 1.0
    assert round(clean['mF1'], 2) == tested['mF1']  # loaded and scored as the protocol does
    cells = [r for r in rows if r['corruption'] not in ('clean', 'mean')]
    assert [(r['corruption'], r['severity']) for r in cells] == [
        ('gaussian_noise', 1), ('gaussian_noise', 5), ('occlusion', 1), ('occlusion', 5)]
    assert all(r['relative'] == pytest.approx(r['mF1'] / clean['mF1']) for r in cells)
    assert len({round(r['mF1'], 6) for r in cells}) > 1  # the corruptions change predictions
    mean = sum(r['mF1'] for r in cells) / 4
    assert rows[-1]['corruption'] == 'mean' and rows[-1]['mF1'] == pytest.approx(mean)
    s = report['summary']
    assert s['mean_corruption_mF1'] == pytest.approx(mean)
    assert s['relative'] == pytest.approx(mean / clean['mF1'])
    assert (tmp_path / 'w' / 'robustness.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    table = list(csv.DictReader(open(out)))
    assert len(table) == 6 and table[0]['architecture'] == 'eval_toy_config'
    assert report['commit'] and report['checkpoint'] == toy_test_run.checkpoint
    # deterministic: a rerun gives the same numbers and replaces this config's rows
    again = _run(toy_test_run, tmp_path / 'w2', out)
    assert again['rows'] == rows
    assert len(list(csv.DictReader(open(out)))) == 6


def test_unknown_corruption_and_severity_are_refused(toy_test_run, capsys):
    for bad in (['--corruptions', 'fog'], ['--severities', '6']):
        with pytest.raises(SystemExit) as exit_info:
            robustness.main([toy_test_run.config, toy_test_run.checkpoint, *bad])
        assert exit_info.value.code == 2
    assert 'fog' in capsys.readouterr().err
