"""The generator's CelebAMask-HQ-pose-anno.txt: the release's format, and the pose the faces
were really drawn with (roll from the eye line, yaw from where the nose sits)."""
import math

import numpy as np
import pytest

from faceparse_mm.datasets.synthetic import (
    face_pose,
    make_synthetic_celebamask,
    render_face,
    write_pose_file,
    yaw_degrees,
)
from faceparse_mm.evaluation.pose import POSE_FILE, read_pose_file


def _centre(mask):
    ys, xs = np.nonzero(mask)
    return xs.mean(), ys.mean()


def test_release_gets_a_pose_file_in_the_release_format(tmp_path):
    make_synthetic_celebamask(str(tmp_path), 5, 48, 24, seed=4, start_index=7)
    lines = (tmp_path / POSE_FILE).read_text().splitlines()
    assert lines[:2] == ['5', 'Yaw Pitch Raw']
    assert [line.split()[0] for line in lines[2:]] == [f'{i}.jpg' for i in range(7, 12)]
    poses = read_pose_file(str(tmp_path / POSE_FILE))
    for i in range(7, 12):
        expected = face_pose(np.random.default_rng([4, i]))
        assert poses[str(i)] == pytest.approx(expected, abs=1e-4)
    before = (tmp_path / POSE_FILE).read_bytes()
    write_pose_file(str(tmp_path), range(7, 12), seed=4)  # written again for the same faces
    assert (tmp_path / POSE_FILE).read_bytes() == before


def test_roll_is_the_angle_of_the_eye_line():
    """Both eyes sit at one height of the unrotated face, so the line from the right eye to the
    left one (image left to right) turns by the roll."""
    checked = 0
    for k in range(12):
        _, masks = render_face(np.random.default_rng([5, k]), 64, 128, max_rotation=20)
        if not {'l_eye', 'r_eye'} <= set(masks):
            continue
        (lx, ly), (rx, ry) = _centre(masks['l_eye']), _centre(masks['r_eye'])
        _, pitch, roll = face_pose(np.random.default_rng([5, k]), max_rotation=20)
        assert math.degrees(math.atan2(ly - ry, lx - rx)) == pytest.approx(roll, abs=2.0)
        assert pitch == 0
        checked += 1
    assert checked >= 8


def test_yaw_sign_and_size_follow_the_nose_shift():
    """A face turned towards +x has its nose right of the face oval's centre, by more the more
    it is turned (no rotation, so image x is the face's x)."""
    shifts, yaws = [], []
    for k in range(16):
        _, masks = render_face(np.random.default_rng([6, k]), 64, 160, max_rotation=0)
        yaw, _, roll = face_pose(np.random.default_rng([6, k]), max_rotation=0)
        assert roll == 0
        width = masks['skin'].any(axis=0).sum()
        shifts.append((_centre(masks['nose'])[0] - _centre(masks['skin'])[0]) / width)
        yaws.append(yaw)
    shifts, yaws = np.array(shifts), np.array(yaws)
    turned = np.abs(yaws) > 3
    assert turned.sum() >= 8 and (np.sign(shifts[turned]) == np.sign(yaws[turned])).all()
    rank = np.corrcoef(np.argsort(np.argsort(shifts)), np.argsort(np.argsort(yaws)))[0, 1]
    assert rank > 0.9


def test_yaw_degrees_from_the_far_side_shrink():
    assert yaw_degrees(0.0) == pytest.approx(0, abs=1e-9)
    assert yaw_degrees(0.6) == pytest.approx(19.4, abs=0.05)  # acos(0.79 cos 24.8) - 24.8
    assert yaw_degrees(-0.3) == -yaw_degrees(0.3)
    values = [yaw_degrees(y) for y in np.linspace(0, 0.6, 7)]
    assert values == sorted(values)
