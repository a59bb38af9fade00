"""SPNet: the strip pooling module (SPM), its placement in the ResNet, the mixed pooling module
(MPM) and the head; the parameter counts against the authors' model."""
import os

import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope

from faceparse_mm.models.backbones import PluginResNetV1c
from faceparse_mm.models.decode_heads import StripPoolingHead
from faceparse_mm.models.modules import MixedPooling, StripPooling
from faceparse_mm.registry import MODELS
from faceparse_mm.utils.build import build_segmentor, count_params, replace_norm
from tests.models.randomise import randomise_bn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FULL = os.path.join(ROOT, 'configs', 'spnet-r50_celebamask.py')
DEMO = os.path.join(ROOT, 'configs', 'demo', 'spnet-r50_demo.py')
# measured from the authors' SPNet(19, 'resnet50', spm_on=True): inference parameters, those of
# its SPMs and of its head
AUTHORS_INFERENCE, AUTHORS_SPM, AUTHORS_HEAD = 45_372_563, 6_117_056, 15_623_699


def _spm(channels=4, seed=0):
    # 32 strip channels: a change behind the ReLU is seen by some channel (2^-32 odds it is not)
    torch.manual_seed(seed)
    return randomise_bn(StripPooling(channels, mid_channels=32), seed).eval()


def _changed(a, b, tol=1e-6):
    return (a - b).abs().amax(dim=(0, 1)) > tol  # (H, W): where any channel changed


# ---------------------------------------------------------------- SPM


def test_strip_pools_leave_a_map_constant_along_the_pooled_axis_unchanged():
    """The vertical strip pool (H x 1 windows) averages each column: a map that does not change
    from row to row (x[i, j] = g(j)) comes back unchanged once expanded; the horizontal strip
    pool (1 x W windows) does the same for x[i, j] = f(i)."""
    g = torch.randn(2, 3, 1, 9)
    f = torch.randn(2, 3, 7, 1)
    same_rows, same_cols = g.expand(2, 3, 7, 9), f.expand(2, 3, 7, 9)
    row_means, col_means = StripPooling.strip_means(same_rows)
    torch.testing.assert_close(col_means.expand_as(same_rows), same_rows)
    assert col_means.shape == (2, 3, 1, 9) and row_means.shape == (2, 3, 7, 1)
    torch.testing.assert_close(row_means, g.mean(3, keepdim=True).expand(2, 3, 7, 1))
    row_means, col_means = StripPooling.strip_means(same_cols)
    torch.testing.assert_close(row_means.expand_as(same_cols), same_cols)


def test_spm_gate_lies_in_the_open_unit_interval_and_multiplies_the_input():
    spm = _spm()
    x = 3 * torch.randn(2, 4, 11, 13)
    gate = spm.gate(x)
    assert gate.shape == x.shape
    assert (gate > 0).all() and (gate < 1).all()
    assert gate.std() > 1e-3  # a spatial gate, not a constant
    torch.testing.assert_close(spm(x), x * gate)


def test_spm_gate_sees_only_row_and_column_means():
    """A change with zero mean along every row and every column leaves the gate unchanged; one
    that moves a row mean does not."""
    spm = _spm(seed=1)
    x = torch.randn(1, 4, 8, 10)
    checker = torch.tensor([[1.0, -1.0], [-1.0, 1.0]]).repeat(4, 5)  # rows and columns sum to 0
    torch.testing.assert_close(spm.gate(x + checker), spm.gate(x))
    assert not torch.allclose(spm(x + checker), spm(x))
    bump = torch.zeros(8, 10)
    bump[3] = 1.0
    assert not torch.allclose(spm.gate(x + bump), spm.gate(x))


@pytest.mark.parametrize('axis', ['rows', 'cols'])
def test_spm_strip_convs_mix_three_neighbouring_rows_or_columns(axis):
    """Raising row 5 and lowering row 10 (column means unchanged) changes the gate on rows 4-6
    and 9-11 and nowhere else: the 3x1 conv acts on the row means (and the 1x3 on the column
    means, by symmetry)."""
    spm = _spm(seed=2)
    x = torch.randn(1, 4, 16, 16)
    delta = torch.zeros(16, 16)
    delta[5], delta[10] = 1.0, -1.0
    if axis == 'cols':
        delta = delta.t()
    changed = _changed(spm.gate(x + delta), spm.gate(x))
    expected = torch.zeros(16, dtype=torch.bool)
    expected[[4, 5, 6, 9, 10, 11]] = True
    expected = expected[:, None].expand(16, 16)
    assert torch.equal(changed, expected if axis == 'rows' else expected.t())


# ------------------------------------------------------ the ResNet that carries it


def _blocks_with_spm(backbone):
    return {name: [i for i, block in enumerate(getattr(backbone, name)) if hasattr(block, 'spm')]
            for name in backbone.res_layers}


