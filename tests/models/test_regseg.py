"""RegSeg: the split dilated convolution, the D block (shortcuts, SE, field of view), the exp48
body against the authors' stage table, the decoder26 head, the initialisation, and the parameter
counts against the authors' RegSeg("exp48_decoder26", 19)."""
import os

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from faceparse_mm.models.backbones import RegSegBackbone
from faceparse_mm.models.decode_heads import RegSegDecoder26Head
from faceparse_mm.models.modules.dblock import DBlock, SplitDilatedConv
from faceparse_mm.utils.build import build_segmentor, count_params
from tests.models.randomise import randomise_bn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FULL = os.path.join(ROOT, 'configs', 'regseg_celebamask.py')
DEMO = os.path.join(ROOT, 'configs', 'demo', 'regseg_demo.py')
# measured from the authors' RegSeg("exp48_decoder26", 19): all parameters, stem + body, decoder
AUTHORS_TOTAL, AUTHORS_BODY, AUTHORS_DECODER = 3_334_951, 928 + 3_159_076, 174_947
# a small body for the behaviour tests: 8 @ 1/4, 16 @ 1/8, 32 then 24 @ 1/16
TINY = dict(stem_channels=8, group_width=4,
            stages=(((8, (1, )), ), ((16, (1, )), (16, (1, 2))), ((32, (1, )), (24, (1, 4)))))


def _block(*args, seed=0, **kwargs):
    torch.manual_seed(seed)
    return randomise_bn(DBlock(*args, **kwargs), seed).eval()


def _offsets(changed, center):
    """{(dy, dx)} of the True entries of an (H, W) map, relative to ``center``."""
    return {(int(y) - center[0], int(x) - center[1]) for y, x in changed.nonzero()}


def _ring(d):
    return {(a * d, b * d) for a in (-1, 0, 1) for b in (-1, 0, 1)}


# ---------------------------------------------------------------- split dilated convolution


def test_each_channel_slice_is_convolved_at_its_own_rate():
    """An impulse reaches the output of the slice with rate d exactly at the nine offsets
    {-d, 0, d}^2: slice 0 at rate 1, slice 1 at rate 3, slice 2 at rate 5."""
    torch.manual_seed(0)
    conv = SplitDilatedConv(12, dilations=(1, 3, 5), group_width=2)
    x = torch.zeros(1, 12, 15, 15)
    x[..., 7, 7] = 1
    with torch.no_grad():
        out = conv(x)
    assert out.shape == x.shape
    for i, d in enumerate((1, 3, 5)):
        part = out[0, 4 * i:4 * (i + 1)]
        assert _offsets(part.abs().amax(0) > 0, (7, 7)) == _ring(d), d


def test_groups_have_the_group_width_and_do_not_mix():
    """Changing input channel c changes only the outputs of its group (group width 4)."""
    torch.manual_seed(1)
    conv = SplitDilatedConv(16, dilations=(1, 2), group_width=4)
    assert [c.groups for c in conv.convs] == [2, 2]
    x = torch.randn(1, 16, 9, 9)
    for c in (0, 5, 9, 14):
        y = x.clone()
        y[:, c] += 1
        with torch.no_grad():
            changed = (conv(y) - conv(x)).abs().amax(dim=(0, 2, 3)) > 0
        group = c // 4
        assert changed.nonzero().flatten().tolist() == list(range(4 * group, 4 * group + 4)), c


def test_split_rejects_widths_that_do_not_divide():
    with pytest.raises(ValueError):
        SplitDilatedConv(12, dilations=(1, 2), group_width=4)  # slices of 6
    with pytest.raises(ValueError):
        SplitDilatedConv(10, dilations=(1, 2, 4), group_width=2)


# ---------------------------------------------------------------- D block


def _silence_residual(block):
    """Zero the last BN of the residual branch: the block reduces to act(shortcut(x))."""
    block.conv3.bn.weight.data.zero_()
    block.conv3.bn.bias.data.zero_()
    return block


def test_identity_shortcut_when_shape_is_kept():
    block = _silence_residual(_block(8, 8, (1, 2), group_width=4))
    assert block.shortcut is None
    x = torch.randn(2, 8, 9, 7)
    with torch.no_grad():
        torch.testing.assert_close(block(x), torch.relu(x))


def test_strided_shortcut_is_a_ceil_mode_average_pool_then_a_projection():
    """Odd sizes: the main path (stride-2 3x3, padding 1) and the shortcut (2x2 average pool,
    ceil mode, then 1x1 conv + BN) both give ceil(H / 2); the shortcut's last row and column
    average only the pixels inside the image."""
    block = _silence_residual(_block(8, 16, (1, ), group_width=4, stride=2, seed=1))
    x = torch.randn(2, 8, 9, 11)
    project = block.shortcut[1]
    pooled = F.avg_pool2d(x, 2, 2, ceil_mode=True)
    assert pooled.shape[-2:] == (5, 6)
    torch.testing.assert_close(pooled[..., -1, -1], x[..., -1, -1])  # a 1x1 window at the corner
    bn = project.bn
    expected = F.conv2d(pooled, project.conv.weight)
    expected = F.batch_norm(expected, bn.running_mean, bn.running_var, bn.weight, bn.bias,
                            eps=bn.eps)
    with torch.no_grad():
        torch.testing.assert_close(block(x), torch.relu(expected))
        assert block.conv2(block.conv1(x)).shape[-2:] == (5, 6)


