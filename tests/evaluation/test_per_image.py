"""Per-image confusion counts: written by the metric, read back, bad files named."""
import os

import numpy as np
import pytest

from faceparse_mm.datasets import CLASSES
from faceparse_mm.errors import FaceDataError
from faceparse_mm.evaluation import FaceParsingMetric, confusion_matrix
from faceparse_mm.evaluation.per_image import (
    PER_IMAGE_FILE,
    load_per_image,
    run_label,
    save_per_image,
)

from .test_face_metric import _sample


def _named(pred, gt, name):
    s = _sample(pred, gt)
    s['img_path'] = name
    return s


def _images(n=3, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        gt = rng.integers(0, 19, (8, 9))
        pred = np.where(rng.random(gt.shape) < 0.3, rng.integers(0, 19, gt.shape), gt)
        out.append((pred, gt, f'root/CelebA-HQ-img/{i}.jpg'))
    return out


def test_metric_writes_each_images_counts_and_the_split_numbers_do_not_change(tmp_path):
    path = str(tmp_path / 'run' / 'test_per_image.npz')
    images = _images()
    metric = FaceParsingMetric(per_image_out=path)
    plain = FaceParsingMetric()
    for m in (metric, plain):
        m.dataset_meta = dict(classes=CLASSES)
        m.process({}, [_named(*x) for x in images])
    out = metric.compute_metrics(metric.results)
    assert out == pytest.approx(plain.compute_metrics(plain.results), nan_ok=True)
    saved = load_per_image(str(tmp_path / 'run'))  # a run directory finds its file
    assert saved['names'].tolist() == [x[2] for x in images]
    for conf, (pred, gt, _) in zip(saved['conf'], images):
        np.testing.assert_array_equal(conf, confusion_matrix(pred, gt, 19))
    assert saved['classes'].tolist() == list(CLASSES)
    assert saved['foreground'].tolist() == list(range(1, 19))
    assert 'boundary' not in saved
    assert os.listdir(tmp_path / 'run') == ['test_per_image.npz']  # no temporary file left


def test_boundary_counts_are_saved_with_the_width(tmp_path):
    path = str(tmp_path / 'b.npz')
    metric = FaceParsingMetric(per_image_out=path, boundary_width=2)
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, [_named(*x) for x in _images(2)])
    metric.compute_metrics(metric.results)
    saved = load_per_image(path)
    assert saved['boundary'].shape == (2, 3, 19) and int(saved['width']) == 2
    assert saved['boundary'].sum() > 0


def test_bad_files_are_named_with_the_key(tmp_path):
    with pytest.raises(FaceDataError, match='--per-image'):
        load_per_image(str(tmp_path))  # a run directory without counts
    good = dict(names=['a', 'b'], confs=np.zeros((2, 3, 3)), classes=['x', 'y', 'z'],
                foreground=[1, 2])
    bad = tmp_path / 'bad.npz'
    np.savez(bad, names=np.array(['a']), conf=np.zeros((1, 3, 3)), classes=np.array(['x']))
    with pytest.raises(FaceDataError, match=r'bad\.npz has no foreground'):
        load_per_image(str(bad))
    np.savez(bad, names=np.array(['a', 'b']), conf=np.zeros((1, 3, 3)),
             classes=np.array(['x', 'y', 'z']), foreground=np.array([1]))
    with pytest.raises(FaceDataError, match=r'conf has shape \(1, 3, 3\), expected \(2, 3, 3\)'):
        load_per_image(str(bad))
    save_per_image(str(bad), **dict(good, names=['a', 'a']))
    with pytest.raises(FaceDataError, match='names repeat'):
        load_per_image(str(bad))
    with pytest.raises(ValueError, match='npz'):
        save_per_image(str(tmp_path / 'x.txt'), **good)
    (tmp_path / 'junk.npz').write_bytes(b'not an archive')
    with pytest.raises(FaceDataError, match='junk.npz'):
        load_per_image(str(tmp_path / 'junk.npz'))


def test_a_run_is_named_by_its_directory_or_file_relative_to_the_repository(tmp_path):
    from faceparse_mm.utils.results import REPO_ROOT
    inside = os.path.join(REPO_ROOT, 'work_dirs', 'zoo', 'demo', 'sfnet-r18_demo')
    assert run_label(os.path.join(inside, PER_IMAGE_FILE)) == os.path.join(
        'work_dirs', 'zoo', 'demo', 'sfnet-r18_demo')
    assert run_label(os.path.join(REPO_ROOT, 'results', 'per_image', 'sfnet-r18_demo.npz')) \
        == os.path.join('results', 'per_image', 'sfnet-r18_demo')
    # a path outside the repository stays absolute; a relative one is taken from the cwd
    assert run_label(str(tmp_path / 'run' / PER_IMAGE_FILE)) == str(tmp_path / 'run')
    cwd = os.getcwd()
    try:
        os.chdir(REPO_ROOT)
        assert run_label(os.path.join('results', 'per_image', 'x.npz')) == os.path.join(
            'results', 'per_image', 'x')
    finally:
        os.chdir(cwd)