def _expected_placement(cfg):
    """{layer name: block indices} from the config's ``plugins`` (stages, blocks)."""
    backbone = MODELS.get(cfg.type)
    num_blocks = backbone.arch_settings[cfg.depth][1]
    out = {}
    for stage, n in enumerate(num_blocks):
        chosen = set()
        for plugin in cfg.plugins:
            if plugin.get('stages') is None or plugin['stages'][stage]:
                blocks = plugin.get('blocks')
                chosen |= set(range(n)) if blocks is None else {b % n for b in blocks}
        out[f'layer{stage + 1}'] = sorted(chosen)
    return out


@pytest.fixture(scope='module')
def full_model():
    return build_segmentor(FULL).eval()


def _spm_feeds(block, next_conv, x_shape):
    """Run the block alone; return (the SPM's input, its output, the next conv's input)."""
    seen = {}
    hooks = [block.spm.register_forward_hook(lambda m, i, o: seen.update(spm_in=i[0], spm_out=o)),
             next_conv.register_forward_pre_hook(lambda m, i: seen.update(conv_in=i[0]))]
    with torch.no_grad():
        block(torch.randn(x_shape))
    for h in hooks:
        h.remove()
    return seen['spm_in'], seen['spm_out'], seen['conv_in']


def test_spm_sits_where_the_config_and_the_authors_put_it(full_model):
    """Last block of stages 1-3, every block of stage 4, between the bottleneck's 3x3 conv (after
    its BN + ReLU) and its last 1x1 conv; layer4 dilated 4, 8, 16 (the authors' multi-grid)."""
    cfg = Config.fromfile(FULL).model.backbone
    backbone = full_model.backbone
    placement = _blocks_with_spm(backbone)
    assert placement == _expected_placement(cfg)
    assert placement == dict(layer1=[2], layer2=[3], layer3=[5], layer4=[0, 1, 2])
    assert [b.conv2.dilation[0] for b in backbone.layer4] == [4, 8, 16]
    for name, indices in placement.items():
        for i in indices:
            block = getattr(backbone, name)[i]
            assert block.after_conv2_plugin_names == ['spm']
            assert block.after_conv1_plugin_names == block.after_conv3_plugin_names == []
            assert block.spm.conv_gate.out_channels == block.conv2.out_channels
    block = backbone.layer3[5]
    spm_in, spm_out, conv3_in = _spm_feeds(block, block.conv3, (1, 1024, 6, 6))
    assert spm_in.shape[1] == 256 and (spm_in >= 0).all()  # after the ReLU
    torch.testing.assert_close(conv3_in, spm_out)


def test_demo_puts_spm_between_the_basic_block_convs():
    model = build_segmentor(DEMO).eval()
    cfg = Config.fromfile(DEMO).model.backbone
    backbone = model.backbone
    assert _blocks_with_spm(backbone) == _expected_placement(cfg) == dict(
        layer1=[1], layer2=[1], layer3=[1], layer4=[0, 1])
    block = backbone.layer2[1]
    assert block.after_conv1_plugin_names == ['spm'] and block.after_conv2_plugin_names == []
    spm_in, spm_out, conv2_in = _spm_feeds(block, block.conv2, (1, 128, 6, 6))
    assert (spm_in >= 0).all()
    torch.testing.assert_close(conv2_in, spm_out)


def test_plugin_basic_block_without_plugins_is_mmseg_basic_block():
    init_default_scope('faceparse_mm')
    kwargs = dict(depth=18, base_channels=4, stem_channels=8, dilations=(1, 1, 2, 4),
                  strides=(1, 2, 1, 1), contract_dilation=True)
    ours = PluginResNetV1c(**kwargs)
    theirs = randomise_bn(MODELS.build(dict(type='mmseg.ResNetV1c', **kwargs)))
    ours.load_state_dict(theirs.state_dict())
    ours.eval()
    theirs.eval()  # mmseg's ResNet.train() returns None: no chaining
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        for a, b in zip(ours(x), theirs(x)):
            torch.testing.assert_close(a, b)


def test_plugin_positions_are_checked():
    init_default_scope('faceparse_mm')
    spm = dict(cfg=dict(type='StripPooling'))
    with pytest.raises(ValueError, match='after_conv3'):
        PluginResNetV1c(depth=18, plugins=[dict(spm, position='after_conv3')])
    with pytest.raises(ValueError, match='at most one'):
        PluginResNetV1c(depth=50, base_channels=4, stem_channels=8, plugins=[
            dict(spm, position='after_conv2'),
            dict(cfg=dict(type='StripPooling', postfix='2'), position='after_conv2')])


def test_parameter_counts_match_the_authors(full_model):
    total, inference = count_params(full_model)
    spm = sum(p.numel() for n, p in full_model.backbone.named_parameters() if '.spm.' in n)
    assert spm == AUTHORS_SPM
    assert sum(p.numel() for p in full_model.decode_head.parameters()) == AUTHORS_HEAD
    assert inference == AUTHORS_INFERENCE  # with the authors' 64-64-128 stem


