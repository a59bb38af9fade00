import os

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.models.utils import resize
from mmseg.structures import SegDataSample

from faceparse_mm.models.decode_heads import ACFHead
from faceparse_mm.models.losses import OhemCrossEntropyLoss
from faceparse_mm.models.modules import AttentionalClassFeature, attend_class_centres, class_centres
from faceparse_mm.utils.build import build_segmentor
from tests.models.randomise import randomise

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FULL = os.path.join(ROOT, 'configs', 'acfnet-r101-d8_celebamask.py')
DEMO = os.path.join(ROOT, 'configs', 'demo', 'acfnet-r101-d8_demo.py')
OHEM = dict(type='OhemCrossEntropyLoss', thresh=0.7, min_kept_ratio=1 / 16)


def _one_hot(label, k):
    """(N, H, W) class indices -> (N, K, H, W) one-hot probabilities."""
    return torch.nn.functional.one_hot(label, k).permute(0, 3, 1, 2).float()


def _samples(labels):
    samples = []
    for label in labels:
        s = SegDataSample(gt_sem_seg=PixelData(data=label[None]))
        s.set_metainfo(dict(img_shape=label.shape, ori_shape=label.shape, pad_shape=label.shape))
        samples.append(s)
    return samples


def _head(**kwargs):
    init_default_scope('faceparse_mm')
    cfg = dict(in_channels=8, channels=6, acf_channels=5, dilations=(1, 2, 3), num_classes=3,
               norm_cfg=dict(type='BN'), align_corners=True, loss_decode=OHEM,
               loss_coarse=dict(OHEM, loss_weight=1.0))
    return ACFHead(**{**cfg, **kwargs})


# the class centres and the class attention


def test_centres_of_a_one_hot_p_are_the_class_means_and_an_absent_class_gives_zero():
    g = torch.Generator().manual_seed(0)
    features = torch.randn(2, 4, 5, 7, generator=g)
    label = torch.randint(0, 3, (2, 5, 7), generator=g)  # classes 0-2 of K = 4: 3 is absent
    label[1] = 0
    label[1, 2, 3:] = 2  # image 1: classes 0 and 2 only
    centres = class_centres(features, _one_hot(label, 4))
    assert centres.shape == (2, 4, 4) and torch.isfinite(centres).all()
    for n in range(2):
        for k in range(4):
            mask = label[n] == k
            expected = features[n][:, mask].mean(1) if mask.any() else torch.zeros(4)
            torch.testing.assert_close(centres[n, k], expected)
    assert centres[1, 1].abs().max() == 0 and centres[:, 3].abs().max() == 0


def test_centres_of_soft_p_are_p_weighted_means_over_the_pixels():
    g = torch.Generator().manual_seed(1)
    features = torch.randn(1, 3, 4, 6, generator=g)
    probs = torch.softmax(torch.randn(1, 5, 4, 6, generator=g), dim=1)
    centres = class_centres(features, probs)
    p, f = probs.flatten(2)[0], features.flatten(2)[0]  # (K, HW), (C, HW)
    expected = (p[:, None, :] * f[None]).sum(-1) / p.sum(-1, keepdim=True)
    torch.testing.assert_close(centres[0], expected)


def test_a_pixel_one_hot_on_class_k_attends_to_exactly_centre_k():
    g = torch.Generator().manual_seed(2)
    centres = torch.randn(2, 4, 6, generator=g)
    probs = torch.softmax(torch.randn(2, 4, 3, 5, generator=g), dim=1)
    probs[:, :, 1, 2] = 0
    probs[0, 3, 1, 2] = 1  # image 0, pixel (1, 2): class 3
    probs[1, 0, 1, 2] = 1  # image 1, same pixel: class 0
    out = attend_class_centres(centres, probs)
    assert out.shape == (2, 6, 3, 5)
    torch.testing.assert_close(out[0, :, 1, 2], centres[0, 3], rtol=0, atol=0)
    torch.testing.assert_close(out[1, :, 1, 2], centres[1, 0], rtol=0, atol=0)
    # a soft pixel mixes the centres with its probabilities
    torch.testing.assert_close(out[1, :, 2, 4], probs[1, :, 2, 4] @ centres[1])


def test_module_uses_the_softmax_over_classes_of_the_coarse_logits():
    torch.manual_seed(0)
    acf = randomise(AttentionalClassFeature(8, 6, 4), seed=3)
    x = torch.randn(1, 8, 6, 5)
    label = torch.randint(0, 3, (1, 6, 5))
    label[0, 0, :3] = torch.tensor([0, 1, 2])  # every class present
    logits = 40.0 * _one_hot(label, 3) + 0.5  # softmax over classes: one-hot up to 1e-17
    attention = acf.class_attention(x, logits)
    reduced = acf.reduce(x)
    for k in range(3):
        mean = reduced[0][:, label[0] == k].mean(1)
        torch.testing.assert_close(attention[0][:, label[0] == k],
                                   mean[:, None].expand(-1, int((label[0] == k).sum())))
    out = acf(x, logits)
    assert out.shape == (1, 4, 6, 5)
    torch.testing.assert_close(out, acf.project(attention))


def test_module_is_fp32_inside_under_autocast_and_runs_any_size():
    torch.manual_seed(0)
    acf = AttentionalClassFeature(8, 6, 4).eval()
    for size in ((5, 7), (9, 4)):
        x, logits = torch.randn(1, 8, *size), torch.randn(1, 3, *size)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            features = acf.reduce(x)
            centres = class_centres(features, torch.softmax(logits, 1))
            out = acf(x, logits)
        assert centres.dtype == torch.float32 and out.shape == (1, 4, *size)
        assert torch.isfinite(out.float()).all()


