"""SFNet: the flow alignment module, the SFNet FPN neck and head, and the sfnet-r18 configs."""
import os

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope

from faceparse_mm.models.decode_heads.sfnet_head import SFNetFPN, SFNetHead
from faceparse_mm.models.modules.flow_alignment import FlowAlignmentModule, flow_warp
from faceparse_mm.registry import MODELS
from faceparse_mm.utils.build import build_segmentor, count_params, replace_norm
from tests.models.randomise import randomise

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FULL = os.path.join(ROOT, 'configs', 'sfnet-r18_celebamask.py')
DEMO = os.path.join(ROOT, 'configs', 'demo', 'sfnet-r18_demo.py')
# the authors' DeepR18_SF_deeply (no deep-supervision heads), counted from lxtGH/SFSegNets
AUTHORS_INFERENCE = 12_869_715
# the biases of the three lateral 1x1 convs, cancelled by the BatchNorm after each (left out)
DEAD_BIAS = 3 * 128
# one deep-supervision head: 3x3 conv 128 -> 128 (no bias) + BN, classifier 128 -> 19
DSN_HEAD = 128 * 128 * 9 + 2 * 128 + 128 * 19 + 19


def _pixel_flow(size, pixels, align_corners):
    """The flow value that moves the sampling point by ``pixels`` on an axis of ``size`` (same
    input and output size): the normalised step of one pixel times the size (the flow is
    divided by the output size)."""
    step = 2 / (size - 1) if align_corners else 2 / size
    return pixels * step * size


@pytest.mark.parametrize('align_corners,padding_mode', [(True, 'zeros'), (False, 'border')])
def test_zero_flow_is_bilinear_upsampling(align_corners, padding_mode):
    """With align_corners=True (the authors') the zero-flow grid stays inside the input; with
    False its outermost half pixel reads the padding, which F.interpolate clamps to the edge."""
    x = torch.randn(2, 3, 5, 7)
    out = flow_warp(x, torch.zeros(2, 2, 9, 13), align_corners, padding_mode)
    expected = F.interpolate(x, size=(9, 13), mode='bilinear', align_corners=align_corners)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('align_corners', [True, False])
@pytest.mark.parametrize('dx,dy', [(2, 0), (-3, 0), (0, 1), (0, -2)])
def test_a_flow_moves_a_non_square_map_by_that_shift(align_corners, dx, dy):
    """Channel 0 moves along the width, channel 1 along the height: out(y, x) = in(y + dy,
    x + dx), zeros where that falls outside. On a 6 x 10 map, so that swapping the axes (or
    their normalisation by W and H) cannot pass."""
    height, width = 6, 10
    x = torch.randn(1, 4, height, width)
    flow = torch.zeros(1, 2, height, width)
    flow[:, 0] = _pixel_flow(width, dx, align_corners)
    flow[:, 1] = _pixel_flow(height, dy, align_corners)
    out = flow_warp(x, flow, align_corners)
    expected = torch.zeros_like(x)
    ys = slice(max(0, -dy), height - max(0, dy))
    xs = slice(max(0, -dx), width - max(0, dx))
    src_ys = slice(ys.start + dy, ys.stop + dy)
    src_xs = slice(xs.start + dx, xs.stop + dx)
    expected[..., ys, xs] = x[..., src_ys, src_xs]
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)


def test_the_module_warps_the_original_coarse_map_along_its_flow():
    torch.manual_seed(0)
    fam = FlowAlignmentModule(8, 4).eval()
    assert fam.down_h.bias is None and fam.down_l.bias is None and fam.flow_make.bias is None
    assert fam.flow_make.in_channels == 8 and fam.flow_make.out_channels == 2
    fine, coarse = torch.randn(2, 8, 6, 10), torch.randn(2, 8, 3, 5)
    seen = []
    hook = fam.flow_make.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    out = fam(fine, coarse)
    hook.remove()
    high = F.interpolate(fam.down_h(coarse), size=(6, 10), mode='bilinear', align_corners=True)
    torch.testing.assert_close(seen[0], torch.cat([high, fam.down_l(fine)], 1))
    # all 8 channels of the coarse map, not its 4-channel reduction, are warped
    torch.testing.assert_close(out, flow_warp(coarse, fam.flow_make(seen[0])))
    assert out.shape == (2, 8, 6, 10)


@pytest.mark.parametrize('dx,dy', [(1, 0), (0, 1)])
def test_a_known_flow_shifts_the_upsampled_coarse_map(dx, dy):
    """Forcing the predicted flow to a one-pixel shift (in fine pixels) gives the coarse map
    upsampled with align_corners=True and shifted by that pixel, along x or along y."""
    torch.manual_seed(1)
    fam = FlowAlignmentModule(8, 4).eval()
    fine, coarse = torch.randn(1, 8, 7, 11), torch.randn(1, 8, 4, 6)
    flow = torch.zeros(1, 2, 7, 11)
    flow[:, 0] = _pixel_flow(11, dx, True)
    flow[:, 1] = _pixel_flow(7, dy, True)
    hook = fam.flow_make.register_forward_hook(lambda m, args, out: flow)
    out = fam(fine, coarse)
    hook.remove()
    up = F.interpolate(coarse, size=(7, 11), mode='bilinear', align_corners=True)
    torch.testing.assert_close(out[..., :7 - dy, :11 - dx], up[..., dy:, dx:], atol=1e-5,
                               rtol=1e-5)


