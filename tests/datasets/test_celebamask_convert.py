import json
import os
import time

import cv2
import numpy as np
import pytest

from faceparse_mm.datasets.celebamask_convert import (
    ConversionError,
    convert,
    merge_parts,
    official_split,
    random_split,
)
from faceparse_mm.datasets.class_table import PART_NAMES

S = 32  # mask size


def _write_release(root, ids, rng, image_size=64, channels=3, soft=True):
    """A tiny release written by hand; returns {id: {part: bool mask}} (the truth)."""
    (root / 'CelebA-HQ-img').mkdir(parents=True, exist_ok=True)
    truth = {}
    for i in ids:
        cv2.imwrite(str(root / 'CelebA-HQ-img' / f'{i}.jpg'),
                    rng.integers(0, 255, (image_size, image_size, 3)).astype(np.uint8))
        folder = root / 'CelebAMask-HQ-mask-anno' / str(i // 2000)
        folder.mkdir(parents=True, exist_ok=True)
        truth[i] = {}
        for part in PART_NAMES:
            if rng.random() < 0.4:  # absent part: no file
                continue
            y0, x0 = rng.integers(0, S - 8, 2)
            on = np.zeros((S, S), bool)
            on[y0:y0 + rng.integers(4, 16), x0:x0 + rng.integers(4, 16)] = True
            value = np.where(on, 255, 0).astype(np.uint8)
            if soft:  # soft edge: a ring of 128 (on) around and a ring of 127 (off)
                ring = cv2.dilate(on.astype(np.uint8), np.ones((3, 3))) > 0
                value[ring & ~on] = 127
                on2 = cv2.erode(on.astype(np.uint8), np.ones((3, 3))) > 0
                value[on & ~on2] = 128
            if channels == 3:
                img = np.zeros((S, S, 3), np.uint8)
                img[..., rng.integers(0, 3)] = value  # on in one channel only
            else:
                img = value
            cv2.imwrite(str(folder / f'{i:05d}_{part}.png'), img)
            truth[i][part] = on
    return truth


def _expected(parts):
    label = np.zeros((S, S), np.uint8)
    for k, name in enumerate(PART_NAMES, 1):
        if name in parts:
            label[parts[name]] = k
    return label


@pytest.mark.parametrize('channels', [3, 1])
def test_merge_is_exact_with_overlaps_soft_edges_and_absent_parts(tmp_path, channels):
    rng = np.random.default_rng(channels)
    truth = _write_release(tmp_path, [0, 1, 2001], rng, channels=channels)
    summary = convert(str(tmp_path), split='random', progress=False, log=lambda m: None)
    assert summary['written'] == 3 and summary['mask_size'] == [S, S]
    for i, parts in truth.items():
        label = cv2.imread(str(tmp_path / 'mask' / f'{i}.png'), cv2.IMREAD_UNCHANGED)
        assert label.dtype == np.uint8 and label.shape == (S, S)
        np.testing.assert_array_equal(label, _expected(parts))
    # overlaps really happened, so "later part wins" was exercised
    assert any(sum(m.sum() for m in p.values()) > (_expected(p) > 0).sum() for p in truth.values())


def test_merge_against_the_palette_trick_differs(tmp_path):
    """A mask that is on only in its green channel is on for us (> 127 in any channel)."""
    folder = tmp_path
    img = np.zeros((S, S, 3), np.uint8)
    img[4:8, 4:8, 1] = 200
    cv2.imwrite(str(folder / '00000_hat.png'), img)
    label = merge_parts({'hat': str(folder / '00000_hat.png')}, (S, S))
    assert (label == 18).sum() == 16


def _write_mapping(root, ids, orig):
    with open(root / 'CelebA-HQ-to-CelebA-mapping.txt', 'w') as f:
        f.write('idx         orig_idx        orig_file\n')
        for i, o in zip(ids, orig):
            f.write(f'{i}\t{o}\t{o + 1:06d}.jpg\n')


def test_official_split_joins_on_file_name_around_boundaries(tmp_path):
    # orig_idx (0-based) 162769 is file 162770.jpg, the last train file; 162770 -> 162771.jpg val
    orig = [0, 162769, 162770, 182636, 182637, 202598]
    want = ['train', 'train', 'val', 'val', 'test', 'test']
    ids = list(range(len(orig)))
    _write_mapping(tmp_path, ids, orig)
    with open(tmp_path / 'list_eval_partition.txt', 'w') as f:
        for n in range(1, 202600):
            f.write(f'{n:06d}.jpg {0 if n <= 162770 else 1 if n <= 182637 else 2}\n')
    split = official_split(str(tmp_path), ids)
    got = {i: name for name, members in split.items() for i in members}
    assert [got[i] for i in ids] == want


def test_official_split_missing_mapping_names_file(tmp_path):
    (tmp_path / 'list_eval_partition.txt').write_text('000001.jpg 0\n')
    with pytest.raises(ConversionError, match='CelebA-HQ-to-CelebA-mapping.txt'):
        official_split(str(tmp_path), [0])


def test_random_split_seeded_disjoint_and_9_to_1():
    ids = list(range(1000))
    a = random_split(ids, seed=3, val_ratio=0.1)
    b = random_split(ids, seed=3, val_ratio=0.1)
    c = random_split(ids, seed=4, val_ratio=0.1)
    assert a == b and a != c
    sets = [set(a[k]) for k in ('train', 'val', 'test')]
    assert sum(map(len, sets)) == 1000 and len(set.union(*sets)) == 1000
    assert len(a['test']) == 100 and len(a['val']) == 90


def test_auto_uses_official_when_partition_present_and_writes_meta(tmp_path):
    rng = np.random.default_rng(5)
    _write_release(tmp_path, [0, 1, 2, 3], rng)
    _write_mapping(tmp_path, [0, 1, 2, 3], [10, 170000, 190000, 11])
    (tmp_path / 'list_eval_partition.txt').write_text(
        '000011.jpg 0\n000012.jpg 0\n170001.jpg 1\n190001.jpg 2\n')
    messages = []
    convert(str(tmp_path), split='auto', progress=False, log=messages.append)
    assert any('official' in m for m in messages)
    meta = json.loads((tmp_path / 'splits' / 'meta.json').read_text())
    assert meta['split'] == 'official' and meta['counts'] == {'train': 2, 'val': 1, 'test': 1}
    assert (tmp_path / 'splits' / 'train.txt').read_text().split() == ['0', '3']


def test_idempotent_and_reconverts_changed_inputs(tmp_path):
    rng = np.random.default_rng(6)
    _write_release(tmp_path, [0, 1, 2], rng)
    first = convert(str(tmp_path), split='random', progress=False, log=lambda m: None)
    assert first['written'] == 3
    again = convert(str(tmp_path), split='random', progress=False, log=lambda m: None)
    assert again['written'] == 0 and again['up_to_date'] == 3
    # a touched input makes its output stale
    mask = next((tmp_path / 'CelebAMask-HQ-mask-anno' / '0').glob('00001_*.png'))
    future = time.time() + 5
    os.utime(mask, (future, future))
    third = convert(str(tmp_path), split='random', progress=False, log=lambda m: None)
    assert third['written'] == 1
    assert not list((tmp_path / 'mask').glob('.*tmp*'))  # no temporary files left


def test_corrupt_mask_names_file_and_skip_bad_reports(tmp_path):
    rng = np.random.default_rng(7)
    _write_release(tmp_path, [0, 1, 2], rng)
    bad = tmp_path / 'CelebAMask-HQ-mask-anno' / '0' / '00001_skin.png'
    bad.write_bytes(b'\x89PNG\r\n\x1a\n garbage')
    with pytest.raises(ConversionError, match='00001_skin.png'):
        convert(str(tmp_path), split='random', progress=False, log=lambda m: None)
    assert not (tmp_path / 'mask' / '1.png').exists()
    summary = convert(str(tmp_path), split='random', progress=False, skip_bad=True,
                      log=lambda m: None)
    assert summary['skipped'] == [1]
    skipped = (tmp_path / 'splits' / 'skipped.txt').read_text()
    listed = [line.split()[0] for line in skipped.splitlines()]
    assert listed == ['1']
    members = [m for k in ('train', 'val', 'test')
               for m in (tmp_path / 'splits' / f'{k}.txt').read_text().split()]
    assert sorted(members) == ['0', '2']


def test_wrong_size_mask_names_file(tmp_path):
    rng = np.random.default_rng(8)
    _write_release(tmp_path, [0, 1], rng)
    folder = tmp_path / 'CelebAMask-HQ-mask-anno' / '0'
    cv2.imwrite(str(folder / '00001_hat.png'), np.zeros((S + 1, S + 1, 3), np.uint8))
    with pytest.raises(ConversionError, match=r'00001_hat.png is 33x33, expected 32x32'):
        convert(str(tmp_path), split='random', progress=False, log=lambda m: None)


def test_cli_one_line_error_for_missing_root(tool, tmp_path):
    proc = tool('tools/dataset_converters/celebamask_hq.py', str(tmp_path / 'nope'))
    assert proc.returncode == 2 and 'does not exist' in proc.stderr
    assert 'Traceback' not in proc.stderr
