import cv2
import numpy as np

from tools.analysis.stride_ceiling import oracle_prediction, stride_ceiling


def _root(tmp_path, label):
    (tmp_path / 'mask').mkdir()
    (tmp_path / 'splits').mkdir()
    cv2.imwrite(str(tmp_path / 'mask' / '7.png'), label)
    (tmp_path / 'splits' / 'test.txt').write_text('7\n')
    return tmp_path


def _label():
    label = np.zeros((64, 64), np.uint8)
    label[16:48, 16:48] = 1  # a large square, aligned to 8-pixel cells
    label[4, 8:56] = 2  # a 1-pixel line: a small fraction of any cell it crosses
    label[60:, 60:] = 255  # ignored corner
    return label


def test_oracle_is_exact_at_stride_one_and_loses_thin_parts_at_stride_eight():
    label = _label()
    pred1 = oracle_prediction(label, 1)
    keep = label != 255
    assert (pred1[keep] == label[keep]).all()
    pred8 = oracle_prediction(label, 8)
    assert not (pred8 == 2).any()  # the line is 1/8 of each cell it crosses
    assert (pred8[20:44, 20:44] == 1).all()  # the square's inside survives
    # a 60x60 map is not a multiple of 8: the partial cells still give a full-size prediction
    assert oracle_prediction(label[:60, :60], 8).shape == (60, 60)


def test_split_metrics_fall_with_stride(tmp_path):
    root = _root(tmp_path, _label())
    res = stride_ceiling(str(root), 'test', strides=(1, 8))
    assert res[1]['mF1'] > 99.99 and np.isclose(res[1]['F1'][2], 1.0)
    assert res[8]['F1'][2] == 0 and res[8]['F1'][1] > 0.9
    assert res[8]['mF1'] < res[1]['mF1']


def test_cli_prints_table_and_names_missing_split(tool, tmp_path):
    root = _root(tmp_path, _label())
    proc = tool('tools/analysis/stride_ceiling.py', str(root), '--strides', '1', '8', check=True)
    rows = [line.split() for line in proc.stdout.splitlines() if line.split()[:1] in (['1'], ['8'])]
    assert [r[0] for r in rows] == ['1', '8'] and float(rows[0][1]) > float(rows[1][1])
    bad = tool('tools/analysis/stride_ceiling.py', str(root), '--split', 'val')
    assert bad.returncode == 2 and 'splits/val.txt' in bad.stderr
