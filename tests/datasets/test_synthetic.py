import cv2
import numpy as np
import pytest

from faceparse_mm.datasets.celebamask_convert import convert
from faceparse_mm.datasets.class_table import PART_NAMES as DATASET_PARTS
from faceparse_mm.datasets.synthetic import (
    PART_NAMES,
    make_synthetic_celebamask,
    merge_masks,
    render_face,
)


def test_part_names_match_the_dataset():
    assert PART_NAMES == DATASET_PARTS


@pytest.fixture(scope='module')
def release(tmp_path_factory):
    out = tmp_path_factory.mktemp('syn')
    make_synthetic_celebamask(str(out), 12, image_size=96, mask_size=48, seed=3, start_index=1995)
    return out


def test_layout(release):
    ids = range(1995, 2007)
    for i in ids:
        img = cv2.imread(str(release / 'CelebA-HQ-img' / f'{i}.jpg'))
        assert img.shape == (96, 96, 3)
        files = list((release / 'CelebAMask-HQ-mask-anno' / str(i // 2000)).glob(f'{i:05d}_*.png'))
        assert {'skin', 'nose'} <= {f.stem.split('_', 1)[1] for f in files}
        for f in files:
            m = cv2.imread(str(f), cv2.IMREAD_UNCHANGED)
            assert m.shape == (48, 48, 3) and set(np.unique(m)) <= {0, 255} and m.max() == 255
    lines = (release / 'CelebA-HQ-to-CelebA-mapping.txt').read_text().splitlines()
    assert lines[0].split() == ['idx', 'orig_idx', 'orig_file']
    rows = [line.split() for line in lines[1:]]
    assert [int(r[0]) for r in rows] == list(ids)
    assert all(r[2] == f'{int(r[1]) + 1:06d}.jpg' for r in rows)  # 0-based orig_idx
    assert {162769, 162770, 182636, 182637} <= {int(r[1]) for r in rows}
    lines = (release / 'list_eval_partition.txt').read_text().splitlines()
    partition = dict(line.split() for line in lines)
    assert {r[2] for r in rows} == set(partition)
    assert partition['162770.jpg'] == '0' and partition['162771.jpg'] == '1'
    assert partition['182637.jpg'] == '1' and partition['182638.jpg'] == '2'


def test_deterministic_and_independent_of_nproc(tmp_path):
    a, b, c = tmp_path / 'a', tmp_path / 'b', tmp_path / 'c'
    # nproc=1 first on purpose: forked workers must not hang after the parent used OpenCV
    make_synthetic_celebamask(str(a), 6, 64, 32, seed=1, nproc=1)
    make_synthetic_celebamask(str(b), 6, 64, 32, seed=1, nproc=2)
    make_synthetic_celebamask(str(c), 6, 64, 32, seed=2, nproc=1)
    files = sorted(p.relative_to(a) for p in a.rglob('*') if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob('*') if p.is_file())
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    first = 'CelebA-HQ-img/0.jpg'
    assert (a / first).read_bytes() != (c / first).read_bytes()


def test_left_parts_on_image_right_and_image_aligned_with_masks():
    for k in range(10):
        img, masks = render_face(np.random.default_rng([7, k]), 128, 64, max_rotation=0)
        for part in ('eye', 'brow'):
            xl = np.nonzero(masks[f'l_{part}'])[1].mean()
            xr = np.nonzero(masks[f'r_{part}'])[1].mean()
            assert xl > xr, (k, part)
        label = merge_masks(masks, 64)
        small = cv2.resize(img, (64, 64), interpolation=cv2.INTER_AREA).astype(float)
        # the part colours are uniform per face up to noise: a misaligned mask would mix them
        for cls in np.unique(label):
            inside = cv2.erode((label == cls).astype(np.uint8), np.ones((3, 3))) > 0
            if inside.sum() > 30 and cls not in (4, 5, 6, 17):  # pupils, lenses, hair stripes
                assert small[inside].std(axis=0).max() < 40, (k, cls)


def test_part_frequencies_are_plausible():
    counts = dict.fromkeys(PART_NAMES, 0)
    n = 300
    for k in range(n):
        _, masks = render_face(np.random.default_rng([11, k]), 48, 24)
        for name in masks:
            counts[name] += 1
    rate = {k: v / n for k, v in counts.items()}
    for name in ('skin', 'nose', 'u_lip', 'l_lip', 'neck', 'l_eye', 'r_eye'):
        assert rate[name] > 0.97, name
    bands = {'hair': (0.85, 1.0), 'cloth': (0.8, 0.97), 'mouth': (0.3, 0.5), 'l_ear': (0.45, 0.85),
             'eye_g': (0.12, 0.28), 'hat': (0.08, 0.22), 'ear_r': (0.06, 0.25),
             'neck_l': (0.04, 0.17)}
    for name, (lo, hi) in bands.items():
        assert lo <= rate[name] <= hi, (name, rate[name])


def test_converter_reproduces_the_generator_masks(release):
    """The converter, run on the written release, gives exactly merge_masks of the generator's
    own per-part masks (overlaps included)."""
    convert(str(release), split='auto', progress=False, log=lambda m: None)
    for i in range(1995, 2007):
        _, masks = render_face(np.random.default_rng([3, i]), 96, 48)
        label = cv2.imread(str(release / 'mask' / f'{i}.png'), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(label, merge_masks(masks, 48))
    split = {k: (release / 'splits' / f'{k}.txt').read_text().split()
             for k in ('train', 'val', 'test')}
    assert sum(map(len, split.values())) == 12 and all(split.values())
