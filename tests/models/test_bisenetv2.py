"""BiSeNet V2: the authors' bilateral guided aggregation (nearest x4, no 1x1 biases) and its
mmseg option, the backbone with either, and the segment / booster heads. The whole network
against the authors' outputs is tests/converters/test_bisenetv2.py."""
import torch
import torch.nn.functional as F
from mmseg.models.backbones import BiSeNetV2
from mmseg.models.backbones.bisenetv2 import BGALayer

from faceparse_mm.models.backbones import BiSeNetV2Backbone
from faceparse_mm.models.decode_heads import BiSeNetV2SegmentHead
from faceparse_mm.models.modules import BilateralGuidedAggregation
from tests.models.randomise import randomise

TINY = dict(detail_channels=(8, 8, 16), semantic_channels=(8, 8, 8, 16),
            semantic_expansion_ratio=2, bga_channels=16)


def test_the_semantic_gate_is_upsampled_by_nearest_neighbour():
    # a semantic map that is one value per 4x4 block of the detail map: with nearest
    # upsampling, fuse_1's gate is constant on each block, so a detail input constant on the
    # blocks gives constant blocks after everything but the final 3x3
    bga = randomise(BilateralGuidedAggregation(16))
    bga.conv = torch.nn.Identity()
    x_s = torch.randn(1, 16, 2, 3)
    x_d = torch.randn(1, 16, 2, 3).repeat_interleave(4, 2).repeat_interleave(4, 3)
    bga.detail_dwconv = torch.nn.Identity()  # keep the detail map block-constant
    with torch.no_grad():
        fuse_1 = bga(x_d, x_s) - bga._up(bga.detail_down(x_d) * torch.sigmoid(
            bga.semantic_dwconv(x_s)), x_d)
    blocks = fuse_1.unfold(2, 4, 4).unfold(3, 4, 4)  # (1, 16, 2, 3, 4, 4)
    assert torch.allclose(blocks, blocks[..., :1, :1].expand_as(blocks), atol=1e-6)


def test_the_mmseg_option_is_mmsegs_bga_and_the_default_is_not():
    theirs = randomise(BGALayer(16), seed=1)
    option = BilateralGuidedAggregation(16, upsample_mode='bilinear', pointwise_bias=True)
    option.load_state_dict(theirs.state_dict(), strict=True)
    option.eval()
    default = BilateralGuidedAggregation(16).eval()
    assert set(theirs.state_dict()) - set(default.state_dict()) == {
        'detail_dwconv.0.pointwise_conv.conv.bias', 'semantic_dwconv.0.pointwise_conv.conv.bias'}
    default.load_state_dict(theirs.state_dict(), strict=False)
    x_d, x_s = torch.randn(2, 16, 16, 12), torch.randn(2, 16, 4, 3)
    with torch.no_grad():
        torch.testing.assert_close(option(x_d, x_s), theirs(x_d, x_s))
        assert not torch.allclose(default(x_d, x_s), theirs(x_d, x_s), atol=1e-3)


def test_the_backbone_options_give_mmsegs_bisenetv2():
    torch.manual_seed(0)
    theirs = randomise(BiSeNetV2(**TINY), seed=2)
    ours = BiSeNetV2Backbone(**TINY, bga_upsample='bilinear', bga_pointwise_bias=True).eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        for a, b in zip(ours(x), theirs(x)):
            torch.testing.assert_close(a, b)
    shapes = [tuple(o.shape[1:]) for o in BiSeNetV2Backbone(**TINY).eval()(x)]
    assert shapes == [(16, 8, 12), (8, 16, 24), (8, 8, 12), (8, 4, 6), (16, 2, 3)]


def test_the_booster_upsamples_by_two_before_its_second_conv():
    head = randomise(BiSeNetV2SegmentHead(in_channels=8, channels=8, up_channels=16,
                                          num_classes=3, in_index=0), seed=3)
    main = randomise(BiSeNetV2SegmentHead(in_channels=8, channels=8, num_classes=3,
                                          in_index=0), seed=3)
    x = torch.randn(1, 8, 5, 7)
    with torch.no_grad():
        out = head([x])
        expected = head.conv_seg(head.up_conv(F.interpolate(head.conv(x), scale_factor=2)))
        torch.testing.assert_close(out, expected)
        torch.testing.assert_close(main([x]), main.conv_seg(main.conv(x)))
    assert out.shape == (1, 3, 10, 14)
    # the element-wise dropout sits after the first conv (the authors'), none before conv_seg
    assert isinstance(head.drop, torch.nn.Dropout) and head.dropout is None
    head.train()
    seen = []
    head.drop.register_forward_hook(
        lambda m, i, o: seen.append((o[i[0] != 0] == 0).float().mean()))
    torch.manual_seed(0)
    head([torch.randn(1, 8, 20, 20)])
    assert 0.05 < seen[0] < 0.15  # 10 % of the first conv's activations, element-wise
