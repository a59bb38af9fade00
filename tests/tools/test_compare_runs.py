"""tools/test.py --per-image --boundary-width --pose-file on generated faces, then
tools/analysis/compare_runs.py and tools/analysis/pose_buckets.py on what it saved."""
import csv
import json
import shutil

import numpy as np
import pytest

from faceparse_mm.evaluation import metrics_from_confusion
from faceparse_mm.evaluation.per_image import load_per_image, save_per_image
from faceparse_mm.evaluation.pose import POSE_FILE
from tools.analysis import compare_runs, pose_buckets

pytestmark = pytest.mark.slow  # the toy_test_run fixture runs tools/test.py (about 10 s)


def test_test_py_saves_counts_boundary_f1_and_pose_buckets(toy_test_run):
    root, work, proc = toy_test_run[:3]
    record = json.loads((work / 'test_metrics.json').read_text())
    metrics = record['metrics']
    assert record['per_image_out'].endswith('test_per_image.npz') and record['boundary_width'] == 2
    assert 'mBF1' in metrics and 'BF1.skin' in metrics
    saved = load_per_image(str(work))
    n = len(saved['names'])
    assert n >= 12 and saved['boundary'].shape == (n, 3, 19)
    # the saved counts are the split's: summed, they give the reported mF1 and mIoU
    m = metrics_from_confusion(saved['conf'].sum(axis=0))
    assert metrics['mF1'] == round(m['mF1'], 2) and metrics['mIoU'] == round(m['mIoU'], 2)
    # the generated faces came with their pose file; yaw is at most ~19.4 degrees
    assert (root / 'faces' / POSE_FILE).is_file()
    assert metrics['yaw_0-15.images'] + metrics['yaw_15-30.images'] == n
    assert metrics['yaw_>45.images'] == 0 and metrics['pitch_0-15.images'] == n


def _copy(run, out, worse=True):
    """The same images in reverse order (runs are paired by image name), with a tenth of every
    image's correct skin pixels predicted as hair when ``worse``."""
    data = load_per_image(str(run))
    conf = data['conf'].copy()
    moved = conf[:, 1, 1] // 10 + 1 if worse else 0
    conf[:, 1, 1] -= moved
    conf[:, 1, 17] += moved
    order = np.arange(len(conf))[::-1]
    save_per_image(str(out / 'test_per_image.npz'), data['names'][order], conf[order],
                   data['classes'], data['foreground'])
    return out


def test_compare_runs_intervals_and_paired_difference(toy_test_run, tmp_path, capsys):
    _, work, _ = toy_test_run[:3]
    worse = _copy(work, tmp_path / 'run_b')
    same = _copy(work, tmp_path / 'same', worse=False)
    out = tmp_path / 'intervals.csv'
    compare_runs.main([str(work), '--n-boot', '300', '--out', str(out)])
    compare_runs.main([str(work), str(worse), '--n-boot', '300', '--out', str(out)])
    compare_runs.main([str(work), str(same), '--n-boot', '300', '--out', str(out)])
    text = capsys.readouterr().out
    assert 'A - B mF1: +0.00 [+0.00, +0.00], p = 1.0000' in text  # a run against itself
    rows = {r['comparison']: r for r in csv.DictReader(open(out))}
    assert len(rows) == 3
    single = next(r for r in rows.values() if not r['run_b'])
    assert float(single['mF1_a_lo']) <= float(single['mF1_a']) <= float(single['mF1_a_hi'])
    pair = next(r for r in rows.values() if r['run_b'].endswith('run_b'))
    assert float(pair['mF1_diff']) > 0 and float(pair['mF1_diff_lo']) > 0
    assert float(pair['mF1_p']) < 0.01 and pair['commit'] and pair['config_a']
    compare_runs.main([str(work), '--n-boot', '300', '--out', str(out)])  # rerun: replaced
    assert len(list(csv.DictReader(open(out)))) == 3


def test_compare_runs_refuses_runs_on_other_images(toy_test_run, tmp_path, capsys):
    _, work, _ = toy_test_run[:3]
    data = load_per_image(str(work))
    save_per_image(str(tmp_path / 'test_per_image.npz'), data['names'][1:], data['conf'][1:],
                   data['classes'], data['foreground'])
    with pytest.raises(SystemExit) as exit_info:
        compare_runs.main([str(work), str(tmp_path), '--n-boot', '10'])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert 'not tested on the same images: 1 only in A' in err and str(tmp_path) in err


def test_pose_buckets_tool_rows_and_a_missing_pose_file(toy_test_run, tmp_path, capsys):
    root, work, _ = toy_test_run[:3]
    out = tmp_path / 'pose.csv'
    pose_buckets.main([str(work), '--yaw-edges', '10', '20', '--out', str(out)])
    rows = list(csv.DictReader(open(out)))
    yaw = {r['bucket']: r for r in rows if r['axis'] == 'yaw'}
    assert list(yaw) == ['0-10', '10-20', '>20']
    data = load_per_image(str(work))
    assert sum(int(r['images']) for r in yaw.values()) == len(data['names'])
    assert yaw['>20']['mF1'] == ''  # no face is drawn turned by more than ~19.4 degrees
    pitch = [r for r in rows if r['axis'] == 'pitch']
    assert float(pitch[0]['mF1']) == round(metrics_from_confusion(data['conf'].sum(0))['mF1'], 2)
    pose_buckets.main([str(work), '--yaw-edges', '10', '20', '--out', str(out)])  # rerun
    assert len(list(csv.DictReader(open(out)))) == len(rows)  # the run's rows replaced
    # the same counts with the images' pose file gone: said once, nothing written
    moved = tmp_path / 'moved'
    shutil.copytree(work, moved)
    (root / 'faces' / POSE_FILE).rename(root / 'faces' / 'pose.bak')
    try:
        capsys.readouterr()
        pose_buckets.main([str(moved), str(work), '--out', str(tmp_path / 'none.csv')])
        assert capsys.readouterr().out.count('no head-pose file') == 1
        assert not (tmp_path / 'none.csv').exists()
    finally:
        (root / 'faces' / 'pose.bak').rename(root / 'faces' / POSE_FILE)


def test_copies_in_one_folder_are_told_apart_by_their_names(toy_test_run, tmp_path):
    """results/per_image/NAME.npz copies: each is a run of its own, named by its file."""
    folder = tmp_path / 'per_image'
    folder.mkdir()
    for name in ('bisenetv2_demo', 'sfnet-r18_demo'):
        shutil.copy(toy_test_run.work / 'test_per_image.npz', folder / f'{name}.npz')
    row = compare_runs.compare(str(folder / 'bisenetv2_demo.npz'),
                               str(folder / 'sfnet-r18_demo.npz'), n_boot=20)
    assert row['comparison'] == f'{folder}/bisenetv2_demo vs {folder}/sfnet-r18_demo'
    assert row['mF1_diff'] == 0
    out = tmp_path / 'pose.csv'
    pose_buckets.main([str(folder / 'bisenetv2_demo.npz'), str(folder / 'sfnet-r18_demo.npz'),
                       '--out', str(out)])
    assert {(r['run'], r['architecture']) for r in csv.DictReader(open(out))} == {
        (f'{folder}/bisenetv2_demo', 'bisenetv2'), (f'{folder}/sfnet-r18_demo', 'sfnet-r18')}
