"""FaceParser on the tiny 19-class parser of tests/infer_toy.py (input size 64x64)."""
import os

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from faceparse_mm.apis import FaceParser, model_input_size, resize_image
from faceparse_mm.datasets import CLASSES, FLIP_PAIRS, PALETTE
from faceparse_mm.errors import FaceDataError, UserError
from tests.infer_toy import CONFIG, INPUT_SIZE, faces, write_checkpoint

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    return write_checkpoint(tmp_path_factory.mktemp('ckpt') / 'toy.pth')


@pytest.fixture(scope='module')
def parser(checkpoint):
    return FaceParser(CONFIG, checkpoint, batch_size=2)


def _face(size=INPUT_SIZE, seed=0):
    return cv2.resize(faces(1, seed=seed)[0], size[::-1], interpolation=cv2.INTER_AREA)


def test_labels_at_the_input_size_for_a_non_square_image(parser):
    base = _face()
    # each pixel of base repeated 2x3 times: resized to the input size it is base again
    img = np.repeat(np.repeat(base, 2, axis=0), 3, axis=1)
    labels, probs = parser(img, return_probs=True)
    assert labels.shape == (128, 192) and labels.dtype == np.uint8
    assert probs.shape == (19, 128, 192) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(0), 1, atol=1e-5)
    assert np.array_equal(probs.argmax(0), labels)
    # resized back by nearest neighbour, not cropped
    base_labels = parser(base)
    assert len(np.unique(base_labels)) > 3  # the toy's labels vary over a face
    assert np.array_equal(labels, np.repeat(np.repeat(base_labels, 2, axis=0), 3, axis=1))
    assert parser(img[:50, :90]).shape == (50, 90)


def test_labels_and_probs_come_back_by_pixel_centre_nearest_neighbour(parser):
    """At a non-integer ratio to the input size (3/2 and 5/8 here), each image pixel takes the
    labels and probabilities of the model pixel under its centre."""
    img = np.random.default_rng(2).integers(0, 256, (96, 40, 3), dtype=np.uint8)
    small = resize_image(img, INPUT_SIZE)  # what the model sees
    base_labels, base_probs = parser(small, return_probs=True)
    assert base_labels.shape == INPUT_SIZE and len(np.unique(base_labels)) > 3
    # the model pixel under the centre (i + 0.5) of each image row and column
    rows = np.floor((np.arange(96) + 0.5) * INPUT_SIZE[0] / 96).astype(int)
    cols = np.floor((np.arange(40) + 0.5) * INPUT_SIZE[1] / 40).astype(int)
    labels, probs = parser(img, return_probs=True)
    assert np.array_equal(labels, base_labels[np.ix_(rows, cols)])
    assert np.array_equal(probs, base_probs[:, rows][:, :, cols])


def test_a_path_and_the_same_array_give_the_same_labels(parser, tmp_path):
    img = faces(1, size=80, seed=3)[0]
    path = str(tmp_path / 'face.png')
    cv2.imwrite(path, img)
    from_path = parser(path)
    assert np.array_equal(from_path, parser(cv2.imread(path)))
    assert from_path.shape == (80, 80)
    # the array is taken as BGR: its RGB version is a different image to the model
    assert not np.array_equal(from_path, parser(np.ascontiguousarray(img[..., ::-1])))


def test_a_list_equals_the_single_calls(parser, tmp_path):
    a, b, c = faces(3, size=96, seed=5)
    path = str(tmp_path / 'b.png')
    cv2.imwrite(path, b)
    items = [a, path, cv2.resize(c, (50, 70)), a[:, ::-1]]  # batch_size 2: two batches
    together = parser(items, return_probs=True)
    assert len(together) == 4
    for item, (labels, probs) in zip(items, together):
        single_labels, single_probs = parser(item, return_probs=True)
        assert np.array_equal(labels, single_labels)
        np.testing.assert_allclose(probs, single_probs, atol=1e-5)


