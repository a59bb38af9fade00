"""Polarized Self-Attention: the module against the paper's equations written out by hand, its
gates, the authors' parameter counts, and PluginHRNet (PSA_s after conv1 of every BasicBlock of
stages 2-4) as the psa-ocrnet-hrnet-w18 config builds it."""
import os

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from faceparse_mm.models.backbones import PluginBasicBlock, PluginHRNet
from faceparse_mm.models.modules import PolarizedSelfAttention
from faceparse_mm.registry import MODELS
from faceparse_mm.utils.build import build_segmentor, count_params, replace_norm
from tests.models.randomise import randomise

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FULL = os.path.join(ROOT, 'configs', 'psa-ocrnet-hrnet-w18_celebamask.py')
OCR = os.path.join(ROOT, 'configs', 'ocrnet-hrnet-w18_celebamask.py')
DEMO = os.path.join(ROOT, 'configs', 'demo', 'psa-ocrnet-hrnet-w18_demo.py')
# the authors' PSA_p / PSA_s (DeLightCMU/PSA) parameter counts per channel width
AUTHORS_COUNTS = {512: (524_800, 443_584), 18: (666, 582), 36: (2_628, 2_244),
                  72: (10_440, 8_919), 144: (41_616, 35_334)}
# the authors' HRNet-W18 + PSA_s + OCR; mmseg's OCR cascade leaves out 782 conv biases that a
# BatchNorm cancels (512 in the OCR head's 3x3 conv, 270 in the soft-region head's 1x1 conv)
AUTHORS_INFERENCE, DEAD_BIASES = 12_844_990, 782


def _conv(weight, x, bias=None):
    """A 1x1 conv written as an einsum over (N, C, H, W)."""
    y = torch.einsum('oc,nchw->nohw', weight[:, :, 0, 0], x)
    return y if bias is None else y + bias[None, :, None, None]


def _layer_norm(z, dims, weight=None, bias=None, eps=1e-5):
    mean = z.mean(dims, keepdim=True)
    var = ((z - mean) ** 2).mean(dims, keepdim=True)
    z = (z - mean) / torch.sqrt(var + eps)
    return z if weight is None else z * weight + bias


def _channel_gate(m, x):
    """The paper's channel-only branch with the module's weights, written out."""
    n, _, h, w = x.shape
    q = _conv(m.ch_query.weight, x).reshape(n, h * w)
    a = torch.exp(q - q.max(1, keepdim=True).values)
    a = a / a.sum(1, keepdim=True)  # softmax over the positions
    v = _conv(m.ch_value.weight, x).reshape(n, -1, h * w)
    z = (v * a[:, None]).sum(-1)[:, :, None, None]  # (N, C/2, 1, 1)
    layers = list(m.ch_up)
    if isinstance(layers[0], torch.nn.Conv2d) and layers[0].bias is None:  # the paper's Wz
        z = _conv(layers[0].weight, z)
    else:  # the authors' bottleneck
        z = _conv(layers[0].weight, z, layers[0].bias)
        z = _layer_norm(z, (1, 2, 3), layers[1].weight, layers[1].bias).clamp(min=0)
        z = _conv(layers[3].weight, z, layers[3].bias)
    if not isinstance(layers[-1], torch.nn.Conv2d):  # the paper's LayerNorm over C
        z = _layer_norm(z, (1, 2, 3))
    return torch.sigmoid(z)


def _spatial_gate(m, x):
    """The paper's spatial-only branch: softmax over the pooled query's channels."""
    n, _, h, w = x.shape
    q = _conv(m.sp_query.weight, x).mean((2, 3))
    q = torch.exp(q - q.max(1, keepdim=True).values)
    q = q / q.sum(1, keepdim=True)
    v = _conv(m.sp_value.weight, x).reshape(n, -1, h * w)
    return torch.sigmoid((q[:, :, None] * v).sum(1)).reshape(n, 1, h, w)


@pytest.mark.parametrize('mode', ['parallel', 'sequential'])
def test_gates_lie_strictly_between_zero_and_one(mode):
    m = randomise(PolarizedSelfAttention(16, mode=mode))
    x = torch.randn(2, 16, 7, 11) * 3
    ch, sp = m.channel_gate(x), m.spatial_gate(x)
    assert ch.shape == (2, 16, 1, 1) and sp.shape == (2, 1, 7, 11)
    for gate in (ch, sp):
        assert (gate > 0).all() and (gate < 1).all()
        assert gate.std() > 1e-3  # not a constant


