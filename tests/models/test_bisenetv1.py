import json
import os

import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope

from faceparse_mm.models.modules import AttentionRefinementModule, FeatureFusionModule, SpatialPath
from faceparse_mm.registry import MODELS
from faceparse_mm.utils.build import build_segmentor, replace_norm

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEYS = os.path.join(ROOT, 'tests', 'data', 'face_parsing_pytorch_keys.json')


def _model(config):
    return build_segmentor(os.path.join(ROOT, config))


def test_arm_gates_channels():
    torch.manual_seed(0)
    arm = AttentionRefinementModule(8, 6).eval()
    x = torch.randn(2, 8, 7, 9)
    out = arm(x)
    feat = arm.conv(x)
    ratio = out / feat
    valid = feat.abs() > 1e-4
    per_channel = ratio.masked_fill(~valid, float('nan'))
    gate = per_channel.nanmean(dim=(2, 3), keepdim=True)
    assert torch.allclose(per_channel[valid], gate.expand_as(ratio)[valid], atol=1e-5)
    assert (gate > 0).all() and (gate < 1).all()
    assert torch.allclose(gate.squeeze(), arm.attention(feat).squeeze(), atol=1e-5)


@pytest.mark.parametrize('attention_channels', [None, 2])
def test_ffm_returns_f_times_att_plus_f(attention_channels):
    torch.manual_seed(1)
    ffm = FeatureFusionModule(6, 8, attention_channels).eval()
    a, b = torch.randn(2, 4, 5, 5), torch.randn(2, 2, 5, 5)
    f = ffm.convblk(torch.cat([a, b], 1))
    att = torch.sigmoid(ffm.conv2(torch.relu(ffm.conv1(f.mean((2, 3), keepdim=True)))))
    torch.testing.assert_close(ffm([a, b]), f * att + f)
    assert ffm.conv1.out_channels == (attention_channels or 8)
    assert ffm.conv1.bias is None and ffm.conv2.bias is None


def test_spatial_path_is_128_at_one_eighth():
    out = SpatialPath()(torch.randn(1, 3, 64, 48))
    assert out.shape == (1, 128, 8, 6)


@pytest.mark.parametrize('spatial_path', [True, False])
def test_backbone_outputs(spatial_path):
    backbone = MODELS.build(dict(type='FaceBiSeNetV1', spatial_path=spatial_path))
    ffm, feat_s8, feat_s16 = backbone(torch.randn(2, 3, 64, 64))
    assert ffm.shape == (2, 256, 8, 8) and feat_s8.shape == (2, 128, 8, 8)
    assert feat_s16.shape == (2, 128, 4, 4)
    assert (backbone.spatial_path is not None) == spatial_path


def test_torchvision_resnet18_weights_load_into_context_path():
    import torchvision
    tv = torchvision.models.resnet18().state_dict()  # random init: nothing downloaded
    backbone = MODELS.build(dict(type='FaceBiSeNetV1'))
    result = backbone.context_path.resnet.load_state_dict(tv, strict=False)
    assert result.missing_keys == []
    assert sorted(result.unexpected_keys) == ['fc.bias', 'fc.weight']
    torch.testing.assert_close(backbone.context_path.resnet.layer3[1].conv2.weight,
                               tv['layer3.1.conv2.weight'])


def _batch(n=2, size=64):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    samples = []
    for _ in range(n):
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=torch.randint(0, 19, (1, size, size)))
        s.set_metainfo(dict(img_shape=(size, size), ori_shape=(size, size), pad_shape=(size, size)))
        samples.append(s)
    inputs = [torch.randint(0, 255, (3, size, size), dtype=torch.uint8) for _ in range(n)]
    return dict(inputs=inputs, data_samples=samples)


SEED = 'configs/_base_/models/bisenetv1.py'
FP = 'configs/_base_/models/bisenetv1-fp.py'


@pytest.mark.parametrize('config', [SEED, FP])
def test_configs_train_and_predict(config):
    model = _model(config)
    data = model.data_preprocessor(_batch(), training=True)
    losses = model(**data, mode='loss')
    assert {'decode.loss_ohem', 'aux_0.loss_ohem', 'aux_1.loss_ohem'} <= set(losses)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    assert model.backbone.context_path.resnet.conv1.weight.grad is not None
    assert model.auxiliary_head[1].conv_seg.weight.grad is not None
    model.eval()
    with torch.no_grad():
        called = []
        hook = model.auxiliary_head[0].register_forward_hook(lambda *a: called.append(1))
        out = model.test_step(_batch(1))
        hook.remove()
    assert out[0].pred_sem_seg.shape == (64, 64) and not called


def test_fp_variant_has_the_authors_parameter_count():
    ref = json.load(open(KEYS))
    model = _model(FP)
    assert sum(p.numel() for p in model.parameters()) == ref['num_parameters'] == 13300416
    heads = [model.decode_head, *model.auxiliary_head]
    assert all(h.conv_seg.bias is None and h.align_corners for h in heads)
    assert model.backbone.spatial_path is None and model.backbone.ffm.conv1.out_channels == 64


def test_seed_variant_differs_where_it_should():
    model = _model(SEED)
    assert model.backbone.spatial_path is not None
    assert model.backbone.ffm.conv1.out_channels == 256
    heads = [model.decode_head, *model.auxiliary_head]
    assert all(h.conv_seg.bias is not None and not h.align_corners for h in heads)


@pytest.mark.parametrize('config', [SEED, FP])
def test_pretrained_init_reaches_the_resnet(config, tmp_path):
    """``context_init_cfg`` (torchvision://resnet18 in the configs) is applied by the model's
    ``init_weights()``: here a local torchvision-layout file stands in for the download."""
    import torchvision
    torch.manual_seed(2)
    tv = torchvision.models.resnet18().state_dict()
    path = str(tmp_path / 'resnet18.pth')
    torch.save(tv, path)
    init_default_scope('faceparse_mm')
    cfg = Config.fromfile(os.path.join(ROOT, config)).model.to_dict()
    replace_norm(cfg, 'SyncBN', 'BN')
    assert cfg['backbone']['context_init_cfg'] == dict(type='Pretrained',
                                                      checkpoint='torchvision://resnet18')
    cfg['backbone']['context_init_cfg']['checkpoint'] = path
    model = MODELS.build(ConfigDict(cfg))
    assert not torch.equal(model.backbone.context_path.resnet.conv1.weight, tv['conv1.weight'])
    model.init_weights()
    resnet = model.backbone.context_path.resnet.state_dict()
    for key, value in resnet.items():
        assert torch.equal(value, tv[key]), key
