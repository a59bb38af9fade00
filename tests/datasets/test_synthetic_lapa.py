"""The synthetic generator's LaPa layout: the class mapping, the release's folders and files,
varying image sizes, LaPa's split proportions, and a folder never mixing two sets."""
import json

import cv2
import numpy as np
import pytest

from faceparse_mm.datasets.class_table import CLASSES
from faceparse_mm.datasets.lapa_table import CELEBAMASK_TO_LAPA, LAPA_CLASS_ID, LAPA_CLASSES
from faceparse_mm.datasets.synthetic_lapa import (
    SYNTHETIC_MARKER,
    face_landmarks,
    lapa_label,
    make_synthetic_lapa,
    split_sizes,
)

L = LAPA_CLASS_ID


def _box(y0, y1, x0, x1, size=20):
    m = np.zeros((size, size), bool)
    m[y0:y1, x0:x1] = True
    return m


def test_every_celebamask_part_has_a_lapa_class_or_is_left_out():
    assert set(CELEBAMASK_TO_LAPA) == set(CLASSES)
    assert {v for v in CELEBAMASK_TO_LAPA.values() if v} <= set(LAPA_CLASSES)
    assert [n for n, v in CELEBAMASK_TO_LAPA.items() if v is None] == ['eye_g']


def test_mapping_of_overlapping_parts():
    """Parts painted in CelebAMask-HQ's id order, then mapped: glasses show what is beneath,
    ears are skin, a hat hides the hair as background, accessories and body are background."""
    masks = {
        'skin': _box(2, 18, 2, 18), 'l_eye': _box(5, 7, 10, 13), 'r_eye': _box(5, 7, 5, 8),
        'l_brow': _box(3, 4, 10, 13), 'r_brow': _box(3, 4, 5, 8),
        'eye_g': _box(4, 8, 4, 14),  # over both eyes, brows and skin
        'l_ear': _box(6, 10, 18, 20), 'ear_r': _box(9, 10, 18, 20),  # earring on the ear
        'nose': _box(8, 11, 9, 11), 'u_lip': _box(12, 13, 7, 13), 'mouth': _box(13, 14, 7, 13),
        'l_lip': _box(14, 15, 7, 13), 'neck': _box(18, 20, 6, 14),
        'neck_l': _box(19, 20, 8, 12), 'cloth': _box(19, 20, 0, 4),
        'hair': _box(0, 3, 2, 18), 'hat': _box(0, 2, 2, 18),  # the hat over the hair
    }
    label = lapa_label(masks, 20)
    assert label[5, 11] == L['l_eye'] and label[5, 6] == L['r_eye']  # through the lenses
    assert label[3, 11] == L['l_brow'] == 2 and label[3, 6] == L['r_brow'] == 3
    assert label[4, 4] == L['skin'] and label[7, 9] == L['skin']  # under the frame
    assert label[7, 19] == L['skin'] and label[9, 19] == L['background']  # ear, earring
    assert label[9, 9] == L['nose'] == 6
    assert (label[12, 8], label[13, 8], label[14, 8]) == (7, 8, 9)  # u_lip, mouth, l_lip
    assert label[1, 10] == L['background'] and label[2, 10] == L['hair'] == 10  # hat, hair
    assert label[18, 7] == label[19, 10] == label[19, 1] == L['background']  # neck, cloth
    assert label.dtype == np.uint8 and label.max() <= 10


@pytest.fixture(scope='module')
def lapa_release(tmp_path_factory):
    out = tmp_path_factory.mktemp('lapa')
    summary = make_synthetic_lapa(str(out), 12, min_size=32, max_size=64, seed=3)
    return out, summary


def test_layout_sizes_and_splits(lapa_release):
    out, summary = lapa_release
    assert split_sizes(12) == (10, 1, 1) and split_sizes(1000) == (820, 90, 90)
    assert summary['splits'] == dict(train=10, val=1, test=1)
    shapes, ids = [], []
    for split, count in summary['splits'].items():
        images = sorted((out / split / 'images').glob('*.jpg'))
        assert len(images) == count
        for img_path in images:
            ids.append(int(img_path.stem))
            img = cv2.imread(str(img_path))
            label = cv2.imread(str(out / split / 'labels' / f'{img_path.stem}.png'),
                               cv2.IMREAD_UNCHANGED)
            assert label.ndim == 2 and label.shape == img.shape[:2]  # labels at the image size
            assert label.max() <= 10 and {L['skin'], L['nose']} <= set(np.unique(label))
            h, w = label.shape
            assert 32 * 0.8 - 1 <= min(h, w) and max(h, w) <= 64
            shapes.append((h, w))
            lines = (out / split / 'landmarks' / f'{img_path.stem}.txt').read_text().split('\n')
            assert lines[0] == '106' and len([x for x in lines[1:] if x]) == 106
            points = np.array([[float(v) for v in x.split()] for x in lines[1:] if x])
            assert (points >= 0).all() and (points[:, 0] <= w - 1).all() \
                and (points[:, 1] <= h - 1).all()
    assert sorted(ids) == list(range(12))
    assert len(set(shapes)) >= 8  # sizes vary, in portrait and in landscape
    assert any(h > w for h, w in shapes) and any(h < w for h, w in shapes)
    meta = json.loads((out / SYNTHETIC_MARKER).read_text())
    assert meta['layout'] == 'lapa' and meta['splits'] == summary['splits']