def test_sequential_is_the_spatial_gate_applied_after_the_channel_gate():
    m = randomise(PolarizedSelfAttention(16, mode='sequential', spatial_softmax='channels'),
                  seed=1)
    x = torch.randn(2, 16, 6, 9)
    y = _channel_gate(m, x) * x
    expected = _spatial_gate(m, y) * y
    with torch.no_grad():
        out = m(x)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)
    # not the parallel composition and not the other order
    assert not torch.allclose(out, _channel_gate(m, x) * x + _spatial_gate(m, x) * x, atol=1e-3)
    z = _spatial_gate(m, x) * x
    assert not torch.allclose(out, _channel_gate(m, z) * z, atol=1e-3)


def test_parallel_is_the_sum_of_both_gated_inputs_with_the_papers_layer_norm():
    m = randomise(PolarizedSelfAttention(16, mode='parallel', spatial_softmax='channels'), seed=2)
    x = torch.randn(2, 16, 5, 8)
    expected = _channel_gate(m, x) * x + _spatial_gate(m, x) * x
    with torch.no_grad():
        out = m(x)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)
    # the paper's LayerNorm over C: the channel gate's logits have zero mean, unit variance
    logits = torch.logit(m.channel_gate(x).detach().double())
    torch.testing.assert_close(logits.mean(1), torch.zeros_like(logits.mean(1)), atol=1e-4,
                               rtol=0)


def test_the_authors_spatial_softmaxes_are_over_positions_and_the_default():
    """PSA_p's softmax is on the product, PSA_s's on each value channel, both over the
    positions; the default of each mode is the authors' (the paper's is over channels)."""
    x = torch.randn(1, 16, 5, 8)
    n, _, h, w = x.shape
    for mode, where in (('parallel', 'positions'), ('sequential', 'values')):
        paper = randomise(PolarizedSelfAttention(16, mode=mode, spatial_softmax='channels'),
                          seed=3)
        authors = randomise(PolarizedSelfAttention(16, mode=mode, spatial_softmax=where),
                            seed=3)
        default = randomise(PolarizedSelfAttention(16, mode=mode), seed=3)
        with torch.no_grad():
            q = _conv(authors.sp_query.weight, x).mean((2, 3))
            v = _conv(authors.sp_value.weight, x).reshape(n, -1, h * w)
            if where == 'values':
                logits = (q[:, :, None] * v.softmax(-1)).sum(1)
            else:
                logits = (q[:, :, None] * v).sum(1).softmax(-1)
            expected = torch.sigmoid(logits).reshape(n, 1, h, w)
            torch.testing.assert_close(authors.spatial_gate(x), expected)
            torch.testing.assert_close(default.spatial_gate(x), expected)
            assert not torch.allclose(paper.spatial_gate(x), expected, atol=1e-3)


@pytest.mark.parametrize('channels', sorted(AUTHORS_COUNTS))
def test_parameter_counts_are_the_authors(channels):
    parallel, sequential = AUTHORS_COUNTS[channels]
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(PolarizedSelfAttention(channels, mode='parallel')) == parallel
    assert count(PolarizedSelfAttention(channels, mode='sequential')) == sequential


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='mode'):
        PolarizedSelfAttention(16, mode='both')
    with pytest.raises(ValueError, match='spatial_softmax'):
        PolarizedSelfAttention(16, spatial_softmax='pixels')


def _tiny_hrnet(plugins=None, seed=0):
    torch.manual_seed(seed)
    extra = dict(
        stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(1,),
                    num_channels=(8,)),
        stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(2, 2),
                    num_channels=(8, 16)),
        stage3=dict(num_modules=1, num_branches=3, block='BASIC', num_blocks=(1, 1, 1),
                    num_channels=(8, 16, 32)),
        stage4=dict(num_modules=1, num_branches=4, block='BASIC', num_blocks=(1, 1, 1, 1),
                    num_channels=(8, 16, 32, 32)))
    return PluginHRNet(extra, plugins=plugins)


def test_plugin_hrnet_without_plugins_is_mmsegs_hrnet():
    """Same weight names and outputs as mmseg's HRNet: its checkpoints load unchanged."""
    init_default_scope('faceparse_mm')
    ours = _tiny_hrnet()
    theirs = MODELS.build(dict(type='HRNet', extra=ours.extra))
    assert set(ours.state_dict()) == set(theirs.state_dict())
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(1, 3, 32, 32)
    ours.eval(), theirs.eval()  # HRNet.train returns None: no chaining
    with torch.no_grad():
        for a, b in zip(ours(x), theirs(x)):
            torch.testing.assert_close(a, b)


