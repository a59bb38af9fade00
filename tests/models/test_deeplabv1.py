import os

import pytest
import torch
import torchvision
from mmengine.registry import init_default_scope

from faceparse_mm.errors import UserError
from faceparse_mm.models.backbones import DeepLabVGG16
from faceparse_mm.models.decode_heads import LargeFOVHead, decimate_vgg_fc
from faceparse_mm.utils.build import build_segmentor, count_params

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(ROOT, 'configs', 'deeplabv1-largefov-vgg16_celebamask.py')


def _conv(cin, cout, k):
    return cin * cout * k * k + cout


def test_parameter_count_is_the_papers_layer_list():
    # VGG-16's 13 convolutions, then fc6 (3x3, 512 -> 1024), fc7 (1x1, 1024), fc8 (1x1, 19)
    convs = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256),
             (256, 512), (512, 512), (512, 512), (512, 512), (512, 512), (512, 512)]
    expected = (sum(_conv(i, o, 3) for i, o in convs) + _conv(512, 1024, 3)
                + _conv(1024, 1024, 1) + _conv(1024, 19, 1))
    assert expected == 20_503_379  # the paper's "20.5M" (Table 2, DeepLab-LargeFOV)
    model = build_segmentor(CONFIG)
    assert count_params(model) == (expected, expected)


def test_backbone_has_torchvision_vgg16_keys_and_shapes():
    with torch.device('meta'):
        reference = torchvision.models.vgg16().features.state_dict()
        ours = DeepLabVGG16().features.state_dict()
    assert {k: v.shape for k, v in ours.items()} == {k: v.shape for k, v in reference.items()}


@pytest.mark.parametrize('size, expected', [(64, 8), (65, 9), (50, 7)])
def test_backbone_stops_at_output_stride_8(size, expected):
    backbone = DeepLabVGG16(out_indices=(2, 3, 4)).eval()
    with torch.no_grad():
        outs = backbone(torch.randn(1, 3, size, size + 8))
    # pool3 subsamples for the last time; pool4 and pool5 keep the size (3x3, stride 1)
    assert [o.shape[-2:] for o in outs] == [(expected, -(-(size + 8) // 8))] * 3
    assert [o.shape[1] for o in outs] == [256, 512, 512]
    conv5 = [m for m in backbone.features[24:31] if isinstance(m, torch.nn.Conv2d)]
    conv4 = [m for m in backbone.features[17:24] if isinstance(m, torch.nn.Conv2d)]
    assert [m.dilation for m in conv5] == [(2, 2)] * 3
    assert [m.dilation for m in conv4] == [(1, 1)] * 3


def test_fc6_sees_twelve_pixels_away_and_not_one():
    init_default_scope('faceparse_mm')
    torch.manual_seed(0)
    head = LargeFOVHead(in_channels=4, channels=8, num_classes=3, dropout_ratio=0.5,
                        norm_cfg=None).eval()
    x = torch.randn(1, 4, 30, 30)
    with torch.no_grad():
        base = head([x])
        for dy, dx, seen in [(0, 12, True), (12, 0, True), (12, -12, True), (0, 1, False),
                             (1, 0, False), (0, 6, False)]:
            moved = x.clone()
            moved[..., 15 + dy, 15 + dx] += 5.0
            changed = (head([moved]) - base)[0, :, 15, 15].abs().max() > 1e-6
            assert bool(changed) is seen, (dy, dx)


def test_dropout_is_elementwise_after_fc6_and_fc7():
    head = LargeFOVHead(in_channels=4, channels=64, num_classes=3, dropout_ratio=0.5,
                        norm_cfg=None)
    assert type(head.fc6_dropout) is torch.nn.Dropout and type(head.dropout) is torch.nn.Dropout
    off = LargeFOVHead(in_channels=4, channels=8, num_classes=3, dropout_ratio=0, norm_cfg=None)
    assert off.fc6_dropout is None and off.dropout is None


def _fake_vgg_fc(in_channels, filters, window=7):
    # every value encodes where it came from: fc6 (filter, input channel, row, column)
    o, c, r, q = torch.meshgrid(torch.arange(filters), torch.arange(in_channels),
                                torch.arange(window), torch.arange(window), indexing='ij')
    fc6 = (o * 1e4 + c * 100 + r * 10 + q).float().reshape(filters, -1)
    fc7 = (torch.arange(filters)[:, None] * 1e3 + torch.arange(filters)[None]).float()
    return {'classifier.0.weight': fc6, 'classifier.0.bias': torch.arange(filters).float(),
            'classifier.3.weight': fc7, 'classifier.3.bias': -torch.arange(filters).float()}


def test_decimation_keeps_every_fourth_filter_and_every_third_tap():
    w = decimate_vgg_fc(_fake_vgg_fc(2, 16), in_channels=2, channels=4)
    assert w['fc6.weight'].shape == (4, 2, 3, 3) and w['fc7.weight'].shape == (4, 4, 1, 1)
    for i in range(4):
        for c in range(2):
            for a in range(3):
                for b in range(3):
                    assert w['fc6.weight'][i, c, a, b] == 4 * i * 1e4 + c * 100 + 3 * a * 10 + 3 * b
    assert w['fc6.bias'].tolist() == [0, 4, 8, 12]
    assert w['fc7.weight'][2, 3, 0, 0] == 8 * 1e3 + 12
    assert w['fc7.bias'].tolist() == [0, -4, -8, -12]


def test_head_loads_decimated_fc_from_a_checkpoint_file(tmp_path):
    init_default_scope('faceparse_mm')
    path = str(tmp_path / 'vgg.pth')
    torch.save(_fake_vgg_fc(2, 16), path)
    head = LargeFOVHead(in_channels=2, channels=4, num_classes=3, norm_cfg=None,
                        fc_pretrained=path)
    head.init_weights()
    expected = decimate_vgg_fc(torch.load(path), 2, 4)
    assert torch.equal(head.fc6.conv.weight, expected['fc6.weight'])
    assert torch.equal(head.fc7.conv.bias, expected['fc7.bias'])
    wrong = LargeFOVHead(in_channels=3, channels=4, num_classes=3, norm_cfg=None,
                         fc_pretrained=path)
    with pytest.raises(UserError, match='fc_pretrained'):
        wrong.init_weights()


def test_full_config_asks_for_imagenet_vgg_and_offline_build_drops_it():
    from mmengine.config import Config
    cfg = Config.fromfile(CONFIG).model
    assert cfg.backbone.init_cfg.checkpoint == 'torchvision://vgg16'
    assert cfg.decode_head.fc_pretrained == 'torchvision://vgg16'
    model = build_segmentor(CONFIG)  # offline: neither is read
    assert model.decode_head.fc_pretrained is None