def test_the_flow_is_learned_through_the_sampling():
    torch.manual_seed(2)
    fam = FlowAlignmentModule(8, 4)
    out = fam(torch.randn(2, 8, 6, 10), torch.randn(2, 8, 3, 5))
    (out * torch.randn_like(out)).sum().backward()
    for conv in (fam.down_h, fam.down_l, fam.flow_make):
        assert conv.weight.grad is not None and conv.weight.grad.abs().sum() > 0


def _features(n=2, height=64, width=96, channels=(8, 8, 16, 16), seed=3):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, c, height // 2**(i + 2), width // 2**(i + 2), generator=g)
            for i, c in enumerate(channels)]


def test_with_zero_flow_the_neck_is_a_plain_fpn_passing_the_sums_down():
    """Zeroing the flow convs leaves a top-down FPN with bilinear (align_corners=True)
    upsampling, in which the next finer level receives the sum S_i (not the 3x3 output P_i).
    Outputs: P2, P3, P4, S5 (the PPM), then S2, S3, S4."""
    neck = randomise(SFNetFPN(in_channels=(8, 8, 16, 16), channels=8, pool_scales=(1, 2, 3)))
    with torch.no_grad():
        for fam in neck.align_modules:
            fam.flow_make.weight.zero_()
        feats = _features()
        outs = neck(feats)
        pooled = [F.interpolate(b(feats[3]), size=feats[3].shape[2:], mode='bilinear',
                                align_corners=True) for b in neck.ppm]
        top = neck.bottleneck(torch.cat(pooled + [feats[3]], 1))
        sums = {}
        for i in (2, 1, 0):
            lateral = neck.lateral_convs[i](feats[i])
            top = lateral + F.interpolate(top, size=lateral.shape[2:], mode='bilinear',
                                          align_corners=True)
            sums[i] = top
    assert len(outs) == 7
    for i in range(3):
        torch.testing.assert_close(outs[4 + i], sums[i])
        torch.testing.assert_close(outs[i], neck.fpn_convs[i](sums[i]))
    torch.testing.assert_close(outs[3], neck.pyramid_pooling(feats[3]))


def test_the_ppm_branches_have_no_activation_so_their_bn_bias_gets_no_gradient():
    """As the authors' PSPModule: pooled 1x1 conv + BN, no ReLU, before the bottleneck's 1x1
    conv + BN, which cancels a per-channel constant in training (the base config declares these
    biases untrainable)."""
    torch.manual_seed(4)
    neck = SFNetFPN(in_channels=(8, 8, 16, 16), channels=8).train()
    outs = neck(_features())
    sum((o * torch.randn_like(o)).sum() for o in outs).backward()
    scale = neck.bottleneck.bn.bias.grad.abs().max()
    assert scale > 1e-2
    for branch in neck.ppm:
        assert not branch[1].with_activation
        assert branch[1].bn.bias.grad.abs().max() < 1e-5 * scale  # rounding only
        assert branch[1].bn.weight.grad.abs().max() > 1e-2 * scale