def test_width_change_at_stride_one_projects_without_pooling():
    block = _silence_residual(_block(8, 12, (1, 2), group_width=2, seed=2))
    project = block.shortcut
    x = torch.randn(1, 8, 7, 7)
    bn = project.bn
    expected = F.batch_norm(F.conv2d(x, project.conv.weight), bn.running_mean, bn.running_var,
                            bn.weight, bn.bias, eps=bn.eps)
    with torch.no_grad():
        torch.testing.assert_close(block(x), torch.relu(expected))


def test_field_of_view_without_se_is_the_union_of_the_rates():
    """Without the SE (global), an impulse changes the output exactly at {-1,0,1}^2 and
    {-6,0,6}^2 around it: 1x1, the two-rate 3x3, 1x1."""
    block = _block(32, 32, (1, 6), group_width=4, se_ratio=None, seed=3)
    x = torch.randn(1, 32, 21, 21)
    y = x.clone()
    y[..., 10, 10] += 3
    with torch.no_grad():
        changed = (block(y) - block(x)).abs().amax(dim=(0, 1)) > 1e-6
    assert _offsets(changed, (10, 10)) == _ring(1) | _ring(6)


def test_se_squeezes_a_quarter_of_the_input_width_and_sees_the_whole_map():
    """The SE's squeeze width is in_channels // 4 (not out // 4) and acts on out channels; with
    the SE, a change in one corner reaches the opposite corner (the global pool)."""
    block = _block(32, 16, (1, 2), group_width=4, seed=4)
    assert block.se.fc1.in_channels == 16 and block.se.fc1.out_channels == 8
    assert block.se.fc2.out_channels == 16
    x = torch.randn(1, 32, 12, 12)
    y = x.clone()
    y[..., 0, 0] += 3
    with torch.no_grad():
        assert (block(y) - block(x))[..., -1, -1].abs().max() > 1e-6


def test_se_sits_between_the_dilated_conv_and_the_last_projection():
    block = _block(8, 16, (1, 2), group_width=4, seed=5)
    seen = {}
    block.act2.register_forward_hook(lambda m, i, o: seen.__setitem__('act2', o.clone()))
    block.se.register_forward_hook(lambda m, i, o: seen.update(se_in=i[0], se_out=o))
    block.conv3.register_forward_hook(lambda m, i, o: seen.__setitem__('conv3_in', i[0]))
    with torch.no_grad():
        block(torch.randn(2, 8, 10, 10))
    torch.testing.assert_close(seen['se_in'], seen['act2'])
    torch.testing.assert_close(seen['conv3_in'], seen['se_out'])
    gate = seen['se_out'] / seen['se_in'].clamp_min(1e-6)
    gate = gate.masked_fill(seen['se_in'] <= 1e-4, float('nan')).nanmean(dim=(2, 3))
    assert ((gate > 0) & (gate < 1)).all()  # a sigmoid gate per channel


# ---------------------------------------------------------------- backbone


