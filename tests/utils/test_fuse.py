import pytest
import torch
from mmcv.cnn import ConvModule
from torch import nn

from faceparse_mm.utils.fuse import fold_bn


def _randomise_bn(model, seed=0):
    """Non-trivial running statistics and affine parameters, eval mode."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.5)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.2)
    return model.eval()


def _count_bn(model):
    return sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())


def _count_modules(model):
    return sum(1 for _ in model.modules())


def _assert_close_to_scale(outs, refs, rtol=1e-5):
    """Float rounding grows with the output magnitude: compare to it."""
    if isinstance(refs, torch.Tensor):
        outs, refs = [outs], [refs]
    for out, ref in zip(outs, refs):
        torch.testing.assert_close(out, ref, rtol=0, atol=rtol * max(1.0, ref.abs().max().item()))


class Block(nn.Module):
    """The three patterns: attribute pair, mmcv ConvModule, nn.Sequential (incl. depthwise)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.cm = ConvModule(4, 6, 3, padding=1, norm_cfg=dict(type='BN'))
        self.seq = nn.Sequential(nn.Conv2d(6, 5, 1), nn.BatchNorm2d(5), nn.ReLU())
        self.dw = nn.Sequential(nn.Conv2d(5, 5, 3, padding=1, groups=5), nn.BatchNorm2d(5))

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x))) + x
        return self.dw(self.seq(self.cm(x)))


def test_fold_bn_traced_same_outputs_no_batchnorm_left():
    torch.manual_seed(0)
    model = _randomise_bn(Block())
    x = torch.randn(2, 4, 9, 9)
    folded = fold_bn(model, x)
    assert _count_bn(model) == 4 and _count_bn(folded) == 0
    assert _count_modules(folded) < _count_modules(model)
    assert not folded.cm.with_norm and len(folded.seq) == 2  # removed, not replaced
    torch.testing.assert_close(folded(x), model(x), atol=1e-5, rtol=1e-5)
    assert _count_bn(model) == 4  # the original is untouched


def test_fold_bn_structural_without_sample():
    torch.manual_seed(0)
    model = _randomise_bn(Block())
    x = torch.randn(2, 4, 9, 9)
    folded = fold_bn(model)
    # ConvModule and Sequential pairs are folded; conv1/bn1 is only known from a trace
    assert _count_bn(folded) == 1 and isinstance(folded.bn1, nn.BatchNorm2d)
    torch.testing.assert_close(folded(x), model(x), atol=1e-5, rtol=1e-5)


def test_fold_bn_structural_respects_convmodule_order():
    cm = _randomise_bn(ConvModule(4, 4, 3, padding=1, norm_cfg=dict(type='BN'),
                                  order=('norm', 'conv', 'act')))
    assert _count_bn(fold_bn(cm)) == 1  # norm before conv: nothing to fold into


class Shared(nn.Module):
    def __init__(self, reuse_pre_bn):
        super().__init__()
        self.reuse_pre_bn = reuse_pre_bn
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.bn_a = nn.BatchNorm2d(3)
        self.bn_b = nn.BatchNorm2d(3)

    def forward(self, x):
        y = self.conv(x)
        if self.reuse_pre_bn:
            return self.bn_a(y) + y  # the pre-BN output is used too: not foldable
        return self.bn_a(y) + self.bn_b(y)  # one conv feeding two BNs: not foldable


def test_fold_bn_leaves_a_conv_feeding_two_batchnorms():
    torch.manual_seed(0)
    model = _randomise_bn(Shared(reuse_pre_bn=False))
    x = torch.randn(1, 3, 8, 8)
    folded = fold_bn(model, x)
    assert _count_bn(folded) == 2
    torch.testing.assert_close(folded(x), model(x))


def test_fold_bn_refuses_when_outputs_would_change():
    torch.manual_seed(0)
    model = _randomise_bn(Shared(reuse_pre_bn=True))
    with pytest.raises(RuntimeError, match='changed the outputs'):
        fold_bn(model, torch.randn(1, 3, 8, 8))


def test_fold_bn_on_toy_segmentor():
    from tools.analysis.benchmark import InferenceModule, build_model
    model = InferenceModule(_randomise_bn(build_model('tests/data/toy_config.py')))
    x = torch.randn(1, 3, 32, 32)
    folded = fold_bn(model, x)
    assert _count_bn(model) == 2 and _count_bn(folded) == 0
    assert _count_modules(folded) < _count_modules(model)
    with torch.no_grad():
        torch.testing.assert_close(folded(x), model(x), atol=1e-5, rtol=1e-5)


def test_fold_bn_on_bisenet():
    from mmengine.registry import init_default_scope

    from faceparse_mm.registry import MODELS
    init_default_scope('faceparse_mm')
    torch.manual_seed(0)
    backbone = _randomise_bn(MODELS.build(dict(type='FaceBiSeNetV1', spatial_path=True)))
    x = torch.randn(1, 3, 64, 64)
    folded = fold_bn(backbone, x)
    # bn_atten follows a conv on a pooled map: folded too; nothing is left
    assert _count_bn(backbone) > 20 and _count_bn(folded) == 0
    assert _count_modules(folded) < _count_modules(backbone)
    with torch.no_grad():
        _assert_close_to_scale(folded(x), backbone(x))