def test_overlay_uses_the_checkpoints_palette_and_classes(tmp_path):
    palette = [[(37 * i) % 256, 255 - 11 * i, (91 * i + 40) % 256] for i in range(19)]
    assert palette != [list(c) for c in PALETTE]
    ckpt = write_checkpoint(tmp_path / 'other_palette.pth', palette=palette)
    state = torch.load(ckpt, weights_only=True)
    state['meta']['dataset_meta']['classes'] = [f'part{i}' for i in range(19)]
    torch.save(state, ckpt)
    parser = FaceParser(CONFIG, ckpt)
    assert parser.classes == tuple(f'part{i}' for i in range(19))
    img = _face(size=(40, 56))
    labels = parser(img)
    drawn = parser.overlay(img, labels)
    bgr = np.array(palette, np.float64)[:, ::-1]
    expected = np.rint(0.5 * img + 0.5 * bgr[labels]).astype(np.uint8)
    assert drawn.shape == img.shape and np.array_equal(drawn, expected)
    with_legend = parser.overlay(img, labels, legend=True)
    assert with_legend.shape[0] == 40 and with_legend.shape[1] > 56
    assert np.array_equal(with_legend[:, :56], drawn)


def test_without_dataset_meta_the_configs_metainfo_is_used_with_a_warning(tmp_path):
    ckpt = write_checkpoint(tmp_path / 'bare.pth', with_meta=False)
    with pytest.warns(UserWarning, match='has no meta.dataset_meta.classes'):
        parser = FaceParser(CONFIG, ckpt)
    assert parser.classes == CLASSES
    assert parser.palette == [tuple(c) for c in PALETTE]


def test_tta_is_the_mean_of_the_image_and_its_flipped_swapped_view(checkpoint):
    img = _face(seed=7)
    plain = FaceParser(CONFIG, checkpoint)
    tta = FaceParser(CONFIG, checkpoint, tta=True)
    _, p_img = plain(img, return_probs=True)
    _, p_flip = plain(np.ascontiguousarray(img[:, ::-1]), return_probs=True)
    back = p_flip[:, :, ::-1]
    order = list(range(19))
    for a, b in FLIP_PAIRS:
        order[a], order[b] = order[b], order[a]
    expected = (p_img + back[order]) / 2
    labels, probs = tta(img, return_probs=True)
    np.testing.assert_allclose(probs, expected, atol=1e-5)
    assert np.array_equal(labels, expected.argmax(0))
    # the swap matters for this model: without it the mean is another one
    assert np.abs((p_img + back) / 2 - expected).max() > 1e-2
    # lists go through TTA the same way
    assert np.array_equal(tta([img, img])[1], labels)


def test_bad_inputs_are_named(parser, tmp_path):
    with pytest.raises(UserError, match=r'image 0: expected a BGR uint8 array \(H, W, 3\), got '
                                        r'float32 \(8, 8, 3\)'):
        parser(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(UserError, match='image 1: .*got uint8 \\(8, 8, 4\\)'):
        parser([np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 4), np.uint8)])
    bad = tmp_path / 'bad.jpg'
    bad.write_text('not an image')
    with pytest.raises(FaceDataError, match=f'cannot read image {bad}'):
        parser(str(bad))
    with pytest.raises(FaceDataError, match='cannot read image .*missing.png'):
        parser(str(tmp_path / 'missing.png'))


def test_bad_checkpoints_and_devices_are_refused(checkpoint, tmp_path):
    with pytest.raises(UserError, match='checkpoint file not found: nowhere.pth'):
        FaceParser(CONFIG, 'nowhere.pth')
    state = torch.load(checkpoint, weights_only=True)
    state['meta']['dataset_meta']['classes'] = ['a', 'b', 'c']
    torch.save(state, tmp_path / 'three.pth')
    with pytest.raises(UserError, match='names 3 classes but the model predicts 19'):
        FaceParser(CONFIG, str(tmp_path / 'three.pth'))
    del state['state_dict']['decode_head.conv_seg.weight']
    torch.save(state, tmp_path / 'partial.pth')
    with pytest.raises(UserError, match="1 missing keys .*decode_head.conv_seg.weight"):
        FaceParser(CONFIG, str(tmp_path / 'partial.pth'))
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="device 'cuda': no CUDA device here"):
            FaceParser(CONFIG, checkpoint, device='cuda')


