import json
import os

import pytest
import torch

from faceparse_mm.converters import RULES
from faceparse_mm.converters import convert as convert_by_rules
from faceparse_mm.converters.core import main as converter_main
from faceparse_mm.converters.core import reference_state_dict as model_state_dict
from faceparse_mm.errors import UserError
from faceparse_mm.utils.build import build_segmentor

from ..conftest import ROOT
from ..converters.reference import assert_matches, formula_state_dict, sample
from ..converters.reference import formula_input as reference_input
from ..converters.reference import load as load_reference

FP = RULES['face_parsing_pytorch']
map_key = FP.rename


def convert(state_dict, reference=None):
    return convert_by_rules(state_dict, FP, reference)


def reference_state_dict():
    return model_state_dict(FP.model_config)


KEYS = os.path.join(ROOT, 'tests', 'data', 'face_parsing_pytorch_keys.json')


def formula_input() -> torch.Tensor:
    return reference_input((1, 3, 64, 64))


@pytest.fixture(scope='module')
def source():
    """A state dict with the authors' keys and shapes and random values."""
    ref = json.load(open(KEYS))
    g = torch.Generator().manual_seed(0)
    out = {}
    for key, shape in ref['keys'].items():
        if key.endswith('num_batches_tracked'):
            out[key] = torch.tensor(7)
        else:
            out[key] = torch.randn(shape, generator=g)
    return out


@pytest.fixture(scope='module')
def reference():
    return reference_state_dict()


def test_every_tensor_arrives_unchanged_and_loads_strictly(source):
    converted = convert(source)  # checked against configs/_base_/models/bisenetv1-fp.py's model
    assert len(converted) == len(source) == 191
    for key, value in source.items():
        assert torch.equal(converted[map_key(key)], value), key
    model = build_segmentor(os.path.join(ROOT, 'configs/bisenetv1-fp_celebamask.py'))
    model.load_state_dict(converted, strict=True)
    loaded = model.state_dict()
    for key, value in source.items():
        assert torch.equal(loaded[map_key(key)], value), key
    assert torch.equal(model.backbone.context_path.arm16.bn_atten.running_var,
                       source['cp.arm16.bn_atten.running_var'])


def test_converted_model_gives_the_authors_logits():
    """The authors' BiSeNet (their model.py, run once outside this repo) produced the stored logits
    from these formula weights; the converted checkpoint must reproduce them in our fp model."""
    ref = load_reference('face_parsing_pytorch')
    model = build_segmentor(os.path.join(ROOT, 'configs/bisenetv1-fp_celebamask.py'))
    model.load_state_dict(convert(formula_state_dict(json.load(open(KEYS))['keys'])), strict=True)
    model.eval()
    x = formula_input()
    assert list(x.shape) == ref['input_shape']
    with torch.no_grad():
        logits = model.encode_decode(x, [dict(img_shape=(64, 64), pad_shape=(64, 64),
                                              ori_shape=(64, 64))])
    expected = torch.tensor(ref['outputs']['logits'])
    assert expected.shape == (19, 8, 8) and expected.abs().max() > 0.5
    assert_matches(sample(logits, ref['stride']), expected, 'logits')


def test_unknown_and_missing_keys_are_listed(source, reference):
    bad = dict(source)
    bad['cp.sp.conv1.weight'] = torch.zeros(1)
    with pytest.raises(UserError, match=r"unknown source keys: \['cp.sp.conv1.weight'\]|"
                                        r"no place in the model: \['backbone.context_path.sp"):
        convert(bad, reference)
    missing = dict(source)
    del missing['ffm.conv2.weight']
    message = r"model keys with no source: \['backbone.ffm.conv2.weight'\]"
    with pytest.raises(UserError, match=message):
        convert(missing, reference)
    wrong = dict(source)
    wrong['conv_out.conv_out.weight'] = torch.zeros(18, 256, 1, 1)  # 18 classes
    with pytest.raises(UserError, match=r"shape mismatches: \['decode_head.conv_seg.weight: "
                                        r"\(18, 256, 1, 1\) vs \(19, 256, 1, 1\)'\]"):
        convert(wrong, reference)
    other = dict(source)
    other['lm_head.weight'] = torch.zeros(1)
    with pytest.raises(UserError, match=r"unknown source keys: \['lm_head.weight'\]"):
        convert(other, reference)
    # another architecture's checkpoint: one line naming what it lacks
    regseg = {'stem.conv.weight': torch.zeros(32, 3, 3, 3)}
    with pytest.raises(UserError, match=r"^not a face_parsing_pytorch checkpoint "
                                        r"\(model.BiSeNet\(n_classes=19\)\): it has no "
                                        r"'cp.resnet.conv1.weight'$"):
        convert(regseg, reference)


