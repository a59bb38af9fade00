"""Face clips: the generator (smooth motion, blinking, mouth, yaw squeeze, split by clip) and
FaceClipDataset (clips in order for testing; training samples of consecutive frames that the
pipeline treats alike, the face-aware flip included)."""
import os

import cv2
import numpy as np
import pytest
from mmengine.registry import init_default_scope

from faceparse_mm.datasets import CLASS_ID, FLIP_PAIRS, FaceClipDataset
from faceparse_mm.datasets import synthetic as S
from faceparse_mm.datasets.face_clips import natural_key
from faceparse_mm.datasets.synthetic_clips import (
    ClipPose,
    _pose_transform,
    clip_poses,
    make_synthetic_clips,
    render_clip_frame,
    split_clips,
)

TRAIN_PIPELINE = [  # the protocol's training pipeline at a small size
    dict(type='LoadFaceAnnotations'),
    dict(type='LoadImageAtLabelSize'),
    dict(type='RandomResize', scale=(32, 32), ratio_range=(0.75, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(32, 32)),
    dict(type='FaceRandomFlip', prob=0.5, swap_seg_labels=FLIP_PAIRS),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
TEST_PIPELINE = [dict(type='LoadFaceAnnotations'), dict(type='LoadImageAtLabelSize'),
                 dict(type='PackSegInputs')]


@pytest.fixture(scope='module')
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp('clips')
    make_synthetic_clips(str(root), 5, 6, image_size=64, mask_size=32, seed=2)
    return root


def _label(root, clip, t):
    return cv2.imread(str(root / 'clip_masks' / clip / f'{t:04d}.png'), cv2.IMREAD_UNCHANGED)


# --------------------------------------------------------------------------------------------
# the generator
# --------------------------------------------------------------------------------------------

def test_layout_and_labels(clips):
    names = sorted(os.listdir(clips / 'clips'))
    assert names == ['0000', '0001', '0002', '0003', '0004']
    for clip in names:
        assert sorted(os.listdir(clips / 'clips' / clip)) == [f'{t:04d}.jpg' for t in range(6)]
        for t in range(6):
            img = cv2.imread(str(clips / 'clips' / clip / f'{t:04d}.jpg'))
            label = _label(clips, clip, t)
            assert img.shape == (64, 64, 3) and label.shape == (32, 32)
            assert label.max() < 19 and CLASS_ID['skin'] in label


@pytest.mark.parametrize('n', [1, 2, 3, 7, 40])
def test_no_clip_is_in_two_splits(n):
    names = [f'{i:04d}' for i in range(n)]
    splits = split_clips(names, seed=0)
    members = [c for split in splits.values() for c in split]
    assert sorted(members) == names  # every clip once
    if n >= 3:
        assert all(splits[k] for k in ('train', 'val', 'test'))


def test_the_written_split_files_partition_the_clips(clips):
    lists = {s: (clips / 'clip_splits' / f'{s}.txt').read_text().split() for s in
             ('train', 'val', 'test')}
    members = [c for v in lists.values() for c in v]
    assert sorted(members) == sorted(os.listdir(clips / 'clips'))
    assert len(members) == len(set(members))


def test_consecutive_frames_move_a_little_and_the_clip_moves_a_lot():
    rng = np.random.default_rng([0, 8, 3])
    poses = clip_poses(rng, 40)
    labels = [render_clip_frame(np.random.default_rng([0, 7, 3]), p,
                                np.random.default_rng(t), 96, 48)[1]
              for t, p in enumerate(poses)]
    step = [np.mean(a != b) for a, b in zip(labels, labels[1:])]
    far = np.mean(labels[0] != labels[20])
    assert max(step) < 0.15 and np.mean(step) < 0.06
    assert far > 2 * np.mean(step)  # the motion is real: frames far apart differ more
    for key in ('angle', 'scale', 'tx', 'ty', 'yaw'):  # smooth: small steps, a real range
        values = np.array([getattr(p, key) for p in poses])
        assert np.abs(np.diff(values)).max() < 0.5 * (values.max() - values.min()) + 1e-9


def test_blinks_close_the_eyes_and_the_mouth_opens():
    base = dict(angle=0.0, scale=1.0, tx=0.0, ty=0.0, yaw=0.0)
    # this face has no glasses (which would cover the eyes' labels)
    face = [3, 7, 0]

    def label(**pose):
        return render_clip_frame(np.random.default_rng(face), ClipPose(**{**base, **pose}),
                                 np.random.default_rng(0), 128, 128)[1]
    open_, shut = label(mouth=0.0, eyes=1.0), label(mouth=0.0, eyes=0.1)
    eyes = (CLASS_ID['l_eye'], CLASS_ID['r_eye'])
    assert np.isin(shut, eyes).sum() < 0.3 * np.isin(open_, eyes).sum()
    assert np.isin(open_, eyes).sum() > 20
    assert (open_ == CLASS_ID['mouth']).sum() == 0
    assert (label(mouth=1.0, eyes=1.0) == CLASS_ID['mouth']).sum() > 20
    poses = clip_poses(np.random.default_rng(5), 200)
    assert min(p.eyes for p in poses) == pytest.approx(0.1)


def test_the_yaw_squeeze_slides_the_features_and_never_folds():
    x = np.linspace(0, 1, 201)
    pts = np.stack([x, np.full_like(x, 0.5)], 1)
    for yaw in (-0.6, -0.2, 0.3, 0.6):
        tf, _ = _pose_transform(ClipPose(0.0, 1.0, 0.0, 0.0, yaw, 0.0, 1.0))
        out = tf(pts)[:, 0]
        assert np.all(np.diff(out) > 0)  # monotone: no part folds over another
        centre = tf(np.array([[0.5, 0.5]]))[0, 0]
        assert np.sign(centre - 0.5) == np.sign(yaw)  # the face's centre slides to the turn


def test_the_mouth_override_keeps_the_faces_random_draws():
    """The image generator's faces are unchanged: ``mouth_open`` draws exactly what a plain face
    draws, so everything after the mouth is the same face."""
    for seed in range(4):
        a, b = np.random.default_rng(seed), np.random.default_rng(seed)
        parts_a, attrs_a = S._face_geometry(a)
        parts_b, attrs_b = S._face_geometry(b, mouth_open=0.7)
        assert a.random() == b.random()
        others = set(parts_a) - {'u_lip', 'l_lip', 'mouth'}
        assert others == set(parts_b) - {'u_lip', 'l_lip', 'mouth'}
        for name in others:  # every part but the mouth's, hair, ears, cloth... included
            for x, y in zip(parts_a[name].polys + [p for p, _ in parts_a[name].lines],
                            parts_b[name].polys + [p for p, _ in parts_b[name].lines]):
                np.testing.assert_array_equal(x, y)
        assert attrs_a['style'] == attrs_b['style']


def test_generation_is_deterministic_and_independent_of_nproc(tmp_path):
    a, b = tmp_path / 'a', tmp_path / 'b'
    make_synthetic_clips(str(a), 3, 3, 32, 16, seed=4, nproc=1)
    make_synthetic_clips(str(b), 3, 3, 32, 16, seed=4, nproc=2)
    files = sorted(p.relative_to(a) for p in a.rglob('*') if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob('*') if p.is_file())
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_the_cli_writes_clips(tool, tmp_path):
    out = tmp_path / 'c'
    proc = tool('tools/make_synthetic_celebamask.py', str(out), '--clips', '3', '--frames', '2',
                '--image-size', '32', '--mask-size', '16', '--nproc', '1', check=True)
    assert '3 clips (6 frames' in proc.stdout
    assert sorted(os.listdir(out / 'clip_masks' / '0002')) == ['0000.png', '0001.png']
    bad = tool('tools/make_synthetic_celebamask.py', str(out))
    assert bad.returncode == 2 and '--clips N' in bad.stderr


# --------------------------------------------------------------------------------------------
# the dataset
# --------------------------------------------------------------------------------------------

def _dataset(root, split, **kwargs):
    init_default_scope('faceparse_mm')
    return FaceClipDataset(data_root=str(root), ann_file=f'clip_splits/{split}.txt', **kwargs)


def test_testing_gives_whole_clips_in_order_with_their_metainfo(clips):
    ds = _dataset(clips, 'train', pipeline=TEST_PIPELINE, test_mode=True)
    names = (clips / 'clip_splits' / 'train.txt').read_text().split()
    assert len(ds) == 6 * len(names)
    seen = [(ds[i]['data_samples'].clip, ds[i]['data_samples'].frame_index) for i in
            range(len(ds))]
    assert seen == [(c, t) for c in names for t in range(6)]
    sample = ds[7]['data_samples']
    assert sample.clip_length == 6 and sample.img_path.endswith(
        os.path.join(names[1], '0001.jpg'))


def test_a_training_sample_is_consecutive_frames_of_one_clip(clips):
    ds = _dataset(clips, 'train', pipeline=TEST_PIPELINE, num_frames=3, max_gap=2)
    names = (clips / 'clip_splits' / 'train.txt').read_text().split()
    assert len(ds) == (6 - 2) * len(names)  # every frame with two frames before it
    np.random.seed(0)
    gaps = set()
    for i in range(len(ds)):
        samples = ds[i]['data_samples']
        assert len(samples) == 3 and len({s.clip for s in samples}) == 1
        t = [s.frame_index for s in samples]
        assert [s.window_index for s in samples] == [0, 1, 2]
        assert all(s.window_size == 3 for s in samples)
        assert t[2] == 2 + i % 4  # the labelled frame: the sample's own
        gaps |= set(np.diff(t).tolist())
    assert gaps == {1, 2}


def _static_clip(root, frames=4):
    """One clip whose frames are the same face image and labels (left parts on the right)."""
    img, label = render_clip_frame(np.random.default_rng([0, 7, 1]),
                                   ClipPose(0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0),
                                   np.random.default_rng(0), 64, 64)
    for t in range(frames):
        (root / 'clips' / 'a').mkdir(parents=True, exist_ok=True)
        (root / 'clip_masks' / 'a').mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / 'clips' / 'a' / f'{t}.png'), img[..., ::-1])
        cv2.imwrite(str(root / 'clip_masks' / 'a' / f'{t}.png'), label)
    (root / 'clip_splits').mkdir(exist_ok=True)
    (root / 'clip_splits' / 'train.txt').write_text('a\n')
    return label


