"""ANN: the asymmetric non-local blocks (APNB, AFNB), the head and the ann-r101-d8 configs."""
import json
import math
import os

import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope

from faceparse_mm.models.decode_heads import AsymmetricNonLocalHead
from faceparse_mm.models.modules import AsymmetricFusionNonLocal, AsymmetricPyramidNonLocal
from faceparse_mm.models.modules.asymmetric_non_local import num_anchors, pyramid_sample
from faceparse_mm.registry import MODELS
from faceparse_mm.utils.build import build_segmentor, count_params, replace_norm
from tests.models.randomise import randomise

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FULL = os.path.join(ROOT, 'configs', 'ann-r101-d8_celebamask.py')
DEMO = os.path.join(ROOT, 'configs', 'demo', 'ann-r101-d8_demo.py')
PARAMS = os.path.join(ROOT, 'tests', 'data', 'zoo_params.json')
# the authors' asymmetric_non_local_network (MendelXu/ANN) with 19 classes, without and with its
# dsn (auxiliary) head; their deep-stem ResNet-101, AFNB, 3x3 context conv + BN, APNB, classifier
AUTHORS_INFERENCE, AUTHORS_TOTAL = 62_964_435, 67_694_310
AUTHORS_BACKBONE, AUTHORS_AFNB, AUTHORS_CONTEXT_CONV = 42_623_936, 9_971_456, 9_438_720
AUTHORS_APNB, AUTHORS_CLS = 920_576, 9_747
# biases of convs followed by a BN (cancelled by it; left out here): AFNB query, key, fusion;
# the 3x3 conv; APNB query-key, fusion; the dsn's 3x3 conv
DEAD_AFNB, DEAD_CONTEXT_CONV, DEAD_APNB, DEAD_DSN = 256 + 256 + 2048, 512, 256 + 512, 512


def _apnb(**kw):
    return AsymmetricPyramidNonLocal(8, 8, key_channels=6, value_channels=5, **kw)


def _afnb(**kw):
    return AsymmetricFusionNonLocal(6, 10, 12, key_channels=4, value_channels=7, **kw)


# ---- the blocks written out with plain tensor ops (eval mode) ----

def _conv1x1(conv, x):
    y = torch.einsum('oc,nchw->nohw', conv.weight[:, :, 0, 0], x)
    return y if conv.bias is None else y + conv.bias[:, None, None]


def _conv_bn_act(cm, x, act=True):
    bn = cm.bn
    y = _conv1x1(cm.conv, x)
    y = (y - bn.running_mean[:, None, None]) / torch.sqrt(bn.running_var[:, None, None] + bn.eps)
    y = y * bn.weight[:, None, None] + bn.bias[:, None, None]
    return y.clamp(min=0) if act else y


