"""The results notebook's evaluation panels (seed spread, head pose, corruptions, confusion
matrix) from small fake files; tests/notebooks/test_results_notebook.py covers the rest and the
panels' absence."""
import numpy as np

from faceparse_mm.datasets.class_table import CLASSES

from .test_results_notebook import (
    ARCHS,
    execute,
    fake_benchmark,
    fake_curves,
    n_images,
    printed,
    write_csv,
)


def seeded_results(tmp_path):
    """One run per architecture, plus two more seeds of alpha (mF1 80, 78, 82: mean 80, std 2)."""
    rows = [dict(config=f'configs/demo/{n}_demo.py', architecture=n, family=f, mF1=m,
                 mIoU=m - 10, seed='') for n, (f, m, _, _) in ARCHS.items()]
    rows += [dict(rows[0], mF1=78.0, seed=1), dict(rows[0], mF1=82.0, seed=2)]
    path = tmp_path / 'acc.csv'
    write_csv(path, list(rows[0]), rows)
    return path


def fake_pose(tmp_path):
    counts = {'0-15': 10, '15-30': 5, '30-45': 0, '>45': 0}
    rows = []
    for name, drop in (('alpha', 5), ('beta', 10)):
        for i, (bucket, n) in enumerate(counts.items()):
            rows.append(dict(architecture=name, axis='yaw', bucket=bucket, images=n,
                             mF1=(80 - drop * i) if n else None))
        rows.append(dict(architecture=name, axis='pitch', bucket='0-15', images=15, mF1=75))
    path = tmp_path / 'pose.csv'
    write_csv(path, ['architecture', 'axis', 'bucket', 'images', 'mF1'], rows)
    return path


def fake_robustness(tmp_path):
    rows = []
    for name, rel in (('beta', 0.6), ('alpha', 0.8)):
        rows.append(dict(architecture=name, corruption='clean', severity=0, mF1=70, relative=1.0))
        for c in ('jpeg', 'occlusion'):
            for s in (1, 5):
                rows.append(dict(architecture=name, corruption=c, severity=s, mF1=70 * rel,
                                 relative=rel))
        rows.append(dict(architecture=name, corruption='mean', severity='', mF1=70 * rel,
                         relative=rel))
    path = tmp_path / 'rob.csv'
    write_csv(path, ['architecture', 'corruption', 'severity', 'mF1', 'relative'], rows)
    return path


def fake_confusion(tmp_path):
    """results/per_image/ with the counts of alpha, beta and of a run the accuracy CSV does not
    list (first by name); half of alpha's l_eye pixels are predicted r_eye."""
    folder = tmp_path / 'per_image'
    folder.mkdir()
    n = len(CLASSES)
    for name in ('beta_demo', 'alpha_demo', 'aaa_demo'):
        conf = np.zeros((2, n, n), np.int64)
        conf[:, np.arange(n), np.arange(n)] = 100
        if name == 'alpha_demo':
            conf[:, 4, 4], conf[:, 4, 5] = 50, 50
        np.savez(folder / f'{name}.npz', names=np.array(['0.jpg', '1.jpg']), conf=conf,
                 classes=np.array(CLASSES), foreground=np.arange(1, n))
    return folder


def test_evaluation_panels_render_from_their_files(tmp_path, monkeypatch):
    monkeypatch.setenv('FACEPARSE_POSE', str(fake_pose(tmp_path)))
    monkeypatch.setenv('FACEPARSE_ROBUSTNESS', str(fake_robustness(tmp_path)))
    monkeypatch.setenv('FACEPARSE_CONFUSION', str(fake_confusion(tmp_path)))
    outputs, text, _ = execute(monkeypatch, seeded_results(tmp_path), fake_benchmark(tmp_path),
                               fake_curves(tmp_path))
    # Pareto, training curves (no per-class columns: no F1 heatmap), then the four new panels
    assert n_images(outputs) == 6
    assert printed(text, 'runs per architecture:') == ['alpha 3', 'beta 1', 'gamma 1']
    assert printed(text, 'yaw buckets (images):') == ['0-15 (10)', '15-30 (5)', '30-45 (0)',
                                                      '>45 (0)']
    assert printed(text, 'robustness (mean corrupted mF1 / clean):') == ['alpha 0.800',
                                                                        'beta 0.600']
    assert 'confusion matrix of alpha_demo' in text  # the best architecture's counts
    assert printed(text, 'largest confusions (true -> predicted):')[0] == 'l_eye -> r_eye 0.50'