def test_the_flip_crop_scale_and_jitter_apply_alike_to_every_frame_of_a_sample(tmp_path):
    """A clip of identical frames: through the protocol's random training pipeline, every frame
    of a sample comes out identical (the same flip with its left/right swap, scale, crop and
    colour jitter), and over the samples both flipped and unflipped ones occur."""
    _static_clip(tmp_path)
    ds = _dataset(tmp_path, 'train', pipeline=TRAIN_PIPELINE, num_frames=3, img_suffix='.png')
    np.random.seed(1)
    flips = []
    for _ in range(16):
        out = ds[0]
        first = out['inputs'][0]
        for x, s in zip(out['inputs'][1:], out['data_samples'][1:]):
            assert (x == first).all()
            assert (s.gt_sem_seg.data == out['data_samples'][0].gt_sem_seg.data).all()
            assert s.flip == out['data_samples'][0].flip
        flips.append(out['data_samples'][0].flip)
    assert any(flips) and not all(flips)


def test_the_flip_of_a_sample_swaps_left_and_right_in_every_frame(tmp_path):
    label = _static_clip(tmp_path)
    pipeline = [dict(type='LoadFaceAnnotations'), dict(type='LoadImageAtLabelSize'),
                dict(type='FaceRandomFlip', prob=1.0, swap_seg_labels=FLIP_PAIRS),
                dict(type='PackSegInputs')]
    ds = _dataset(tmp_path, 'train', pipeline=pipeline, num_frames=2, img_suffix='.png')
    out = ds[0]
    for s in out['data_samples']:
        seg = s.gt_sem_seg.data[0].numpy()
        for left, right in FLIP_PAIRS:
            if (label == left).any() and (label == right).any():
                assert np.nonzero(seg == left)[1].mean() > np.nonzero(seg == right)[1].mean()


