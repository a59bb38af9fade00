"""Corruptions: the same pixels for the same image, stronger at each severity, what they claim."""
import numpy as np
import pytest

from faceparse_mm.datasets.synthetic import render_face
from faceparse_mm.evaluation.corruptions import CORRUPTIONS, corrupt, corruption_seed

RANDOM = ('gaussian_noise', 'motion_blur', 'low_light', 'occlusion')  # draw from the generator


@pytest.fixture(scope='module')
def face():
    return np.ascontiguousarray(render_face(np.random.default_rng(3), 96, 48)[0][..., ::-1])


def _distance(a, b):
    return float(np.abs(a.astype(np.float64) - b).mean())


def test_deterministic_per_image_and_different_between_images(face):
    for name in CORRUPTIONS:
        a = corrupt(face, name, 3, key='17')
        assert a.shape == face.shape and a.dtype == np.uint8
        assert np.array_equal(a, corrupt(face.copy(), name, 3, key='17')), name
        assert not np.array_equal(a, face), name
        if name in RANDOM:
            assert not np.array_equal(a, corrupt(face, name, 3, key='18')), name
    assert corruption_seed('17', 'jpeg') == corruption_seed('17', 'jpeg') != \
        corruption_seed('18', 'jpeg')


def test_each_severity_is_stronger_than_the_one_before():
    """One image keeps its noise, blur direction and occluder at every severity, so the change
    grows with the severity."""
    for size in (96, 128):
        img = np.ascontiguousarray(render_face(np.random.default_rng(size), size, 48)[0])
        for name in CORRUPTIONS:
            d = [_distance(corrupt(img, name, s, key='5'), img) for s in range(1, 6)]
            if name == 'motion_blur':  # whole-pixel streaks: two lengths may draw one kernel
                assert all(b >= a for a, b in zip(d, d[1:])) and d[-1] > d[0], (name, d)
            else:
                assert all(b > a for a, b in zip(d, d[1:])), (name, size, d)


def test_corruptions_do_what_they_say(face):
    grey = face.astype(np.float64).mean()
    spread = face.astype(np.float64).std()
    low = corrupt(face, 'contrast', 5, key='1').astype(np.float64)
    assert low.std() == pytest.approx(0.05 * spread, rel=0.3)  # (x - mean) * 0.05 + mean
    assert low.mean() == pytest.approx(grey, abs=3)
    dark = corrupt(face, 'low_light', 5, key='1')
    assert dark.mean() < 0.5 * face.mean()  # gamma 3.5 darkens
    noisy = corrupt(face, 'gaussian_noise', 1, key='1').astype(np.float64) - face
    assert np.std(noisy) == pytest.approx(0.08 * 255, rel=0.25)  # clipping trims a little
    occluded = np.any(corrupt(face, 'occlusion', 5, key='1') != face, axis=2)
    ys, xs = np.nonzero(occluded)
    side = 0.3 * 96
    assert ys.max() - ys.min() + 1 <= side + 1 and xs.max() - xs.min() + 1 <= side + 1
    assert occluded.mean() > 0.5 * 0.3 ** 2  # one square of 30% of the side, changed pixels
    blurred = corrupt(face, 'defocus_blur', 5, key='1').astype(np.float64)
    assert np.abs(np.diff(blurred, axis=1)).mean() < 0.6 * np.abs(np.diff(
        face.astype(np.float64), axis=1)).mean()  # edges softened


def test_bad_arguments_are_refused(face):
    with pytest.raises(ValueError, match='unknown corruption'):
        corrupt(face, 'fog', 1)
    with pytest.raises(ValueError, match='severity'):
        corrupt(face, 'jpeg', 6)
    with pytest.raises(ValueError, match='uint8'):
        corrupt(face.astype(np.float32), 'jpeg', 1)
