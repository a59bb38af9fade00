import math

import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from faceparse_mm.datasets import CLASSES
from faceparse_mm.evaluation import FaceParsingMetric, confusion_matrix, metrics_from_confusion


def _sample(pred, gt):
    s = SegDataSample()
    s.pred_sem_seg = PixelData(data=torch.as_tensor(pred)[None])
    s.gt_sem_seg = PixelData(data=torch.as_tensor(gt)[None])
    s.set_metainfo(dict(img_path='x.jpg'))
    return s.to_dict()


def _reference(preds, gts, n, ignore=255):
    """Set-based per-class IoU/F1/Acc over all pixels of all images (independent of any
    confusion matrix)."""
    p = np.concatenate([x.ravel() for x in preds])
    g = np.concatenate([x.ravel() for x in gts])
    keep = g != ignore
    p, g = p[keep], g[keep]
    iou, f1, acc = [], [], []
    for c in range(n):
        P, G = p == c, g == c
        inter = np.sum(P & G)
        union = np.sum(P | G)
        iou.append(inter / union if union else math.nan)
        f1.append(2 * inter / (P.sum() + G.sum()) if union else math.nan)
        acc.append(inter / G.sum() if G.sum() else math.nan)
    return np.array(iou), np.array(f1), np.array(acc), np.mean(p == g)


def test_metric_matches_independent_computation_with_nan_and_ignore():
    rng = np.random.default_rng(0)
    n = len(CLASSES)
    preds, gts = [], []
    for _ in range(3):
        gt = rng.integers(0, 15, (20, 24))  # classes 15..18 absent from ground truth
        pred = gt.copy()
        flip = rng.random(gt.shape) < 0.3
        pred[flip] = rng.integers(0, 17, flip.sum())  # 16 predicted but never true; 17, 18 nowhere
        gt[rng.random(gt.shape) < 0.1] = 255  # ignored pixels
        preds.append(pred)
        gts.append(gt)
    metric = FaceParsingMetric()
    metric.dataset_meta = dict(classes=CLASSES)
    for pred, gt in zip(preds, gts):
        metric.process({}, [_sample(pred, gt)])
    out = metric.compute_metrics(metric.results)
    iou, f1, acc, aacc = _reference(preds, gts, n)
    assert np.isnan(iou[17]) and np.isnan(iou[18]) and iou[16] == 0
    assert out['aAcc'] == pytest.approx(aacc * 100, abs=0.01)
    assert out['mIoU'] == pytest.approx(np.nanmean(iou) * 100, abs=0.01)
    assert out['mAcc'] == pytest.approx(np.nanmean(acc) * 100, abs=0.01)
    assert out['mF1'] == pytest.approx(np.nanmean(f1[1:]) * 100, abs=0.01)
    assert out['mF1'] != pytest.approx(np.nanmean(f1) * 100, abs=0.01)  # background excluded
    assert math.isnan(out['IoU.hair']) and out['F1.cloth'] == 0
    assert out['F1.skin'] == pytest.approx(f1[1] * 100, abs=0.01)


def test_confusion_matrix_agrees_with_bincount_formulas():
    """The common numpy form: confusion = bincount(n * label + pred); class IoU =
    diag / (row + col -
    diag) with the denominator clamped to 1. Equal wherever the denominator is non-zero."""
    rng = np.random.default_rng(1)
    n = 19
    gt = rng.integers(0, 12, 5000)
    pred = np.where(rng.random(5000) < 0.7, gt, rng.integers(0, 12, 5000))
    ref_conf = np.bincount(n * gt + pred, minlength=n * n).reshape(n, n)
    ours = confusion_matrix(pred, gt, n)
    np.testing.assert_array_equal(ours, ref_conf)
    diag = np.diag(ref_conf)
    ref_iou = diag / np.maximum(ref_conf.sum(1) + ref_conf.sum(0) - diag, 1)
    from faceparse_mm.evaluation import metrics_from_confusion
    m = metrics_from_confusion(ours)
    defined = ~np.isnan(m['IoU'])
    np.testing.assert_allclose(m['IoU'][defined], ref_iou[defined])
    assert defined.sum() == 12
    ref_pixel_acc = np.diag(ref_conf).sum() / ref_conf.sum()
    assert m['aAcc'] == pytest.approx(ref_pixel_acc * 100)


def test_label_outside_range_is_an_error():
    with pytest.raises(ValueError, match='outside'):
        confusion_matrix(np.zeros(4, int), np.array([0, 1, 19, 255]), 19)


def test_writes_predictions_when_output_dir(tmp_path):
    metric = FaceParsingMetric(output_dir=str(tmp_path), format_only=True)
    metric.dataset_meta = dict(classes=CLASSES)
    pred = np.arange(12).reshape(3, 4) % 19
    metric.process({}, [_sample(pred, pred)])
    from PIL import Image
    np.testing.assert_array_equal(np.array(Image.open(tmp_path / 'x.png')), pred)


def test_out_of_range_predictions_are_refused_and_single_pixels_count():
    label = np.zeros((4, 4), np.int64)
    with pytest.raises(ValueError, match='predicted class ids'):
        confusion_matrix(np.full((4, 4), 19), label, 19)  # 19 is one past the last class
    pred = label.copy()
    pred[0, 0] = 3  # one pixel predicted as class 3, absent from the labels
    m = metrics_from_confusion(confusion_matrix(pred, label, 19))
    assert m['F1'][3] == 0 and m['IoU'][3] == 0  # defined (a false positive), not NaN
    assert np.isnan(m['F1'][4])  # absent from both: undefined
