"""Head-pose buckets: the pose file, bucket edges, the metric option and a missing file."""
import logging

import numpy as np
import pytest
from mmengine.logging import MMLogger

from faceparse_mm.datasets import CLASSES
from faceparse_mm.errors import FaceDataError
from faceparse_mm.evaluation import FaceParsingMetric, confusion_matrix, metrics_from_confusion
from faceparse_mm.evaluation.pose import (
    bucket_labels,
    bucket_of,
    image_key,
    pose_buckets,
    read_pose_file,
)

from .test_face_metric import _sample


def _pose_file(path, poses):
    lines = [str(len(poses)), 'Yaw Pitch Raw'] + [f'{name} {y} {p} {r}'
                                                  for name, (y, p, r) in poses.items()]
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


def test_buckets_are_right_open_ranges_of_the_absolute_angle():
    assert bucket_labels() == ['0-15', '15-30', '30-45', '>45']
    assert bucket_labels([10, 20.5]) == ['0-10', '10-20.5', '>20.5']
    assert bucket_of([0, 14.9, -15, 29.99, 30, -44, 45, 90]).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    with pytest.raises(ValueError, match='increasing'):
        bucket_labels([30, 15])
    assert image_key('root/CelebA-HQ-img/00042.jpg') == image_key('42.png') == '42'


def test_pose_file_is_read_and_bad_lines_are_named(tmp_path):
    path = _pose_file(tmp_path / 'pose.txt', {'0.jpg': (1.5, -2, 0.25), '00017.jpg': (-40, 3, 1)})
    assert read_pose_file(path) == {'0': (1.5, -2.0, 0.25), '17': (-40.0, 3.0, 1.0)}
    bad = tmp_path / 'bad.txt'
    bad.write_text('2\nYaw Pitch Raw\n0.jpg 1 2 3\n1.jpg 1 two 3\n')
    with pytest.raises(FaceDataError, match=r'bad\.txt:4: expected "NAME.jpg yaw pitch roll"'):
        read_pose_file(str(bad))
    bad.write_text('2\nYaw Pitch Roll\n')
    with pytest.raises(FaceDataError, match=r'bad\.txt:2: expected the header'):
        read_pose_file(str(bad))
    bad.write_text('3\nYaw Pitch Raw\n0.jpg 1 2 3\n')
    with pytest.raises(FaceDataError, match='says 3 images but lists 1'):
        read_pose_file(str(bad))
    with pytest.raises(FaceDataError, match='cannot read pose file'):
        read_pose_file(str(tmp_path / 'absent.txt'))


def test_bucket_counts_are_summed_over_the_images_of_each_bucket():
    confs = np.arange(4 * 9).reshape(4, 3, 3)
    names = ['a/0.jpg', 'a/1.jpg', 'a/2.jpg', 'a/3.jpg']
    poses = {'0': (5, 20, 0), '1': (-20, -5, 0), '2': (16, 50, 0)}  # image 3 has no pose
    buckets, missing = pose_buckets(confs, names, poses, dict(yaw=(15,)))
    assert missing == 1
    yaw = {b['bucket']: b for b in buckets if b['axis'] == 'yaw'}
    assert list(yaw) == ['0-15', '>15'] and yaw['>15']['images'] == 2
    np.testing.assert_array_equal(yaw['>15']['conf'], confs[1] + confs[2])
    pitch = {b['bucket']: b for b in buckets if b['axis'] == 'pitch'}
    assert [pitch[k]['images'] for k in ('0-15', '15-30', '30-45', '>45')] == [1, 1, 0, 1]
    assert not pitch['30-45']['conf'].any()


def test_metric_reports_pose_buckets_and_says_once_when_the_file_is_missing(tmp_path):
    rng = np.random.default_rng(0)
    images = []
    for i in range(4):
        gt = rng.integers(0, 19, (6, 6))
        pred = np.where(rng.random(gt.shape) < 0.2 * i, rng.integers(0, 19, gt.shape), gt)
        s = _sample(pred, gt)
        s['img_path'] = str(tmp_path / 'CelebA-HQ-img' / f'{i}.jpg')
        images.append((s, pred, gt))
    MMLogger.get_instance('pose_test')  # the metric logs to the current logger
    metric = FaceParsingMetric(pose_file='auto')
    metric.dataset_meta = dict(classes=CLASSES)
    for attempt in range(2):  # two evaluations, the file missing: said once, no bucket keys
        metric.results = []
        metric.process({}, [s for s, _, _ in images])
        with _captured('pose_test') as records:
            out = metric.compute_metrics(metric.results)
        assert not any('yaw' in k or 'pitch' in k for k in out)
        if attempt == 0:
            assert ['no head-pose file' in r for r in records].count(True) == 1
        else:
            assert not any('no head-pose file' in r for r in records)
    _pose_file(tmp_path / 'CelebAMask-HQ-pose-anno.txt',
               {'0.jpg': (3, 1, 0), '1.jpg': (-20, 2, 0), '2.jpg': (25, 3, 0), '3.jpg': (60, 4, 0)})
    metric.results = []
    metric.process({}, [s for s, _, _ in images])
    out = metric.compute_metrics(metric.results)
    assert out['yaw_0-15.images'] == 1 and out['yaw_15-30.images'] == 2
    assert out['yaw_30-45.images'] == 0 and np.isnan(out['yaw_30-45.mF1'])
    assert out['pitch_0-15.images'] == 4
    two = sum(confusion_matrix(p, g, 19) for _, p, g in images[1:3])
    assert out['yaw_15-30.mF1'] == round(metrics_from_confusion(two)['mF1'], 2)
    assert out['pitch_0-15.mF1'] == out['mF1']  # every image in one bucket: the split's number


class _captured:
    """Collect the messages logged to an mmengine logger."""

    def __init__(self, name):
        self.logger = MMLogger.get_instance(name)

    def __enter__(self):
        self.records = []
        self.handler = logging.Handler()
        self.handler.emit = lambda record: self.records.append(record.getMessage())
        self.logger.addHandler(self.handler)
        return self.records

    def __exit__(self, *exc):
        self.logger.removeHandler(self.handler)
