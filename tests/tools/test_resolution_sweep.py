"""tools/analysis/resolution_sweep.py on the toy parser: at the label size it reproduces
tools/test.py's numbers; other sizes are scored against the same, unresized labels."""
import csv
import json

import numpy as np
import pytest

from tools.analysis import resolution_sweep

pytestmark = pytest.mark.slow  # the toy_test_run fixture runs tools/test.py (about 10 s)


def test_sweep_rows_per_size_with_latency(toy_test_run, tmp_path):
    out = tmp_path / 'sweep.csv'
    resolution_sweep.main([toy_test_run.config, toy_test_run.checkpoint, '--sizes', '32', '96',
                           '64', '--repeats', '2', '--warmup', '0', '--work-dir',
                           str(tmp_path / 'w'), '--out', str(out), '--cfg-options',
                           *toy_test_run.options])
    report = json.loads((tmp_path / 'w' / 'resolution_sweep.json').read_text())
    rows = {r['size']: r for r in report['rows']}
    assert list(rows) == [32, 64, 96]  # sorted
    tested = json.loads((toy_test_run.work / 'test_metrics.json').read_text())['metrics']
    assert round(rows[64]['mF1'], 2) == tested['mF1']  # the labels' size: the protocol's run
    assert round(rows[64]['mIoU'], 2) == tested['mIoU']
    assert rows[32]['mF1'] != rows[64]['mF1'] != rows[96]['mF1']
    assert all(r['label_size'] == '64x64' and r['images'] == rows[64]['images']
               for r in rows.values())
    assert all(r['latency_ms'] > 0 for r in rows.values())
    assert [r['size'] for r in csv.DictReader(open(out))] == ['32', '64', '96']


def test_bad_sizes_are_refused(toy_test_run):
    with pytest.raises(SystemExit) as exit_info:
        resolution_sweep.main([toy_test_run.config, toy_test_run.checkpoint, '--sizes', '4'])
    assert exit_info.value.code == 2


class _TwoByTwo:
    """A parser stand-in: at 2x2 it gives class 1 the probabilities 0.1 (left column) and 0.6
    (right column)."""

    input_size = None

    def __call__(self, images, return_probs=False):
        assert self.input_size == (2, 2) and all(i.shape[:2] == (2, 2) for i in images)
        p1 = np.array([[0.1, 0.6], [0.1, 0.6]], np.float32)
        return [(None, np.stack([1 - p1, p1])) for _ in images]


def test_probabilities_are_resized_bilinearly_to_the_label_size():
    """Bilinear (half-pixel centres) from 2 to 4 columns: class 1 at 0.1, 0.225, 0.475, 0.6,
    so only the last column is class 1 (nearest neighbour would give the last two)."""
    (pred,) = resolution_sweep.predict_at(_TwoByTwo(), [np.zeros((4, 4, 3), np.uint8)], 2)
    np.testing.assert_array_equal(pred, [[0, 0, 0, 1]] * 4)