@pytest.mark.parametrize('config, size', [
    ('configs/bisenetv1-fp_celebamask.py', (512, 512)),  # the protocol's label size
    ('configs/demo/bisenetv1-fp_demo.py', (128, 128)),   # the demo's generated labels
    ('tests/data/toy_config.py', (32, 32)),              # data_preprocessor.size
])
def test_the_input_size_is_read_from_the_config(config, size):
    assert model_input_size(Config.fromfile(os.path.join(ROOT, config))) == size


def test_an_empty_file_and_a_jpeg_cut_before_its_end_are_refused_naming_the_file(tmp_path):
    from faceparse_mm.apis import read_image

    empty = tmp_path / 'empty.png'
    empty.write_bytes(b'')
    with pytest.raises(FaceDataError, match=f'cannot read image {empty}'):
        read_image(str(empty))
    ok, jpg = cv2.imencode('.jpg', _face())
    whole = tmp_path / 'whole.jpg'
    whole.write_bytes(jpg.tobytes())
    assert read_image(str(whole)).shape == (*INPUT_SIZE, 3)
    cut = tmp_path / 'cut.jpg'
    cut.write_bytes(jpg.tobytes()[:-2])  # no end marker
    with pytest.raises(FaceDataError, match=f'cannot read image {cut}'):
        read_image(str(cut))


def test_images_are_shrunk_by_area_and_enlarged_bilinearly():
    """Fewer pixels than the image: area interpolation; as many or more: bilinear (whatever
    the aspect ratio)."""
    img = np.random.default_rng(0).integers(0, 256, (60, 100, 3), np.uint8)
    cases = [((20, 30), cv2.INTER_AREA),     # fewer pixels
             ((90, 160), cv2.INTER_LINEAR),  # more
             ((80, 100), cv2.INTER_LINEAR),  # more, taller, as wide
             ((75, 80), cv2.INTER_LINEAR)]   # as many, another shape
    for (h, w), interpolation in cases:
        area = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
        linear = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)
        assert not np.array_equal(area, linear)
        expected = area if interpolation == cv2.INTER_AREA else linear
        assert np.array_equal(resize_image(img, (h, w)), expected), (h, w)
    assert resize_image(img, (60, 100)) is img


def test_the_input_size_comes_from_a_test_resize_before_the_training_scale():
    """A ``Resize`` in the test pipeline (its scale is (w, h)) gives the input size; without
    one, a training ``Resize`` does."""
    train = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=(256, 192))]
    test = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=(96, 64)),
            dict(type='PackSegInputs')]
    in_dataset = Config(dict(model=dict(), train_pipeline=train,
                             test_dataloader=dict(dataset=dict(pipeline=test))))
    assert model_input_size(in_dataset) == (64, 96)
    as_variable = Config(dict(model=dict(), train_pipeline=train, test_pipeline=test,
                              test_dataloader=dict(dataset=dict())))
    assert model_input_size(as_variable) == (64, 96)
    no_test_resize = Config(dict(model=dict(), train_pipeline=train,
                                 test_dataloader=dict(dataset=dict(pipeline=test[::2]))))
    assert model_input_size(no_test_resize) == (192, 256)


def test_ddp_prefixed_and_bare_state_dicts_load_the_same_model(checkpoint, parser, tmp_path):
    """Keys saved from a DistributedDataParallel model (``module.`` prefix) and a file that
    is the state dict itself load as the checkpoint does; a file without weights is refused."""
    state = torch.load(checkpoint, weights_only=True)
    img = _face(seed=3)
    expected = parser(img)
    ddp = dict(state, state_dict={f'module.{k}': v for k, v in state['state_dict'].items()})
    torch.save(ddp, tmp_path / 'ddp.pth')
    assert np.array_equal(FaceParser(CONFIG, str(tmp_path / 'ddp.pth'))(img), expected)
    torch.save(state['state_dict'], tmp_path / 'bare.pth')
    with pytest.warns(UserWarning, match='no meta.dataset_meta'):
        bare = FaceParser(CONFIG, str(tmp_path / 'bare.pth'))
    assert np.array_equal(bare(img), expected)
    for name, content in [('list.pth', [1, 2]), ('empty.pth', dict(state_dict={}))]:
        torch.save(content, tmp_path / name)
        with pytest.raises(UserError, match=f'checkpoint {tmp_path / name} holds no state_dict'):
            FaceParser(CONFIG, str(tmp_path / name))