def test_cli_round_trip(tool, tmp_path, source):
    src = tmp_path / '79999_iter.pth'
    torch.save(source, src)
    dst = tmp_path / 'converted.pth'
    proc = tool('tools/model_converters/face_parsing_pytorch.py', str(src), str(dst), check=True)
    assert '191 tensors' in proc.stdout
    ckpt = torch.load(dst, weights_only=True)
    assert ckpt['meta']['source'] == '79999_iter.pth' and len(ckpt['state_dict']) == 191
    bad = tool('tools/model_converters/face_parsing_pytorch.py', str(tmp_path / 'nope.pth'),
               str(dst))
    assert bad.returncode == 2 and 'not found' in bad.stderr


FACE = os.path.join(ROOT, 'tests', 'data', 'face_parsing_pytorch_face_outputs.json')


def test_converted_model_gives_the_authors_outputs_from_an_image_file(tmp_path):
    """The authors' BiSeNet (their model.py and test.py preprocessing, run once outside this repo)
    produced the stored main and auxiliary outputs from a PNG file; the converted checkpoint in
    our fp config, fed the same file through the config's own test pipeline and data
    preprocessor, must reproduce all three: the main logits and each auxiliary head in its slot."""
    import cv2
    from mmcv.transforms import Compose
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from torch.nn.functional import interpolate

    ref = json.load(open(FACE))
    config = os.path.join(ROOT, 'configs/bisenetv1-fp_celebamask.py')
    cfg = Config.fromfile(config)
    init_default_scope('faceparse_mm')
    label = str(tmp_path / 'label.png')
    cv2.imwrite(label, torch.zeros(64, 64, dtype=torch.uint8).numpy())
    packed = Compose(cfg.test_dataloader.dataset.pipeline)(dict(
        img_path=os.path.join(ROOT, ref['image']), seg_map_path=label, seg_fields=[],
        reduce_zero_label=False))
    model = build_segmentor(cfg)
    model.load_state_dict(convert(formula_state_dict(json.load(open(KEYS))['keys'])), strict=True)
    model.eval()
    with torch.no_grad():
        x = model.data_preprocessor(dict(inputs=[packed['inputs']],
                                         data_samples=[packed['data_samples']]), False)['inputs']
        assert list(x.shape) == ref['input_shape']
        torch.testing.assert_close(x.mean((0, 2, 3)), torch.tensor(ref['input_mean_per_channel']),
                                   atol=1e-5, rtol=0)
        metas = [dict(img_shape=(64, 64), pad_shape=(64, 64), ori_shape=(64, 64))]
        logits = model.encode_decode(x, metas)
        feats = model.extract_feat(x)
        aux = [interpolate(head(feats), size=(64, 64), mode='bilinear', align_corners=True)
               for head in model.auxiliary_head]
    for ours, theirs in ((logits, 'feat_out'), (aux[0], 'feat_out16'), (aux[1], 'feat_out32')):
        expected = torch.tensor(ref[theirs])
        assert expected.shape == (19, 8, 8)
        torch.testing.assert_close(ours[0, :, ::8, ::8], expected, atol=1e-4, rtol=1e-4,
                                   msg=f'{theirs} differs')


def test_ddp_prefixes_and_wrapped_checkpoints_convert_the_same(source, reference, tmp_path):
    plain = convert(source, reference)
    prefixed = convert({f'module.{k}': v for k, v in source.items()}, reference)
    assert plain.keys() == prefixed.keys()
    assert all(torch.equal(plain[k], prefixed[k]) for k in plain)
    src = tmp_path / 'wrapped.pth'
    torch.save(dict(state_dict=source, optimizer={}), src)
    converter_main('face_parsing_pytorch', [str(src), str(tmp_path / 'out.pth')])
    out = torch.load(tmp_path / 'out.pth', weights_only=True)
    assert all(torch.equal(out['state_dict'][k], plain[k]) for k in plain)
    from faceparse_mm.datasets import CLASSES, PALETTE
    assert out['meta']['dataset_meta'] == dict(classes=list(CLASSES), palette=PALETTE)
    assert out['meta']['config'] == 'configs/bisenetv1-fp_celebamask.py'
