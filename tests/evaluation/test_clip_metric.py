"""FaceClipMetric: FaceParsingMetric's per-frame numbers plus flicker, on hand-made clips."""
import numpy as np
import pytest
import torch

from faceparse_mm.datasets import CELEBAMASK_HQ
from faceparse_mm.evaluation import FaceClipMetric, FaceParsingMetric

SKIN, NOSE, HAIR = 1, 10, 17


def _sample(clip, t, pred, label):
    return dict(clip=clip, frame_index=t, img_path=f'{clip}/{t}.png',
                pred_sem_seg=dict(data=torch.as_tensor(pred)[None]),
                gt_sem_seg=dict(data=torch.as_tensor(label)[None]))


def _evaluate(sequence, metric=None, batch=1):
    """``sequence``: (clip, frame, pred, label) tuples, in the order they are processed."""
    metric = metric or FaceClipMetric()
    metric.dataset_meta = CELEBAMASK_HQ
    samples = [_sample(*s) for s in sequence]
    for i in range(0, len(samples), batch):
        metric.process([], samples[i:i + batch])
    return metric.compute_metrics(metric.results)


def _static_label(size=8):
    label = np.full((size, size), SKIN, np.int64)
    label[2:4, 2:6] = NOSE  # 8 nose pixels
    label[:, 6:] = HAIR  # 16 hair pixels
    return label


def test_a_perfect_prediction_has_no_flicker():
    label = _static_label()
    moving = [np.roll(label, t, axis=1) for t in range(5)]  # the ground truth moves
    out = _evaluate([('a', t, m, m) for t, m in enumerate(moving)])
    assert out['flicker'] == 0 and out['mFlicker'] == 0 and out['frame_pairs'] == 4
    assert out['mF1'] == 100.0


def test_a_prediction_alternating_between_two_labels_flickers_by_its_share():
    """Static ground truth; on the nose (8 of 64 pixels) the prediction alternates nose / skin
    every frame: 8 of 64 stable pixels flicker in every pair (12.5%); per class the nose
    flickers 100%, skin and hair 0%; mFlicker is their mean over the foreground present."""
    label = _static_label()
    wrong = label.copy()
    wrong[label == NOSE] = SKIN
    preds = [label if t % 2 == 0 else wrong for t in range(6)]
    out = _evaluate([('a', t, p, label) for t, p in enumerate(preds)], batch=4)
    assert out['flicker'] == pytest.approx(12.5)
    assert out['flicker.nose'] == 100.0
    assert out['flicker.skin'] == 0.0 and out['flicker.hair'] == 0.0
    assert out['mFlicker'] == pytest.approx(100 / 3, abs=1e-3)
    assert np.isnan(out['flicker.hat'])  # never stable: undefined, left out of the mean
    assert out['frame_pairs'] == 5


def test_pixels_whose_ground_truth_changes_or_is_ignored_are_not_counted():
    label = _static_label()
    nxt = label.copy()
    nxt[0, :4] = HAIR  # 4 pixels change in the ground truth
    nxt[7, :2] = 255  # 2 pixels ignored
    pred_a = label.copy()
    pred_b = label.copy()
    pred_b[0, :4] = NOSE  # the prediction changes where the ground truth does: not flicker
    pred_b[7, :2] = NOSE  # nor where it is ignored
    pred_b[5, 0] = NOSE  # one stable skin pixel flickers
    out = _evaluate([('a', 0, pred_a, label), ('a', 1, pred_b, nxt)])
    assert out['flicker'] == pytest.approx(100 / (64 - 4 - 2), abs=1e-3)


def test_no_pair_is_formed_across_two_clips():
    label = _static_label()
    other = np.full((8, 8), HAIR)
    out = _evaluate([('a', 0, label, label), ('a', 1, label, label),
                     ('b', 0, other, label), ('b', 1, other, label)])
    assert out['frame_pairs'] == 2 and out['flicker'] == 0