def _anchors(x, scales):
    """Cell means of an s x s grid for each s (H and W divisible by every s)."""
    n, c, h, w = x.shape
    return torch.cat([x.reshape(n, c, s, h // s, s, w // s).mean((3, 5)).reshape(n, c, s * s)
                      for s in scales], 2)


def _attend(q, k, v, scales):
    """q (N, d, H, W) queries; k, v maps whose anchors are the keys and values."""
    n, d, h, w = q.shape
    keys, values = _anchors(k, scales), _anchors(v, scales)
    sim = torch.einsum('ndp,nds->nps', q.flatten(2), keys) / math.sqrt(d)
    e = torch.exp(sim - sim.max(-1, keepdim=True).values)
    a = e / e.sum(-1, keepdim=True)
    return torch.einsum('nps,nvs->nvp', a, values).reshape(n, -1, h, w)


def _reference_apnb(m, x):
    qk = _conv_bn_act(m.query_key, x)  # one projection for queries and keys
    ctx = _conv1x1(m.out_proj, _attend(qk, qk, _conv1x1(m.value, x), m.scales))
    return _conv_bn_act(m.fusion, torch.cat([ctx, x], 1))


def _reference_afnb(m, low, high, act=True):
    q = _conv_bn_act(m.query, high)
    ctx = _attend(q, _conv_bn_act(m.key, low), _conv1x1(m.value, low), m.scales)
    return _conv_bn_act(m.fusion, torch.cat([_conv1x1(m.out_proj, ctx), high], 1), act=act)


def test_the_apnb_computes_softmax_of_qk_over_sqrt_d_over_the_pyramid_anchors():
    torch.manual_seed(0)
    m = randomise(_apnb(), seed=0)
    x = torch.randn(2, 8, 24, 24)  # divisible by 1, 3, 6 and 8: the anchors are cell means
    with torch.no_grad():
        torch.testing.assert_close(m(x), _reference_apnb(m, x), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('fusion_act_cfg', ['default', None])
def test_the_afnb_attends_from_the_high_map_over_the_low_maps_anchors(fusion_act_cfg):
    torch.manual_seed(1)
    m = randomise(_afnb(fusion_act_cfg=fusion_act_cfg), seed=1)
    low, high = torch.randn(2, 6, 24, 48), torch.randn(2, 10, 5, 7)  # different sizes
    with torch.no_grad():
        out = m(low, high)
        assert out.shape == (2, 12, 5, 7)  # on the high (query) map's grid
        torch.testing.assert_close(
            out, _reference_afnb(m, low, high, act=fusion_act_cfg is not None),
            rtol=1e-4, atol=1e-4)
    assert m.fusion.with_activation == (fusion_act_cfg is not None)


def test_the_afnb_output_follows_its_queries_pixel_by_pixel():
    """Shuffling the high map's positions shuffles the output alike: each output pixel is its
    own query's, over anchors that do not depend on the high map."""
    m = randomise(_afnb(), seed=2)
    low, high = torch.randn(1, 6, 16, 16), torch.randn(1, 10, 6, 9)
    perm = torch.randperm(6 * 9)
    shuffled = high.flatten(2)[..., perm].view_as(high)
    with torch.no_grad():
        out, out_shuffled = m(low, high), m(low, shuffled)
        torch.testing.assert_close(out_shuffled, out.flatten(2)[..., perm].view_as(out))


@pytest.mark.parametrize('scales', [(1, 3, 6, 8), (2, 4), (1,)])
def test_the_number_of_anchors_is_the_sum_of_the_squared_scales(scales):
    assert num_anchors((1, 3, 6, 8)) == 110
    x = torch.randn(2, 3, 13, 10)  # not divisible: adaptive pooling
    assert pyramid_sample(x, scales).shape == (2, 3, sum(s * s for s in scales))
    m = randomise(_apnb(scales=scales))
    a = AsymmetricFusionNonLocal(6, 10, 12, 4, 7, scales=scales).eval()
    with torch.no_grad():
        assert m.attention(torch.randn(1, 8, 9, 11)).shape == (1, 99, num_anchors(scales))
        attn = a.attention(torch.randn(1, 6, 12, 12), torch.randn(1, 10, 4, 5))
        assert attn.shape == (1, 20, num_anchors(scales))


def test_the_attention_rows_sum_to_one():
    m, a = randomise(_apnb(), seed=3), randomise(_afnb(), seed=3)
    with torch.no_grad():
        for attn in (m.attention(torch.randn(2, 8, 10, 12)),
                     a.attention(torch.randn(2, 6, 16, 16), torch.randn(2, 10, 10, 12))):
            assert attn.shape == (2, 120, 110) and (attn >= 0).all()
            torch.testing.assert_close(attn.sum(-1), torch.ones(2, 120))
            assert attn.std(-1).min() > 0  # not uniform: the anchors are told apart


def test_with_w_at_zero_the_attention_branch_contributes_nothing():
    m, a = randomise(_apnb(), seed=4), randomise(_afnb(), seed=4)
    x, low, high = torch.randn(2, 8, 12, 12), torch.randn(2, 6, 16, 16), torch.randn(2, 10, 8, 8)
    with torch.no_grad():
        assert m.out_proj.weight.abs().sum() > 0 and a.out_proj.weight.abs().sum() > 0
        m.init_weights()
        a.init_weights()
        for block in (m, a):
            assert not block.out_proj.weight.any() and not block.out_proj.bias.any()
        m.eval()
        a.eval()  # the BNs keep their random running statistics
        zeros = torch.zeros(2, 8, 12, 12)
        assert torch.equal(m(x), m.fusion(torch.cat([zeros, x], 1)))
        zeros = torch.zeros(2, 12, 8, 8)
        assert torch.equal(a(low, high), a.fusion(torch.cat([zeros, high], 1)))


def test_with_w_at_zero_the_first_gradient_reaches_w_only():
    """W = 0 blocks the gradient to the query, key and value projections for one step; W's
    own gradient is not zero, so they train from the second step."""
    torch.manual_seed(5)
    m = _apnb()
    m.init_weights()
    m.train()
    x = torch.randn(2, 8, 12, 12)
    (m(x) ** 2).mean().backward()
    assert m.out_proj.weight.grad.abs().sum() > 0 and m.fusion.conv.weight.grad.abs().sum() > 0
    assert not m.query_key.conv.weight.grad.any() and not m.value.weight.grad.any()


def test_the_head_predicts_at_batch_one_on_small_maps_and_trains():
    torch.manual_seed(6)
    head = AsymmetricNonLocalHead(in_channels=(8, 16), in_index=(0, 1), channels=8,
                                  fusion_channels=16, key_channels=4, value_channels=4,
                                  num_classes=3, norm_cfg=dict(type='BN'))
    assert head.dropout is None and head.context.dropout.p == 0.05
    assert head.fusion.dropout.p == 0.05
    head.eval()
    with torch.no_grad():  # a 4 x 4 map: the 8 x 8 anchors still exist (adaptive pooling)
        assert head([torch.randn(1, 8, 4, 4), torch.randn(1, 16, 4, 4)]).shape == (1, 3, 4, 4)
    head.train()
    out = head([torch.randn(1, 8, 6, 6), torch.randn(1, 16, 6, 6)])
    (out ** 2).mean().backward()
    for name, p in head.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.any(), name


def test_the_full_config_builds_the_authors_model_and_init_keeps_w_at_zero():
    model = build_segmentor(FULL, init_weights=True)
    head, aux = model.decode_head, model.auxiliary_head
    assert isinstance(head, AsymmetricNonLocalHead) and head.align_corners and aux.align_corners
    for block in (head.fusion, head.context):
        assert not block.out_proj.weight.any() and not block.out_proj.bias.any()
        assert block.scales == (1, 3, 6, 8) and block.dropout.p == 0.05
    assert head.fusion.query.conv.weight.std() > 0  # the other layers were initialised
    assert head.fusion.query.conv.in_channels == 2048 and head.fusion.key.conv.in_channels == 1024
    assert head.fusion.out_proj.out_channels == 2048
    assert head.context.query_key.conv.out_channels == 256
    assert head.dropout is None and aux.dropout.p == 0.05
    stem = [m.out_channels for m in model.backbone.stem if isinstance(m, torch.nn.Conv2d)]
    assert stem == [64, 64, 128]  # the authors' deep stem
    assert sum(p.numel() for p in model.backbone.parameters()) == AUTHORS_BACKBONE
    parts = dict(fusion=AUTHORS_AFNB - DEAD_AFNB,
                 bottleneck=AUTHORS_CONTEXT_CONV - DEAD_CONTEXT_CONV,
                 context=AUTHORS_APNB - DEAD_APNB, conv_seg=AUTHORS_CLS)
    assert {k: sum(p.numel() for p in getattr(head, k).parameters()) for k in parts} == parts
    total, inference = count_params(model)
    dead = DEAD_AFNB + DEAD_CONTEXT_CONV + DEAD_APNB
    assert inference == AUTHORS_INFERENCE - dead == 62_960_595
    assert total == AUTHORS_TOTAL - dead - DEAD_DSN
    with open(PARAMS) as f:
        assert json.load(f)['ann-r101-d8'] == dict(total=total, inference=inference)
    assert abs(inference / AUTHORS_INFERENCE - 1) < 0.01
    cfg = Config.fromfile(FULL)
    assert cfg.model.decode_head.loss_decode.loss_weight == 1.0
    assert cfg.model.auxiliary_head.loss_decode.loss_weight == 0.4
    assert 'model.auxiliary_head.loss_decode.loss_weight' in cfg.protocol_departures


def test_resnet101_v1c_leaves_only_the_stem_and_layer1_0s_entry_at_random_init():
    """With the 128-channel stem, the weights whose shapes differ from open-mmlab's
    resnet101_v1c layout (mmseg's 64-channel stem) are the stem's convs and BNs and layer1.0's
    conv1 and downsample conv (128 in): those stay at random init, every other weight loads."""
    init_default_scope('faceparse_mm')
    cfg = Config.fromfile(FULL).model.backbone.to_dict()
    assert cfg.pop('init_cfg') == dict(type='Pretrained', checkpoint='open-mmlab://resnet101_v1c')
    replace_norm(cfg, 'SyncBN', 'BN')
    ours = MODELS.build(ConfigDict(cfg)).state_dict()
    imagenet = MODELS.build(dict(type='ResNetV1c', depth=101)).state_dict()
    differ = {k for k, v in ours.items() if k not in imagenet or imagenet[k].shape != v.shape}
    assert {k.rsplit('.', 1)[0] for k in differ} == {
        'stem.0', 'stem.1', 'stem.3', 'stem.4', 'stem.6', 'stem.7', 'layer1.0.conv1',
        'layer1.0.downsample.0'}
    assert set(imagenet) == set(ours)


def test_the_demo_uses_the_zoos_shared_backbone_and_a_narrowed_head():
    cfg = Config.fromfile(DEMO)
    shared = {k: v for k, v in cfg.demo_backbone_r18_d8.to_dict().items() if k != '_delete_'}
    assert cfg.model.backbone.to_dict() == shared
    model = build_segmentor(cfg)
    head = model.decode_head
    assert model.backbone.depth == 18 and tuple(head.in_channels) == (256, 512)
    assert head.fusion.out_proj.out_channels == 512 and head.channels == 128
    assert head.context.query_key.conv.out_channels == 64 and head.context.value.out_channels == 64
    assert model.auxiliary_head.in_channels == 256 and model.auxiliary_head.channels == 64