def test_imagenet_init_reaches_the_resnet_and_the_spm_keeps_its_own(tmp_path):
    """The config's ``Pretrained`` init loads a ResNetV1c checkpoint (here a small local one in
    the same layout) into every ResNet weight; the SPMs, absent from it, get their Kaiming init
    (zero bias) rather than PyTorch's default."""
    init_default_scope('faceparse_mm')
    cfg = Config.fromfile(FULL).model.backbone.to_dict()
    assert cfg['init_cfg'] == dict(type='Pretrained', checkpoint='open-mmlab://resnet50_v1c')
    replace_norm(cfg, 'SyncBN', 'BN')
    cfg.update(base_channels=4, stem_channels=8)
    plain = dict(cfg, type='mmseg.ResNetV1c', plugins=None, init_cfg=None)
    plain.pop('pool_ceil_mode')
    torch.manual_seed(3)
    state = MODELS.build(ConfigDict(plain)).state_dict()
    path = str(tmp_path / 'resnet50_v1c.pth')
    torch.save(dict(state_dict=state), path)
    cfg['init_cfg']['checkpoint'] = path
    torch.manual_seed(4)
    backbone = MODELS.build(ConfigDict(cfg))
    spm = backbone.layer4[0].spm
    assert spm.conv_gate.bias.abs().sum() > 0  # PyTorch's default before init_weights
    backbone.init_weights()
    loaded = backbone.state_dict()
    for key, value in state.items():
        assert torch.equal(loaded[key], value), key
    assert torch.count_nonzero(spm.conv_gate.bias) == 0


# ---------------------------------------------------------------- MPM and head


def _mpm(channels=16, seed=0, **kwargs):
    torch.manual_seed(seed)
    return randomise_bn(MixedPooling(channels, **kwargs), seed).eval()


def test_mpm_is_a_residual_block():
    """ReLU(x + out): with the last BN's scale and shift at zero it is ReLU(x)."""
    mpm = _mpm()
    x = torch.randn(2, 16, 9, 11)
    out = mpm(x)
    assert out.shape == x.shape and (out >= 0).all() and not torch.allclose(out, x.relu())
    mpm.project.bn.weight.data.zero_()
    mpm.project.bn.bias.data.zero_()
    torch.testing.assert_close(mpm(x), x.relu())


@pytest.mark.parametrize('size', [(8, 8), (13, 27), (31, 5)])
def test_mpm_pools_to_the_given_sizes_at_any_input_size(size):
    mpm = _mpm(pool_sizes=(20, 12))
    seen = []
    hooks = [conv.register_forward_pre_hook(lambda m, i: seen.append(tuple(i[0].shape)))
             for conv in mpm.pooled]
    x = torch.randn(1, 16, *size)
    assert mpm(x).shape == x.shape
    for h in hooks:
        h.remove()
    assert seen == [(1, 4, 20, 20), (1, 4, 12, 12)]


def test_mpm_long_range_path_sees_whole_rows_and_columns():
    """One changed pixel (r, c) moves row mean r and column mean c: after the 3x1 / 1x3 strip
    convs and the 3x3 fusion the long-range output changes on rows r-2..r+2 and columns c-2..c+2
    across the whole map, and nowhere else."""
    mpm = _mpm(32, seed=5, reduction=2)  # 16 channels per path, so no change hides behind ReLUs
    x = torch.randn(1, 32, 20, 20)
    y = x.clone()
    y[..., 8, 11] += 3.0
    with torch.no_grad():
        changed = _changed(mpm.long_range(y), mpm.long_range(x))
    rows = (torch.arange(20) - 8).abs() <= 2
    cols = (torch.arange(20) - 11).abs() <= 2
    assert torch.equal(changed, rows[:, None] | cols[None, :])


def test_head_shapes_structure_and_batch_one_training():
    """transform (in -> in/2) -> 2 MPMs -> 3x3 to ``channels`` -> classifier; trains at batch 1
    (no BN on a 1x1 map)."""
    head = StripPoolingHead(in_channels=32, channels=8, num_classes=3, pool_sizes=(4, 2),
                            dropout_ratio=0.1, align_corners=True)
    assert head.transform.conv.out_channels == 16 and len(head.mpms) == 2
    assert all(m.align_corners for m in head.mpms)
    assert head.mpms[0].reduce_short.conv.out_channels == 4
    assert head.bottleneck.conv.out_channels == 8
    x = torch.randn(1, 32, 7, 9)
    out = head([x])
    assert out.shape == (1, 3, 7, 9)
    out.logsumexp(1).mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in head.parameters())
    head.eval()
    assert head([torch.randn(1, 32, 5, 6)]).shape == (1, 3, 5, 6)