def test_the_per_frame_numbers_are_face_parsing_metrics():
    g = torch.Generator().manual_seed(0)
    seq = [('a', t, torch.randint(0, 19, (8, 8), generator=g),
            torch.randint(0, 19, (8, 8), generator=g)) for t in range(4)]
    clip = _evaluate(seq)
    image = FaceParsingMetric()
    image.dataset_meta = CELEBAMASK_HQ
    image.process([], [_sample(*s) for s in seq])
    plain = image.compute_metrics(image.results)
    assert {k: clip[k] for k in plain} == pytest.approx(plain, nan_ok=True)


def test_frames_out_of_order_or_without_clip_metainfo_are_refused():
    label = _static_label()
    with pytest.raises(ValueError, match=r"clip 'a' frame 2 .* came after frame 0"):
        _evaluate([('a', 0, label, label), ('a', 2, label, label)])
    with pytest.raises(ValueError, match="clip 'a' .* came back after other clips"):
        _evaluate([('a', 0, label, label), ('b', 0, label, label), ('a', 1, label, label)])
    metric = FaceClipMetric()
    metric.dataset_meta = CELEBAMASK_HQ
    sample = _sample('a', 0, label, label)
    del sample['clip']
    with pytest.raises(ValueError, match='needs clip and frame_index'):
        metric.process([], [sample])


def test_the_order_state_is_reset_between_evaluations():
    """A validation run after another starts clean: the same clip again is not 'came back'."""
    label = _static_label()
    metric = FaceClipMetric()
    seq = [('a', 0, label, label), ('a', 1, label, label)]
    _evaluate(seq, metric)
    metric.results.clear()
    assert _evaluate(seq, metric)['frame_pairs'] == 1


def test_mflicker_is_the_mean_over_the_foreground_classes_only():
    """The background flickers on every pair, the nose on 2 of 4 pairs, skin and hair never:
    mFlicker is the mean of the foreground classes' flicker (nose 50, skin 0, hair 0), the
    background left out; with ``foreground`` given, the mean over those classes."""
    label = _static_label()
    label[6:, :6] = 0  # 12 background pixels
    preds = []
    for t in range(5):
        pred = label.copy()
        if t % 2:
            pred[label == 0] = HAIR  # the background flickers in every pair
        if t == 2:
            pred[label == NOSE] = SKIN  # the nose flickers in pairs (1, 2) and (2, 3)
        preds.append(pred)
    seq = [('a', t, p, label) for t, p in enumerate(preds)]
    out = _evaluate(seq)
    assert out['flicker.background'] == 100.0 and out['flicker.nose'] == 50.0
    foreground = [out[f'flicker.{name}'] for name in CELEBAMASK_HQ['classes'][1:]]
    foreground = [v for v in foreground if not np.isnan(v)]
    assert len(foreground) == 3  # skin, nose, hair
    assert out['mFlicker'] == pytest.approx(np.mean(foreground), abs=1e-3)
    assert out['mFlicker'] == pytest.approx(50 / 3, abs=1e-3)
    chosen = _evaluate(seq, FaceClipMetric(foreground=[SKIN, NOSE]))
    assert chosen['mFlicker'] == pytest.approx(25.0)


def test_every_pair_of_a_batch_is_counted():
    """Only the first of three pairs flickers (the 8 nose pixels): the same flicker whether
    the frames come one at a time or all in one batch."""
    label = _static_label()
    wrong = label.copy()
    wrong[label == NOSE] = SKIN
    seq = [('a', t, p, label) for t, p in enumerate([label, wrong, wrong, wrong])]
    one, four = _evaluate(seq, batch=1), _evaluate(seq, batch=4)
    assert one['frame_pairs'] == four['frame_pairs'] == 3
    assert one['flicker'] == four['flicker'] == pytest.approx(100 * 8 / (3 * 64), abs=1e-3)
    assert one['flicker.nose'] == four['flicker.nose'] == pytest.approx(100 / 3, abs=1e-3)


def test_clips_of_one_frame_form_no_pair_and_leave_the_flicker_undefined():
    label = _static_label()
    out = _evaluate([(clip, 0, label, label) for clip in 'abc'])
    assert out['frame_pairs'] == 0
    assert np.isnan(out['flicker']) and np.isnan(out['mFlicker'])
    assert out['mF1'] == 100.0