def test_plugin_goes_after_the_first_conv_bn_relu_of_each_chosen_basic_block():
    psa = dict(type='PolarizedSelfAttention', mode='sequential')
    net = _tiny_hrnet([dict(cfg=psa, stages=(False, True, False, True), position='after_conv1')])
    randomise(net, seed=4)  # (eval mode; HRNet.eval returns None)
    blocks = [b for b in net.modules() if isinstance(b, PluginBasicBlock)]
    with_psa = [b for b in blocks if any(isinstance(c, PolarizedSelfAttention)
                                         for c in b.children())]
    # stage 2: 2 branches x 2 blocks, stage 4: 4 x 1; stage 3 and the bottlenecks have none
    assert len(with_psa) == 4 + 4
    assert not any(isinstance(m, PolarizedSelfAttention) for m in net.stage3.modules())
    assert not any(isinstance(m, PolarizedSelfAttention) for m in net.layer1.modules())
    block = net.stage2[0].branches[1][1]
    psa_module = next(c for c in block.children() if isinstance(c, PolarizedSelfAttention))
    x = torch.randn(1, 16, 6, 6)
    with torch.no_grad():
        inner = psa_module(torch.relu(block.norm1(block.conv1(x))))
        expected = torch.relu(block.norm2(block.conv2(inner)) + x)
        torch.testing.assert_close(block(x), expected)


def test_psa_config_builds_104_psa_s_modules_with_the_authors_count():
    model = build_segmentor(Config.fromfile(FULL))
    psa = [m for m in model.backbone.modules() if isinstance(m, PolarizedSelfAttention)]
    assert len(psa) == 104 and all(m.mode == 'sequential' for m in psa)
    assert all(m.spatial_softmax == 'values' for m in psa)  # the authors' PSA_s
    widths = sorted({m.ch_query.in_channels for m in psa})
    assert widths == [18, 36, 72, 144]
    added = sum(p.numel() for m in psa for p in m.parameters())
    assert added == 4 * (582 + 2_244) + 16 * (582 + 2_244 + 8_919) + 12 * (
        582 + 2_244 + 8_919 + 35_334)  # stage 2: 4 blocks per branch; 3: 4 x 4; 4: 3 x 4
    _, inference = count_params(model)
    plain, _ = count_params(build_segmentor(Config.fromfile(OCR)))
    assert inference == plain + added
    assert inference == AUTHORS_INFERENCE - DEAD_BIASES
    assert abs(inference - AUTHORS_INFERENCE) / AUTHORS_INFERENCE < 0.01


def test_hrnet_imagenet_init_loads_every_hrnet_weight_and_leaves_psa_alone(tmp_path):
    """A local file in the layout of the config's ``open-mmlab://msra/hrnetv2_w18`` (mmseg's
    HRNet-W18) loads into every HRNet weight of the PSA backbone; the PSA modules keep theirs."""
    init_default_scope('faceparse_mm')
    cfg = Config.fromfile(FULL).model.backbone.to_dict()
    replace_norm(cfg, 'SyncBN', 'BN')
    assert cfg['init_cfg'] == dict(type='Pretrained', checkpoint='open-mmlab://msra/hrnetv2_w18')
    torch.manual_seed(5)
    plain = {k: v for k, v in cfg.items() if k not in ('type', 'plugins', 'init_cfg')}
    imagenet = {k: torch.randn(v.shape) if v.is_floating_point() else v
                for k, v in MODELS.build(dict(plain, type='HRNet')).state_dict().items()}
    path = str(tmp_path / 'hrnetv2_w18.pth')
    torch.save(imagenet, path)
    cfg['init_cfg']['checkpoint'] = path
    backbone = MODELS.build(cfg)
    before = {k: v.clone() for k, v in backbone.state_dict().items()}
    backbone.init_weights()
    after = backbone.state_dict()
    loaded = {k for k, v in after.items() if k in imagenet and torch.equal(v, imagenet[k])}
    assert loaded == set(imagenet)
    rest = set(after) - set(imagenet)
    assert rest and all('polarized_self_attention' in k for k in rest)
    assert all(torch.equal(after[k], before[k]) for k in rest)


def test_psa_modules_of_the_demo_model_compute_the_same_in_train_and_eval_mode():
    """The demo row's model: its 104 PSA_s modules hold no BatchNorm, dropout or other
    mode-dependent layer, so train-mode and eval-mode outputs are identical (its backbone and
    heads differ between the modes only as plain OCRNet-HRNet-W18's do)."""
    model = build_segmentor(Config.fromfile(DEMO))
    psa = [m for m in model.backbone.modules() if isinstance(m, PolarizedSelfAttention)]
    assert len(psa) == 104
    torch.manual_seed(5)
    for i, m in enumerate(psa):
        randomise(m, seed=i)
        x = torch.randn(2, m.ch_query.in_channels, 9, 7)
        with torch.no_grad():
            m.train()
            trained = m(x)
            m.eval()
            evaluated = m(x)
        torch.testing.assert_close(trained, evaluated, rtol=0, atol=0)