def test_landmarks_lie_on_the_face_outline():
    label = np.zeros((40, 50), np.uint8)
    cv2.ellipse(label, (25, 20), (12, 16), 0, 0, 360, L['skin'], -1)
    label[10:14, 18:22] = L['l_eye']
    points = face_landmarks(label)
    assert points.shape == (106, 2)
    radius = np.hypot((points[:, 0] - 25) / 12, (points[:, 1] - 20) / 16)
    assert np.allclose(radius, 1, atol=0.12)  # on the ellipse's edge, all the way round
    angles = np.sort(np.arctan2(points[:, 1] - 20, points[:, 0] - 25))
    assert np.diff(angles).max() < 0.25


def test_deterministic_and_independent_of_nproc(tmp_path):
    a, b, c = tmp_path / 'a', tmp_path / 'b', tmp_path / 'c'
    make_synthetic_lapa(str(a), 6, 32, 48, seed=1, nproc=1)
    make_synthetic_lapa(str(b), 6, 32, 48, seed=1, nproc=2)
    make_synthetic_lapa(str(c), 6, 32, 48, seed=2, nproc=1)
    files = sorted(p.relative_to(a) for p in a.rglob('*') if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob('*') if p.is_file())
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    first = 'train/images/000000.jpg'
    assert (a / first).read_bytes() != (c / first).read_bytes()

    def shapes(root):
        return [cv2.imread(str(p)).shape for p in sorted(root.rglob('*.jpg'))]
    assert shapes(a) != shapes(c)  # the seed draws the sizes too


def test_a_folder_never_mixes_two_sets(tmp_path):
    make_synthetic_lapa(str(tmp_path), 4, 32, 40)
    make_synthetic_lapa(str(tmp_path), 4, 32, 40)  # the same set again: fine
    with pytest.raises(ValueError, match='made with .*use an empty folder'):
        make_synthetic_lapa(str(tmp_path), 5, 32, 40)
    (tmp_path / SYNTHETIC_MARKER).unlink()  # a killed run of another set
    with pytest.raises(ValueError, match='train/images holds 2 images but this run wrote 1'):
        make_synthetic_lapa(str(tmp_path), 3, 32, 40)
    with pytest.raises(ValueError, match='at least 3 faces'):
        make_synthetic_lapa(str(tmp_path / 'x'), 2)
    with pytest.raises(ValueError, match='min_size <= max_size'):
        make_synthetic_lapa(str(tmp_path / 'x'), 3, min_size=50, max_size=40)


def test_cli_writes_the_lapa_layout_and_refuses_bad_options(tool, tmp_path):
    out = tmp_path / 'lapa'
    proc = tool('tools/make_synthetic_celebamask.py', str(out), '--layout', 'lapa', '--num', '5',
                '--image-size', '48', '--nproc', '1', check=True)
    assert ("5 faces (3 train / 1 val / 1 test, longer side 24-48 px) in LaPa's layout"
            in proc.stdout)
    assert len(list((out / 'train' / 'labels').glob('*.png'))) == 3
    for args, message in ((['--clips', '2'], 'give --num N'),
                          (['--num', '5', '--min-size', '60'], '--min-size must be in 1..'),
                          (['--num', '2'], '--num >= 3')):
        bad = tool('tools/make_synthetic_celebamask.py', str(tmp_path / 'bad'), '--layout',
                   'lapa', '--image-size', '48', *args)
        assert bad.returncode == 2 and message in bad.stderr, bad.stderr


def test_a_failed_write_keeps_the_previous_files_and_leaves_nothing_partial(tmp_path,
                                                                            monkeypatch):
    import faceparse_mm.datasets.synthetic_lapa as module
    make_synthetic_lapa(str(tmp_path), 3, 32, 40)
    before = {p: p.read_bytes() for p in tmp_path.rglob('*') if p.is_file()}

    def half_imwrite(path, img, *args):
        ok, data = cv2.imencode(path[path.rindex('.'):], img)
        with open(path, 'wb') as f:
            f.write(data.tobytes()[:len(data) // 2])
        raise OSError(f'injected failure writing {path}')
    monkeypatch.setattr(module.cv2, 'imwrite', half_imwrite)
    with pytest.raises(OSError, match='injected'):
        make_synthetic_lapa(str(tmp_path), 3, 32, 40)
    assert {p: p.read_bytes() for p in tmp_path.rglob('*') if p.is_file()} == before