def test_exp48_is_the_authors_stage_table():
    """The authors write the 1/16 stage as RegSegBody([[1],[1,2]]+4*[[1,4]]+7*[[1,14]]): one
    strided (1) block, then these rates at 256 channels, the last at 320."""
    authors_ds = [(1, ), (1, 2)] + 4 * [(1, 4)] + 7 * [(1, 14)]
    backbone = RegSegBackbone(arch='exp48')
    blocks = [list(stage) for stage in backbone.stages]
    got = [[(b.conv3.conv.out_channels, b.conv2.dilations, b.stride) for b in s] for s in blocks]
    assert got[0] == [(48, (1, ), 2)]
    assert got[1] == [(128, (1, ), 2)] + 2 * [(128, (1, ), 1)]
    assert got[2] == ([(256, (1, ), 2)] + [(256, d, 1) for d in authors_ds[:-1]]
                      + [(320, authors_ds[-1], 1)])
    for block in sum(blocks, []):
        convs = block.conv2.convs
        assert [c.dilation[0] for c in convs] == list(block.conv2.dilations)
        assert all(c.in_channels // c.groups == 16 for c in convs)  # group width 16
    assert backbone.stem.conv.stride == (2, 2) and backbone.stem.conv.out_channels == 32
    assert sum(p.numel() for p in backbone.parameters()) == AUTHORS_BODY


@pytest.mark.parametrize('size', [(64, 64), (45, 38)])
def test_backbone_outputs_strides_4_8_16_at_any_size(size):
    torch.manual_seed(0)
    backbone = RegSegBackbone(arch=TINY).eval()
    with torch.no_grad():
        outs = backbone(torch.randn(1, 3, *size))
    ceil = [tuple(-(-s // stride) for s in size) for stride in (4, 8, 16)]
    assert [tuple(o.shape[1:]) for o in outs] == [(c, *hw) for c, hw in zip((8, 16, 24), ceil)]
    assert backbone.out_channels == (8, 16, 24)


# ---------------------------------------------------------------- decoder26


def _head(seed=0, **kwargs):
    torch.manual_seed(seed)
    head = RegSegDecoder26Head(in_channels=(8, 16, 24), in_index=(0, 1, 2), channels=8,
                               skip_channels=4, proj_channels=12, dropout_ratio=0.0,
                               num_classes=5, **kwargs)
    return randomise_bn(head, seed).eval()


def _features(size=(13, 11), seed=0):
    g = torch.Generator().manual_seed(seed)
    h, w = size
    return [torch.randn(2, 8, h, w, generator=g),
            torch.randn(2, 16, -(-h // 2), -(-w // 2), generator=g),
            torch.randn(2, 24, -(-h // 4), -(-w // 4), generator=g)]


def test_head_predicts_at_the_quarter_resolution():
    with torch.no_grad():
        assert _head()(_features((13, 11))).shape == (2, 5, 13, 11)


def test_the_quarter_map_is_concatenated_after_the_upsampled_deep_path():
    """Zeroing conv4's weights on its last skip_channels inputs removes the 1/4 map from the
    logits: so those channels, and only those, carry it."""
    head = _head(1)
    head.conv4.conv.weight.data[:, -4:] = 0
    feats = _features()
    other = [torch.randn_like(feats[0])] + feats[1:]
    with torch.no_grad():
        torch.testing.assert_close(head(other), head(feats))
    head = _head(1)
    head.conv4.conv.weight.data[:, :8] = 0  # the deep path removed instead: x4 still matters
    with torch.no_grad():
        assert (head(other) - head(feats)).abs().max() > 1e-4


def test_the_quarter_map_acts_locally():
    """1x1 projection, 3x3 conv, 1x1 classifier: a change of one 1/4 pixel moves the logits
    exactly in its 3x3 neighbourhood."""
    head = _head(2)
    feats = _features((15, 15))
    moved = [feats[0].clone()] + feats[1:]
    moved[0][..., 7, 7] += 5
    with torch.no_grad():
        changed = (head(moved) - head(feats)).abs().amax(dim=(0, 1)) > 1e-6
    assert _offsets(changed, (7, 7)) == _ring(1)


def test_deep_maps_are_projected_upsampled_and_added():
    head = _head(3)
    feats = _features()
    seen = {}
    head.conv8.register_forward_hook(lambda m, i, o: seen.__setitem__('conv8_in', i[0]))
    with torch.no_grad():
        head(feats)
        x8, x16 = head.head8(feats[1]), head.head16(feats[2])
        expected = x8 + F.interpolate(x16, size=x8.shape[2:], mode='bilinear',
                                      align_corners=False)
    torch.testing.assert_close(seen['conv8_in'], expected)


# ---------------------------------------------------------------- configs


def test_config_has_the_authors_parameter_counts_and_no_dropout():
    model = build_segmentor(FULL)
    assert count_params(model) == (AUTHORS_TOTAL, AUTHORS_TOTAL)
    assert sum(p.numel() for p in model.decode_head.parameters()) == AUTHORS_DECODER
    assert model.decode_head.dropout is None and not model.decode_head.align_corners
    assert model.backbone.out_channels == tuple(model.decode_head.in_channels) == (48, 128, 320)


def test_demo_trains_the_same_model_as_the_full_config():
    assert Config.fromfile(DEMO).model == Config.fromfile(FULL).model


def test_from_scratch_init_keeps_pytorch_defaults():
    """init_weights() with no init_cfg changes nothing (the authors' PyTorch-default init): no
    Kaiming re-draw of the ConvModules, no N(0, 0.01) classifier."""
    torch.manual_seed(0)
    model = build_segmentor(FULL)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.init_weights()
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key
    bound = 1 / 64 ** 0.5  # PyTorch's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in 64
    assert model.decode_head.conv_seg.weight.abs().max() <= bound
    assert model.decode_head.conv_seg.weight.std() > 0.5 * bound / 3 ** 0.5


def test_an_init_cfg_still_initialises_the_backbone(tmp_path):
    torch.manual_seed(1)
    source = RegSegBackbone(arch=TINY)
    path = str(tmp_path / 'regseg_tiny.pth')
    torch.save(source.state_dict(), path)
    torch.manual_seed(2)
    backbone = RegSegBackbone(arch=TINY, init_cfg=dict(type='Pretrained', checkpoint=path))
    assert not torch.equal(backbone.stem.conv.weight, source.stem.conv.weight)
    backbone.init_weights()
    for key, value in backbone.state_dict().items():
        assert torch.equal(value, source.state_dict()[key]), key
