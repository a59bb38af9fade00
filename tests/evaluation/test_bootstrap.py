"""Bootstrap intervals and the paired bootstrap on cases whose answer is known."""
import numpy as np
import pytest

from faceparse_mm.evaluation import metrics_from_confusion
from faceparse_mm.evaluation.bootstrap import (
    bootstrap_interval,
    p_value,
    paired_bootstrap,
    resample_counts,
    scores,
)


def _noisy_confs(n=60, c=5, seed=0, flip=0.3):
    """Per-image confusion matrices of random labels with a fraction ``flip`` predicted wrong."""
    rng = np.random.default_rng(seed)
    confs = np.zeros((n, c, c), np.int64)
    for i in range(n):
        gt = rng.integers(0, c, 200)
        pred = np.where(rng.random(200) < flip, rng.integers(0, c, 200), gt)
        np.add.at(confs[i], (gt, pred), 1)
    return confs


def test_batched_scores_are_the_split_metric():
    confs = _noisy_confs()
    confs[:, 3, :] = 0  # class 3 never true ...
    confs[:, :, 3] = 0  # ... nor predicted: NaN, left out of both means
    got = scores(confs)
    for i in range(5):
        m = metrics_from_confusion(confs[i])
        assert got['mF1'][i] == pytest.approx(m['mF1']) and got['mIoU'][i] == pytest.approx(
            m['mIoU'])
    m = metrics_from_confusion(confs[0], foreground=[2, 4])
    assert scores(confs[0], foreground=[2, 4])['mF1'] == pytest.approx(m['mF1'])


def test_identical_runs_differ_by_exactly_zero_with_p_one():
    confs = _noisy_confs()
    out = paired_bootstrap(confs, confs.copy(), n_boot=300)
    for m in ('mF1', 'mIoU'):
        assert out[m]['diff'] == 0 and out[m]['lo'] == 0 and out[m]['hi'] == 0
        assert out[m]['p'] == 1.0


def test_a_run_better_on_every_image_has_p_near_zero():
    b = _noisy_confs(flip=0.4)
    a = np.zeros_like(b)  # perfect on every image: all of each image's pixels on the diagonal
    idx = np.arange(b.shape[1])
    a[:, idx, idx] = b.sum(axis=2)
    out = paired_bootstrap(a, b, n_boot=999)
    for m in ('mF1', 'mIoU'):
        assert out[m]['a'] == 100 and out[m]['diff'] > 0 and out[m]['lo'] > 0
        assert out[m]['p'] == pytest.approx(2 / 1000)  # no resample on the other side of 0
    reverse = paired_bootstrap(b, a, n_boot=999)
    assert reverse['mF1']['hi'] < 0 and reverse['mF1']['p'] == pytest.approx(2 / 1000)


def test_interval_of_a_constant_per_image_metric_collapses():
    confs = np.repeat(_noisy_confs(n=1), 40, axis=0)  # every image the same matrix
    out = bootstrap_interval(confs, n_boot=200)
    for m in ('mF1', 'mIoU'):
        assert out[m]['lo'] == out[m]['value'] == out[m]['hi']
        assert out[m]['std'] == pytest.approx(0, abs=1e-9)


def test_interval_of_a_proportion_matches_its_binomial_spread():
    """One foreground class, one true and one predicted pixel of it per image: F1 of the split
    = the fraction of images where they coincide, a binomial proportion (p = 0.5, n = 400):
    standard error sqrt(p (1 - p) / n) = 2.5 points, 95% interval about +-4.9."""
    n = 400
    hit = np.arange(n) % 2 == 0
    confs = np.zeros((n, 2, 2), np.int64)
    confs[hit, 1, 1] = 1  # the predicted pixel is the true one
    confs[~hit, 1, 0] = 1  # missed it ...
    confs[~hit, 0, 1] = 1  # ... and predicted a background pixel instead
    confs[:, 0, 0] = 10
    out = bootstrap_interval(confs, n_boot=4000, seed=1)['mF1']
    assert out['value'] == 50
    assert out['std'] == pytest.approx(2.5, rel=0.06)
    assert (out['hi'] - out['lo']) / 2 == pytest.approx(1.96 * 2.5, rel=0.08)
    assert out['lo'] < 50 < out['hi']


def test_p_value_agrees_with_the_interval_and_resampling_is_seeded():
    base = _noisy_confs(n=50, seed=3, flip=0.3)
    for seed, flip in ((4, 0.3), (5, 0.26), (6, 0.2), (7, 0.1)):
        other = _noisy_confs(n=50, seed=seed, flip=flip)
        out = paired_bootstrap(other, base, n_boot=500)['mF1']
        assert (out['p'] < 0.05) == (not out['lo'] <= 0 <= out['hi']) or \
            min(abs(out['lo']), abs(out['hi'])) < 0.05  # only at the boundary may they differ
    np.testing.assert_array_equal(resample_counts(10, 5, seed=2), resample_counts(10, 5, seed=2))
    assert resample_counts(10, 5, seed=2).sum(axis=1).tolist() == [10] * 5
    assert p_value(np.array([1.0, 2.0, -1.0])) == pytest.approx(2 * 2 / 4)


def test_bad_input_is_refused():
    confs = _noisy_confs(n=4)
    with pytest.raises(ValueError, match='same images'):
        paired_bootstrap(confs, confs[:3])
    with pytest.raises(ValueError, match='N, C, C'):
        bootstrap_interval(confs[0])
    with pytest.raises(ValueError, match='level'):
        bootstrap_interval(confs, level=95)
