import torch
from mmcv.cnn import ConvModule
from torch import nn

from faceparse_mm.utils.fuse import fold_bn


def _randomise_bn(model):
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.5)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.2)
    return model.eval()


def _count_bn(model):
    return sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())


class Block(nn.Module):
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


def test_fold_bn_same_outputs_no_batchnorm_left():
    model = _randomise_bn(Block())
    x = torch.randn(2, 4, 9, 9)
    folded = fold_bn(model, x)
    assert _count_bn(model) == 4 and _count_bn(folded) == 0
    torch.testing.assert_close(folded(x), model(x), atol=1e-5, rtol=1e-5)


def test_fold_bn_on_bisenet():
    from mmengine.registry import init_default_scope
    from faceparse_mm.registry import MODELS
    init_default_scope('faceparse_mm')
    backbone = _randomise_bn(MODELS.build(dict(type='FaceBiSeNetV1', spatial_path=True)))
    x = torch.randn(1, 3, 64, 64)
    folded = fold_bn(backbone, x)
    # bn_atten follows a conv on a pooled map: folded too; nothing is left
    assert _count_bn(backbone) > 20 and _count_bn(folded) == 0
    for a, b in zip(folded(x), backbone(x)):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
    assert sum(1 for _ in folded.modules()) <= sum(1 for _ in backbone.modules())
