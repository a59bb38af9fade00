"""SR-Net: the channel reasoning block, its head and the srnet-r50-d8 configs."""
import os

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope

from faceparse_mm.models.decode_heads import SqueezeReasoningHead
from faceparse_mm.models.modules import ChannelReasoningModule
from faceparse_mm.registry import MODELS
from faceparse_mm.utils.build import build_segmentor, count_params, replace_norm
from tests.models.randomise import randomise

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FULL = os.path.join(ROOT, 'configs', 'srnet-r50-d8_celebamask.py')
DEMO = os.path.join(ROOT, 'configs', 'demo', 'srnet-r50-d8_demo.py')
# the authors' SRNet(19, trunk='resnet-50-deep', variant='D') without its auxiliary head, its
# ModuleHead and its ChannelReasonModule(512, 256), counted from lxtGH/SFSegNets
AUTHORS_INFERENCE, AUTHORS_HEAD, AUTHORS_MODULE = 27_447_395, 3_815_587, 395_920
# the bias of the head's 3x3 conv, cancelled by the BatchNorm after it (left out here)
DEAD_BIAS = 512


def _reference(m, x):
    """The block written out index by index, as the authors' code computes it (eval mode)."""
    t, p, g = m.theta(x), m.phi(x), m.g(x)
    n, k, h, w = t.shape
    nodes, feats = m.num_nodes, k // m.num_nodes
    vec = torch.stack([(p[:, c] * g[:, c]).sum((1, 2)) / (h * w) for c in range(k)], 1)
    graph = torch.zeros(n, nodes, feats)
    for c in range(k):  # consecutive channels are consecutive nodes
        graph[:, c % nodes, c // nodes] = vec[:, c]

    def conv_bn_relu(cm, z):  # 1x1 conv over dim 1 of (N, C, L), eval BN, ReLU
        y = torch.einsum('oc,ncl->nol', cm.conv.weight[:, :, 0, 0], z)
        bn = cm.bn
        y = (y - bn.running_mean[:, None]) / torch.sqrt(bn.running_var[:, None] + bn.eps)
        return (y * bn.weight[:, None] + bn.bias[:, None]).clamp(min=0)

    graph = conv_bn_relu(m.node_conv, graph) + graph
    graph = conv_bn_relu(m.feature_conv, graph.transpose(1, 2)).transpose(1, 2)
    scale = torch.stack([graph[:, c // feats, c % feats] for c in range(k)], 1)  # node-major
    y = t * scale[:, :, None, None]
    c_out, groups = m.expand.out_channels, m.groups
    per_in, per_out = k // groups, c_out // groups
    wz = m.expand.weight[:, :, 0, 0]
    z = torch.stack([sum(wz[o, i] * y[:, (o // per_out) * per_in + i] for i in range(per_in))
                     for o in range(c_out)], 1)
    zg = z.reshape(n, m.norm_groups, -1)
    zg = (zg - zg.mean(-1, keepdim=True)) / torch.sqrt(zg.var(-1, unbiased=False, keepdim=True)
                                                       + m.norm.eps)
    z = zg.reshape(z.shape) * m.norm.weight[:, None, None] + m.norm.bias[:, None, None]
    return z + x


def test_the_block_and_the_head_have_the_authors_parameter_counts():
    block = ChannelReasoningModule(512, 256)
    assert sum(p.numel() for p in block.parameters()) == AUTHORS_MODULE
    head = SqueezeReasoningHead(in_channels=2048, channels=512, num_classes=19,
                                norm_cfg=dict(type='BN'))
    assert sum(p.numel() for p in head.parameters()) == AUTHORS_HEAD - DEAD_BIAS
    assert head.bottleneck.conv.bias is None and head.in_proj.conv.bias is not None
    assert (block.node_conv.conv.in_channels, block.feature_conv.conv.in_channels) == (32, 8)
    assert block.expand.groups == 256 and block.norm.num_groups == 256


@pytest.mark.parametrize('groups, norm_groups', [(None, None), (2, None), (None, 2)])
def test_the_block_computes_the_authors_graph_index_by_index(groups, norm_groups):
    torch.manual_seed(0)
    m = randomise(ChannelReasoningModule(16, 8, num_nodes=4, groups=groups,
                                         norm_groups=norm_groups))
    x = torch.randn(2, 16, 5, 7)
    with torch.no_grad():
        for conv in (m.node_conv, m.feature_conv):  # keep most of the ReLUs open
            conv.bn.bias.abs_().add_(1.0)
        assert (m.reason(m.squeeze(x)) > 0).float().mean() > 0.5
        torch.testing.assert_close(m(x), _reference(m, x), rtol=1e-4, atol=1e-4)


def test_doubling_the_input_size_leaves_the_squeezed_vector_unchanged():
    torch.manual_seed(1)
    m = randomise(ChannelReasoningModule(16, 8, num_nodes=4), seed=1)
    x = torch.randn(2, 16, 8, 8)
    x2 = F.interpolate(x, scale_factor=2, mode='nearest')  # the same image, 4x the positions
    with torch.no_grad():
        torch.testing.assert_close(m.squeeze(x2), m.squeeze(x))
        # then everything after the squeeze is per pixel: the block commutes with the upsampling
        torch.testing.assert_close(m(x2), F.interpolate(m(x), scale_factor=2, mode='nearest'),
                                   rtol=1e-5, atol=1e-5)
        # the authors' sum grows with H x W
        m.squeeze_mean = False
        torch.testing.assert_close(m.squeeze(x2), 4 * m.squeeze(x), rtol=1e-5, atol=1e-4)


def _with_scale(m, x, scale):
    return m.norm(m.expand(m.theta(x) * scale[:, :, None, None])) + x


def test_with_the_authors_groups_the_groupnorm_divides_the_channel_scales_out():
    """One gated channel per GroupNorm group: positive rescalings leave the output unchanged
    (up to the norm's eps); a GroupNorm over several gated channels keeps their ratios."""
    torch.manual_seed(4)
    x = torch.randn(2, 16, 6, 6)
    scale = torch.rand(2, 8) + 0.5
    factors = torch.rand(2, 8) * 4 + 0.25
    authors = randomise(ChannelReasoningModule(16, 8, num_nodes=4), seed=4)
    with torch.no_grad():
        torch.testing.assert_close(_with_scale(authors, x, scale * factors),
                                   _with_scale(authors, x, scale), rtol=1e-3, atol=1e-3)
        assert authors.norm.num_groups == authors.expand.groups == 8
        spanning = randomise(ChannelReasoningModule(16, 8, num_nodes=4, norm_groups=2), seed=4)
        diff = _with_scale(spanning, x, scale * factors) - _with_scale(spanning, x, scale)
        assert diff.abs().max() > 0.1


def test_a_closed_groupnorm_makes_the_block_the_identity():
    m = randomise(ChannelReasoningModule(8, 8, num_nodes=4))
    with torch.no_grad():
        m.norm.weight.zero_()
        m.norm.bias.zero_()
        x = torch.randn(1, 8, 6, 6)
        torch.testing.assert_close(m(x), x)


def test_the_head_trains_at_batch_one_and_reaches_every_weight():
    torch.manual_seed(2)
    head = SqueezeReasoningHead(in_channels=16, channels=16, reason_channels=8, num_nodes=4,
                                num_classes=3, norm_cfg=dict(type='BN')).train()
    out = head([torch.randn(1, 16, 6, 6)])
    assert out.shape == (1, 3, 6, 6)
    (out ** 2).mean().backward()
    for name, p in head.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.any(), name


def test_the_full_config_builds_the_authors_model():
    model = build_segmentor(FULL)
    head, aux = model.decode_head, model.auxiliary_head
    assert isinstance(head, SqueezeReasoningHead) and head.align_corners and aux.align_corners
    block = head.reasoning
    assert (block.theta.out_channels, block.num_nodes, block.node_features) == (256, 32, 8)
    assert not block.squeeze_mean  # the authors' sum over H x W
    stem = [m.out_channels for m in model.backbone.stem if isinstance(m, torch.nn.Conv2d)]
    assert stem == [64, 64, 128]  # the authors' deep stem
    assert not model.backbone.maxpool.ceil_mode  # the authors' floor
    for layer, dilation in ((model.backbone.layer3, 2), (model.backbone.layer4, 4)):
        assert all(b.conv2.dilation == (dilation, dilation) and b.conv2.stride == (1, 1)
                   for b in layer)  # every block dilated, as the authors' code (no contraction)
    _, inference = count_params(model)
    assert sum(p.numel() for p in model.backbone.parameters()) == (
        AUTHORS_INFERENCE - AUTHORS_HEAD)
    assert inference == AUTHORS_INFERENCE - DEAD_BIAS
    cfg = Config.fromfile(FULL)
    assert cfg.model.auxiliary_head.loss_decode.loss_weight == 0.4
    assert 'model.auxiliary_head.loss_decode.loss_weight' in cfg.protocol_departures


def test_the_demo_uses_the_zoos_shared_backbone_not_the_deep_stem():
    cfg = Config.fromfile(DEMO)
    shared = {k: v for k, v in cfg.demo_backbone_r18_d8.to_dict().items() if k != '_delete_'}
    assert cfg.model.backbone.to_dict() == shared  # no key of the deep-stem R50 carries over
    model = build_segmentor(cfg)
    assert model.backbone.stem[6].out_channels == 64 and model.backbone.depth == 18
    assert model.decode_head.reasoning.theta.out_channels == 64


def test_imagenet_init_loads_every_backbone_weight_but_the_authors_stem(tmp_path):
    """A local file in the layout of the config's ``open-mmlab://resnet50_v1c`` (mmseg's
    ResNetV1c-50, 32-32-64 stem) loads into every backbone weight except those of the authors'
    64-64-128 stem: its convs and BNs and layer1.0's conv1 / downsample conv (128 in) stay at
    random init."""
    init_default_scope('faceparse_mm')
    torch.manual_seed(3)
    imagenet = {k: torch.randn(v.shape) if v.is_floating_point() else v
                for k, v in MODELS.build(dict(type='ResNetV1c', depth=50)).state_dict().items()}
    path = str(tmp_path / 'resnet50_v1c.pth')
    torch.save(imagenet, path)
    cfg = Config.fromfile(FULL).model.backbone.to_dict()
    replace_norm(cfg, 'SyncBN', 'BN')
    assert cfg['init_cfg'] == dict(type='Pretrained', checkpoint='open-mmlab://resnet50_v1c')
    cfg['init_cfg']['checkpoint'] = path
    backbone = MODELS.build(ConfigDict(cfg))
    backbone.init_weights()
    after = backbone.state_dict()
    assert set(after) == set(imagenet)
    differ = {k for k, v in after.items() if v.shape != imagenet[k].shape}
    assert {k.rsplit('.', 1)[0] for k in differ} == {
        'stem.0', 'stem.1', 'stem.3', 'stem.4', 'stem.6', 'stem.7', 'layer1.0.conv1',
        'layer1.0.downsample.0'}
    loaded = {k for k, v in after.items() if k not in differ and torch.equal(v, imagenet[k])}
    assert loaded == set(after) - differ