def test_the_head_fuses_the_four_levels_at_the_finest_and_ignores_the_sums():
    head = randomise(SFNetHead(in_channels=[8] * 4, in_index=(0, 1, 2, 3), channels=4,
                                num_classes=3, dropout_ratio=0, align_corners=True))
    feats = [torch.randn(1, 8, 16 // 2**i, 24 // 2**i) for i in range(4)]
    sums = [torch.randn(1, 8, 16 // 2**i, 24 // 2**i) for i in range(3)]
    with torch.no_grad():
        out = head(feats + sums)
        other = head(feats + [s + 1 for s in sums])
        up = [F.interpolate(f, size=(16, 24), mode='bilinear', align_corners=True)
              for f in feats[1:]]
        expected = head.conv_seg(head.fuse(torch.cat([feats[0]] + up, 1)))
    assert head.dropout is None and head.fuse.conv.kernel_size == (3, 3)
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(other, out)


def test_the_full_config_builds_the_authors_sfnet_r18():
    model = build_segmentor(FULL).eval()
    backbone = model.backbone
    assert [backbone.stem[i].out_channels for i in (0, 3, 6)] == [64, 64, 128]
    assert backbone.layer1[0].conv1.in_channels == 128
    assert backbone.layer1[0].downsample is not None
    # the authors' variant 'D': conv2 of stages 3 / 4 dilated by 2 / 4, nothing else
    dilated = {n: m.dilation for n, m in backbone.named_modules()
               if isinstance(m, torch.nn.Conv2d) and m.dilation != (1, 1)}
    assert dilated == {f'layer{s}.{b}.conv2': (d, d) for s, d in ((3, 2), (4, 4)) for b in (0, 1)}
    assert all(backbone.layer4[b].conv2.padding == (4, 4) for b in (0, 1))
    neck = model.neck
    assert [m.conv.out_channels for m in neck.lateral_convs] == [128] * 3
    assert all(f.flow_make.in_channels == 128 and f.align_corners for f in neck.align_modules)
    assert neck.ppm.align_corners and isinstance(neck.dropout, torch.nn.Dropout2d)
    heads = [model.decode_head, *model.auxiliary_head]
    assert all(h.align_corners for h in heads)
    assert [h.in_index for h in model.auxiliary_head] == [6, 5, 4]
    assert all(len(h.convs) == 1 and h.convs[0].conv.kernel_size == (3, 3)
               and h.dropout.p == 0.1 and not h.concat_input for h in model.auxiliary_head)
    with torch.no_grad():
        feats = model.extract_feat(torch.randn(1, 3, 64, 96))
    # P2..P5 at 1/4..1/32, then the sums the deep supervision reads at 1/4, 1/8, 1/16
    assert [f.shape[2:] for f in feats] == [(16, 24), (8, 12), (4, 6), (2, 3), (16, 24),
                                             (8, 12), (4, 6)]
    assert [feats[h.in_index].shape[2] for h in model.auxiliary_head] == [4, 8, 16]
    total, inference = count_params(model)
    assert inference == AUTHORS_INFERENCE - DEAD_BIAS
    assert abs(inference / AUTHORS_INFERENCE - 1) < 0.01
    assert total - inference == 3 * DSN_HEAD


def test_the_demo_is_the_same_model_without_imagenet_weights():
    demo, full = Config.fromfile(DEMO), Config.fromfile(FULL)
    assert full.model.backbone.init_cfg == dict(type='Pretrained',
                                                checkpoint='open-mmlab://resnet18_v1c')
    demo_model, full_model = build_segmentor(demo), build_segmentor(full)
    assert {k: v.shape for k, v in demo_model.state_dict().items()} == {
        k: v.shape for k, v in full_model.state_dict().items()}


def test_training_gives_four_losses_and_inference_skips_the_deep_supervision():
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    def batch(n, height, width):
        samples = []
        for _ in range(n):
            s = SegDataSample(metainfo=dict(img_shape=(height, width), ori_shape=(height, width),
                                            pad_shape=(height, width)))
            s.gt_sem_seg = PixelData(data=torch.randint(0, 19, (1, height, width)))
            samples.append(s)
        inputs = [torch.randint(0, 256, (3, height, width), dtype=torch.uint8)
                  for _ in range(n)]
        return dict(inputs=inputs, data_samples=samples)

    torch.manual_seed(5)
    model = build_segmentor(DEMO).train()
    data = model.data_preprocessor(batch(2, 64, 64), True)
    losses = model(**data, mode='loss')
    assert {k for k in losses if 'loss' in k} == {
        'decode.loss_ohem', 'aux_0.loss_ohem', 'aux_1.loss_ohem', 'aux_2.loss_ohem'}
    model.eval()
    called = []
    hooks = [h.register_forward_hook(lambda *a: called.append(1)) for h in model.auxiliary_head]
    with torch.no_grad():
        (out,) = model.test_step(batch(1, 64, 96))  # batch 1, not square
    for h in hooks:
        h.remove()
    assert not called and out.seg_logits.data.shape == (19, 64, 96)


def test_imagenet_init_loads_all_but_the_authors_stem(tmp_path):
    """A local file in the layout of ``open-mmlab://resnet18_v1c`` (mmseg's ResNetV1c-18, stem
    32-32-64) loads into every backbone weight except the authors' 64-64-128 stem and the two
    layer1.0 weights that read its 128 channels (conv1, and the downsample that only the wider
    stem needs), which stay at random init."""
    init_default_scope('faceparse_mm')
    torch.manual_seed(6)
    imagenet = {k: torch.randn(v.shape) if v.is_floating_point() else v
                for k, v in MODELS.build(dict(type='ResNetV1c', depth=18)).state_dict().items()}
    path = str(tmp_path / 'resnet18_v1c.pth')
    torch.save(imagenet, path)
    cfg = Config.fromfile(FULL).model.backbone.to_dict()
    replace_norm(cfg, 'SyncBN', 'BN')
    cfg['init_cfg']['checkpoint'] = path
    backbone = MODELS.build(ConfigDict(cfg))
    backbone.init_weights()
    after = {k: v for k, v in backbone.state_dict().items()
             if not k.endswith('num_batches_tracked')}
    random = {k for k, v in after.items() if not (k in imagenet and torch.equal(v, imagenet[k]))}
    assert random == {k for k in after if k.startswith(('stem.', 'layer1.0.downsample.'))} | {
        'layer1.0.conv1.weight'}
    assert sum(after[k].numel() for k in random if 'running' not in k) == 194_880