def test_frames_sort_naturally_and_errors_name_the_file(tmp_path):
    assert sorted(['10.jpg', '2.jpg', '1.jpg'], key=natural_key) == ['1.jpg', '2.jpg', '10.jpg']
    _static_clip(tmp_path, frames=12)
    ds = _dataset(tmp_path, 'train', pipeline=TEST_PIPELINE, test_mode=True, img_suffix='.png')
    assert [os.path.basename(ds.get_data_info(i)['img_path']) for i in range(12)] == [
        f'{t}.png' for t in range(12)]
    os.remove(tmp_path / 'clip_masks' / 'a' / '10.png')
    with pytest.raises(FileNotFoundError, match=r'10\.png has no label map .*10\.png'):
        _dataset(tmp_path, 'train', pipeline=TEST_PIPELINE, img_suffix='.png')
    (tmp_path / 'clip_splits' / 'test.txt').write_text('b\na\n')
    with pytest.raises(ValueError, match="clip 'a' is in both"):
        _dataset(tmp_path, 'train', pipeline=TEST_PIPELINE, img_suffix='.png')
    (tmp_path / 'clip_splits' / 'test.txt').write_text('b\n')
    with pytest.raises(FileNotFoundError, match="clip 'b' .* has no frame folder"):
        _dataset(tmp_path, 'test', pipeline=TEST_PIPELINE, img_suffix='.png')