# the head


def test_head_forward_is_logits_in_eval_and_final_plus_coarse_in_training():
    torch.manual_seed(0)
    head = _head()
    x = [torch.randn(2, 8, 7, 9)]
    logits, coarse = head.train()(x)
    assert logits.shape == coarse.shape == (2, 3, 7, 9)
    out = head.eval()(x)
    assert isinstance(out, torch.Tensor) and out.shape == (2, 3, 7, 9)


def test_head_is_aspp_coarse_acf_concat_fusion_classifier():
    torch.manual_seed(0)
    head = randomise(_head(), seed=4)
    x = torch.randn(1, 8, 6, 7)
    pooled = head.image_pool(x).expand(-1, -1, 6, 7)
    base = head.aspp_fuse(torch.cat([pooled, *[m(x) for m in head.aspp_modules]], 1))
    coarse = head.conv_coarse(base)
    fused = head.fusion(torch.cat([head.acf(base, coarse), base], 1))
    logits, coarse_out = head.forward_both([x])
    torch.testing.assert_close(coarse_out, coarse)
    torch.testing.assert_close(logits, head.conv_seg(fused))
    assert [m.conv.dilation for m in head.aspp_modules] == [(1, 1), (2, 2), (3, 3)]


@pytest.mark.parametrize('autocast', [False, True])
def test_head_loss_has_the_coarse_entry_its_loss_and_gradients(autocast):
    torch.manual_seed(0)
    head = _head(loss_coarse=dict(OHEM, loss_weight=0.3)).train()
    label = torch.randint(0, 3, (2, 48, 40))
    label[:, :6] = 255  # ignored rows
    x = torch.randn(2, 8, 6, 5)
    seen = []
    hook = head.conv_coarse.register_forward_hook(lambda m, i, o: seen.append(o))
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=autocast):
        losses = head.loss([x], _samples(label), None)
    hook.remove()
    assert set(losses) == {'loss_ohem', 'loss_coarse', 'acc_seg'}
    assert losses['loss_coarse'].dtype == losses['loss_ohem'].dtype == torch.float32
    coarse = resize(seen[0].float(), size=(48, 40), mode='bilinear', align_corners=True)
    expected = 0.3 * OhemCrossEntropyLoss()(coarse, label)
    torch.testing.assert_close(losses['loss_coarse'], expected)
    # the final loss alone trains the coarse classifier (through the ACF's probabilities),
    # and so does the coarse loss alone
    for key in ('loss_ohem', 'loss_coarse'):
        head.zero_grad()
        losses[key].backward(retain_graph=True)
        assert head.conv_coarse.weight.grad.abs().sum() > 0, key
    head.zero_grad()
    (losses['loss_ohem'] + losses['loss_coarse']).backward()
    for name, p in head.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_head_predicts_at_batch_1_any_size():
    torch.manual_seed(0)
    head = _head().eval()
    for size, img in (((5, 6), (40, 48)), ((7, 7), (56, 56))):
        out = head.predict([torch.randn(1, 8, *size)], [dict(img_shape=img)], None)
        assert isinstance(out, torch.Tensor) and out.shape == (1, 3, *img)


# the configs


def _demo_losses(coarse_weight=None, seed=0):
    cfg = Config.fromfile(DEMO)
    if coarse_weight is not None:
        cfg.model.decode_head.loss_coarse.loss_weight = coarse_weight
    torch.manual_seed(seed)
    model = build_segmentor(cfg).train()
    g = torch.Generator().manual_seed(1)
    label = torch.randint(0, 19, (2, 64, 64), generator=g)
    label[:, :4] = 255
    data = model.data_preprocessor(dict(
        inputs=[torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8, generator=g)
                for _ in range(2)],
        data_samples=_samples(label)), True)
    torch.manual_seed(seed)  # the same dropout masks
    return model, model(**data, mode='loss')


def test_demo_config_supervises_the_coarse_output_with_its_own_weight():
    model, losses = _demo_losses()
    head = model.decode_head
    assert isinstance(head, ACFHead) and head.in_channels == 512 and head.channels == 128
    assert head.acf.reduce.conv.out_channels == 128 and head.align_corners
    assert head.loss_coarse.loss_weight == 1.0
    assert model.auxiliary_head.loss_decode.loss_weight == 0.4
    assert {'decode.loss_ohem', 'decode.loss_coarse', 'aux.loss_ohem'} <= set(losses)
    assert all(torch.isfinite(losses[k]) for k in losses if 'loss' in k)
    _, scaled = _demo_losses(coarse_weight=0.25)
    torch.testing.assert_close(scaled['decode.loss_coarse'], 0.25 * losses['decode.loss_coarse'])
    torch.testing.assert_close(scaled['decode.loss_ohem'], losses['decode.loss_ohem'])
    # the coarse term reaches the total the runner minimises
    total, _ = model.parse_losses(losses)
    total_scaled, _ = model.parse_losses(scaled)
    torch.testing.assert_close(total - total_scaled, 0.75 * losses['decode.loss_coarse'])


def test_full_config_is_the_papers_layout():
    model = build_segmentor(FULL)
    head = model.decode_head
    assert isinstance(head, ACFHead) and head.in_channels == 2048 and head.channels == 512
    assert head.dilations == (1, 12, 24, 36)
    assert [m.conv.dilation[0] for m in head.aspp_modules] == [1, 12, 24, 36]
    assert head.acf.reduce.conv.out_channels == 512
    assert model.backbone.depth == 101 and model.backbone.dilations == (1, 1, 2, 4)
    assert model.auxiliary_head.in_channels == 1024
