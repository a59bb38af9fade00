"""Conv2DilatedResNet: mmseg's ResNet with conv2 of chosen stages dilated at unchanged strides
(the SFNet / TDNet authors' ResNet-18 variant 'D')."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope

from faceparse_mm.registry import MODELS
from tests.models.randomise import randomise

SMALL = dict(depth=18, stem_channels=16, base_channels=8, deep_stem=True, avg_down=False)


def _build(**kwargs):
    init_default_scope('faceparse_mm')
    return MODELS.build(dict(type='Conv2DilatedResNet', **SMALL, **kwargs))


def test_without_conv2_dilations_it_is_mmsegs_resnet_v1c():
    ours = _build()
    randomise(ours)  # (mmseg's ResNet.train returns None, so does eval())
    ours.eval()
    theirs = MODELS.build(dict(type='ResNetV1c', **{k: v for k, v in SMALL.items()
                                                    if k not in ('deep_stem', 'avg_down')}))
    theirs.load_state_dict(ours.state_dict(), strict=True)  # same names and shapes
    theirs.eval()
    x = torch.randn(1, 3, 64, 48)
    with torch.no_grad():
        for a, b in zip(ours(x), theirs(x)):
            torch.testing.assert_close(a, b)


def test_conv2_is_dilated_where_asked_and_the_strides_stay():
    plain = _build()
    randomise(plain)
    plain.eval()
    dilated = _build(conv2_dilations=(1, 1, 2, 4))
    dilated.load_state_dict(plain.state_dict())
    dilated.eval()
    x = torch.randn(1, 3, 64, 48)
    with torch.no_grad():
        outs, plain_outs = dilated(x), plain(x)
    assert [o.shape for o in outs] == [o.shape for o in plain_outs]  # output stride 32
    torch.testing.assert_close(outs[1], plain_outs[1])  # stages 1-2 untouched
    assert not torch.allclose(outs[2], plain_outs[2])
    for stage, d in ((3, 2), (4, 4)):
        for block in getattr(dilated, f'layer{stage}'):
            assert block.conv1.dilation == (1, 1) and block.conv2.dilation == (d, d)
    # conv2 of a stage-3 block reads its input d = 2 pixels apart: an impulse answers there only
    conv = dilated.layer3[1].conv2
    impulse = torch.zeros(1, conv.in_channels, 9, 9)
    impulse[0, :, 4, 4] = 1
    with torch.no_grad():
        reach = conv(impulse).abs().sum(1)[0] > 0
        expected = F.conv2d(impulse, conv.weight, padding=2, dilation=2).abs().sum(1)[0] > 0
    assert torch.equal(reach, expected)
    assert reach.nonzero().tolist() == [[y, x] for y in (2, 4, 6) for x in (2, 4, 6)]


def test_one_dilation_per_stage():
    with pytest.raises(ValueError, match='one value per stage'):
        _build(conv2_dilations=(1, 2, 4))
