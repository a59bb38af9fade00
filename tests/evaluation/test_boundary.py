"""Boundary F1 on hand-made label maps with hand-computed answers."""
import numpy as np
import pytest

from faceparse_mm.datasets import CLASSES
from faceparse_mm.evaluation import FaceParsingMetric
from faceparse_mm.evaluation.boundary import boundary_band, boundary_counts, boundary_f1

from .test_face_metric import _sample


def _halves():
    """6x6: columns 0-2 class 1, columns 3-5 class 2; the prediction moves the edge one column
    right (columns 0-3 class 1)."""
    label = np.ones((6, 6), np.int64)
    label[:, 3:] = 2
    pred = np.ones((6, 6), np.int64)
    pred[:, 4:] = 2
    return pred, label


def test_band_is_the_strip_of_width_w_on_each_side_of_the_edge():
    _, label = _halves()
    for width, cols in ((1, [2, 3]), (2, [1, 2, 3, 4])):
        band = boundary_band(label, 1, width)
        expected = np.zeros((6, 6), bool)
        expected[:, cols] = True
        np.testing.assert_array_equal(band, expected)  # the image border is no edge
    assert not boundary_band(label, 5, 1).any()  # a class that is absent has no band
    with pytest.raises(ValueError, match='positive'):
        boundary_band(label, 1, 0)


def test_hand_computed_boundary_f1_and_region_f1_differ():
    pred, label = _halves()
    # w=1, band of class 1 = columns 2, 3: true class 1 there = column 2 (6 px), predicted
    # class 1 = columns 2, 3 (12 px), both = 6 -> 2*6/18; class 2: true column 3 (6), never
    # predicted in its band -> 0
    counts = boundary_counts(pred, label, 3, 1)
    np.testing.assert_array_equal(counts, [[0, 6, 0], [0, 6, 6], [0, 12, 0]])
    np.testing.assert_allclose(boundary_f1(counts)[1:], [2 / 3, 0.0])
    assert np.isnan(boundary_f1(counts)[0])  # no band anywhere: undefined, not 0
    # w=2, bands = columns 1-4: class 1: true 12, predicted 18, both 12 -> 24/30; class 2:
    # true 12 (columns 3, 4), predicted 6 (column 4), both 6 -> 12/18
    np.testing.assert_allclose(boundary_f1(boundary_counts(pred, label, 3, 2))[1:], [0.8, 2 / 3])


def test_ignored_pixels_make_no_edge_and_are_not_counted():
    pred, label = _halves()
    label[:, 3:] = 255  # the right half is not annotated: class 1 has no edge left
    assert boundary_counts(pred, label, 3, 1).sum() == 0
    pred, label = _halves()
    label[0, 2] = 255  # one band pixel not annotated: 5 px of class 1 left in its band
    np.testing.assert_array_equal(boundary_counts(pred, label, 3, 1)[:, 1], [5, 5, 11])


def test_metric_reports_boundary_f1_summed_over_images_and_is_off_by_default():
    pred, label = _halves()
    metric = FaceParsingMetric(boundary_width=1)
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, [_sample(pred, label), _sample(label, label)])  # the second is perfect
    out = metric.compute_metrics(metric.results)
    # class 1 over both images: tp 6 + 6, gt 6 + 6, pred 12 + 6 -> 24/30; class 2: 6/(12 + 6)
    assert out['BF1.skin'] == 80.0 and out['BF1.l_brow'] == pytest.approx(66.67, abs=0.01)
    assert out['mBF1'] == pytest.approx((80.0 + 200 / 3) / 2, abs=0.01)  # absent classes NaN
    assert np.isnan(out['BF1.background'])
    plain = FaceParsingMetric()
    plain.dataset_meta = dict(classes=CLASSES)
    plain.process({}, [_sample(pred, label), _sample(label, label)])
    plain_out = plain.compute_metrics(plain.results)
    assert not any(k.startswith(('BF1', 'mBF1')) for k in plain_out)
    assert {k: v for k, v in out.items() if 'BF1' not in k} == pytest.approx(plain_out,
                                                                             nan_ok=True)
    with pytest.raises(ValueError, match='boundary_width'):
        FaceParsingMetric(boundary_width=0)
