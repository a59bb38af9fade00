import os

import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from faceparse_mm.models.decode_heads import ContextPriorAggregation, ContextPriorHead
from faceparse_mm.models.losses import AffinityLoss, ideal_affinity
from faceparse_mm.registry import MODELS
from faceparse_mm.utils.build import build_segmentor, count_params, replace_norm

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FULL = os.path.join(ROOT, 'configs', 'cpnet-r50-d8_celebamask.py')
DEMO = os.path.join(ROOT, 'configs', 'demo', 'cpnet-r50-d8_demo.py')
OHEM = dict(type='OhemCrossEntropyLoss', thresh=0.7, min_kept_ratio=1 / 16)


def _head(prior_size=8, **kwargs):
    init_default_scope('faceparse_mm')
    cfg = dict(in_channels=8, channels=4, prior_channels=6, prior_size=prior_size,
               aggregation_kernel=3, num_classes=3, norm_cfg=dict(type='BN'),
               loss_decode=OHEM)
    return ContextPriorHead(**{**cfg, **kwargs})


def _samples(labels):
    samples = []
    for label in labels:
        s = SegDataSample(gt_sem_seg=PixelData(data=label[None]))
        s.set_metainfo(dict(img_shape=label.shape, ori_shape=label.shape, pad_shape=label.shape))
        samples.append(s)
    return samples


# the affinity target


def test_affinity_target_of_a_one_class_label_map_is_all_ones():
    for value in (2, 255):
        target = ideal_affinity(torch.full((2, 40, 40), value), (5, 5))
        assert target.shape == (2, 25, 25) and torch.equal(target, torch.ones(2, 25, 25))


def test_affinity_target_is_built_at_the_grid_from_nearest_labels_ignore_as_a_class():
    label = torch.zeros(1, 1, 8, 8, dtype=torch.long)
    label[..., :, 4:] = 1  # right half
    label[..., 6:, :] = 255  # bottom quarter ignored
    label[..., 1, 1] = 2  # a lone pixel that nearest-resizing to 4 x 4 drops (odd rows/cols)
    target = ideal_affinity(label, (4, 4))
    grid = torch.tensor([[0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 1, 1], [255, 255, 255, 255]])
    expected = (grid.flatten()[:, None] == grid.flatten()[None, :]).float()
    assert torch.equal(target[0], expected)
    assert target[0, 12:, 12:].eq(1).all() and target[0, 12:, :12].eq(0).all()


# the affinity loss


def test_affinity_loss_is_lower_for_the_target_than_for_its_complement():
    g = torch.Generator().manual_seed(0)
    loss = AffinityLoss(global_term='paper')
    for label in (torch.randint(0, 3, (2, 6, 6), generator=g), torch.zeros(1, 6, 6)):
        target = ideal_affinity(label, (6, 6))
        match, complement = loss(8 * (2 * target - 1), target), loss(8 * (1 - 2 * target), target)
        assert torch.isfinite(match) and match < 0.01 < 1 < complement


def test_affinity_loss_is_zero_on_a_perfect_prior_and_has_each_term():
    """The paper's global term (``global_term='paper'``)."""
    label = torch.tensor([[[0, 0, 1], [0, 2, 1], [1, 1, 1]]])  # class 2 is a single pixel
    target = ideal_affinity(label, (3, 3))
    perfect = 30 * (2 * target - 1)
    paper = dict(global_term='paper')
    assert AffinityLoss(**paper)(perfect, target) < 1e-6
    # one pixel p that gathers every other pixel with 1/2: precision and specificity drop for its
    # row only, recall stays 1 (its own class fully gathered)
    logits = perfect.clone()
    logits[0, 0][target[0, 0] == 0] = 0.0  # sigmoid(0) = 1/2 on its 6 other-class pixels
    n_same, n_other = int(target[0, 0].sum()), int((1 - target[0, 0]).sum())
    unary = torch.log(torch.tensor(2.0)) * n_other / 81
    precision = -torch.log(torch.tensor(n_same / (n_same + n_other / 2))) / 9
    specificity = -torch.log(torch.tensor(0.5)) / 9
    expected = 2.0 * (unary + precision + specificity)
    torch.testing.assert_close(AffinityLoss(loss_weight=2.0, **paper)(logits, target), expected,
                               atol=1e-5, rtol=1e-4)
    # pixel 2 (class 1, 5 pixels) gathers its 4 other same-class pixels with 1/2: recall only
    logits = perfect.clone()
    same = target[0, 2].bool()
    same[2] = False
    logits[0, 2][same] = 0.0
    recall = -torch.log(torch.tensor((1 + 4 / 2) / 5)) / 9
    expected = torch.log(torch.tensor(2.0)) * 4 / 81 + recall
    torch.testing.assert_close(AffinityLoss(**paper)(logits, target), expected, atol=1e-5,
                               rtol=1e-4)


def test_the_authors_global_term_drops_the_diagonal_and_charges_empty_rows_100():
    """The default (the authors' code) on a perfect prior: a class of n grid pixels scores
    precision (n - 1) / n (the diagonal is left out of the numerator only), a one-pixel class
    scores recall and precision 0, i.e. 100 each (BCE's clamp of -log 0); a one-class crop
    scores specificity 0 in every row."""
    label = torch.tensor([[[0, 0, 1], [0, 2, 1], [1, 1, 1]]])  # 3, 5 and 1 pixels
    target = ideal_affinity(label, (3, 3))
    perfect = 30 * (2 * target - 1)
    sizes = target[0].sum(1)  # per row: the size of that pixel's class
    lone = sizes == 1
    precision = torch.where(lone, torch.tensor(100.0), -torch.log((sizes - 1) / sizes)).mean()
    recall = torch.where(lone, torch.tensor(100.0), torch.tensor(0.0)).mean()
    torch.testing.assert_close(AffinityLoss()(perfect, target), precision + recall,
                               atol=1e-4, rtol=1e-5)
    one_class = ideal_affinity(torch.zeros(1, 3, 3), (3, 3))
    perfect = 30 * (2 * one_class - 1)
    expected = 100.0 - torch.log(torch.tensor(8 / 9))  # specificity + precision
    torch.testing.assert_close(AffinityLoss()(perfect, one_class), expected, atol=1e-4,
                               rtol=1e-5)
    with pytest.raises(ValueError, match='global_term'):
        AffinityLoss(global_term='both')


def test_affinity_loss_is_fp32_under_autocast_and_gives_gradients():
    g = torch.Generator().manual_seed(0)
    target = ideal_affinity(torch.randint(0, 3, (1, 8, 8), generator=g), (8, 8))
    logits = torch.randn(1, 64, 64, generator=g, requires_grad=True)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        value = AffinityLoss()(logits.bfloat16(), target)
    assert value.dtype == torch.float32 and torch.isfinite(value)
    # the same number as fp32 on the same (bf16-rounded) logits: nothing was summed in bf16
    reference = AffinityLoss()(logits.detach().bfloat16().float(), target)
    torch.testing.assert_close(value.detach(), reference, rtol=1e-6, atol=1e-6)
    value.backward()
    assert torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0


# the head


def test_aggregation_sees_a_k_by_k_box_through_both_separable_paths():
    torch.manual_seed(0)
    agg = ContextPriorAggregation(4, 6, kernel_size=5,
                                  act_cfg=dict(type='LeakyReLU', negative_slope=0.1)).eval()
    x = torch.randn(1, 4, 21, 21)
    y = x.clone()
    y[..., 10, 10] += 1.0
    changed = (agg(y) - agg(x)).abs().amax(1)[0] > 1e-6
    box = torch.zeros(21, 21, dtype=torch.bool)
    box[7:14, 7:14] = True  # 3x3 reduce conv (radius 1) + 5 x 5 separable (radius 2)
    assert torch.equal(changed, box)
    assert [m.conv.kernel_size for m in agg.path_a] == [(5, 1), (1, 5)]
    assert [m.conv.kernel_size for m in agg.path_b] == [(1, 5), (5, 1)]
    assert all(m.conv.groups == 6 for m in [*agg.path_a, *agg.path_b])


def test_prior_row_p_is_the_prior_conv_channels_at_pixel_p():
    head = _head(prior_size=(3, 4)).eval()
    value = torch.randn(2, 6, 3, 4)
    logits = head.prior_logits(value)
    conv = head.prior_conv(value)  # (2, 12, 3, 4)
    assert logits.shape == (2, 12, 12)
    torch.testing.assert_close(logits[1, 2 * 4 + 1], conv[1, :, 2, 1])


def test_intra_and_inter_contexts_are_p_x_over_n_and_one_minus_p_x_over_n():
    g = torch.Generator().manual_seed(1)
    prior = torch.rand(2, 12, 12, generator=g)  # not symmetric: catches a transposed P
    value = torch.randn(2, 5, 3, 4, generator=g)
    intra, inter = ContextPriorHead.contexts(prior, value)
    x = value.flatten(2)  # (B, C, N)
    p, n = 7, 12
    torch.testing.assert_close(intra.flatten(2)[..., p], (prior[:, p, None, :] * x).sum(-1) / n)
    torch.testing.assert_close(inter.flatten(2)[..., p],
                               ((1 - prior[:, p, None, :]) * x).sum(-1) / n)
    # the ideal prior of a label map gathers each class's pixels into intra, the rest into inter
    label = torch.randint(0, 3, (2, 3, 4), generator=g)
    intra, inter = ContextPriorHead.contexts(ideal_affinity(label, (3, 4)), value)
    same = label.flatten(1)[:, :, None] == label.flatten(1)[:, None, :]  # (B, N, N)
    torch.testing.assert_close(intra.flatten(2), torch.einsum('bps,bcs->bcp', same.float(), x) / n)


@pytest.mark.parametrize('size', [(5, 7), (8, 8), (11, 10)])
def test_head_runs_any_feature_size_on_its_fixed_prior_grid(size):
    torch.manual_seed(0)
    head = _head(prior_size=8).eval()
    logits, prior = head([torch.randn(2, 8, *size)])
    assert logits.shape == (2, 3, *size) and prior.shape == (2, 64, 64)
    assert head.prior_conv.conv.out_channels == 64


def test_head_on_the_grid_size_is_the_unresized_computation():
    torch.manual_seed(0)
    head = _head(prior_size=(6, 5)).eval()
    x = torch.randn(1, 8, 6, 5)
    value = head.aggregation(x)
    prior = head.prior_logits(value)
    intra, inter = head.contexts(torch.sigmoid(prior), value)
    out = head.conv_seg(head.bottleneck(
        torch.cat([x, head.intra_conv(intra), head.inter_conv(inter)], 1)))
    logits, prior_out = head([x])
    torch.testing.assert_close(logits, out)
    torch.testing.assert_close(prior_out, prior)


@pytest.mark.parametrize('autocast', [False, True])
def test_head_trains_at_batch_1_and_two_input_sizes_and_predicts_logits_only(autocast):
    torch.manual_seed(0)
    head = _head(prior_size=8).train()
    for size in (48, 64):  # features 6 x 6 and 8 x 8, labels at 8x
        label = torch.randint(0, 3, (1, size, size))
        label[:, :4] = 255
        x = torch.randn(1, 8, size // 8, size // 8)
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=autocast):
            losses = head.loss([x], _samples(label), None)
        assert set(losses) == {'loss_ohem', 'loss_prior', 'acc_seg'}
        assert losses['loss_prior'].dtype == torch.float32
        logits, prior = head([x])
        target = ideal_affinity(label, (8, 8))
        if not autocast:
            torch.testing.assert_close(losses['loss_prior'], AffinityLoss()(prior, target))
        head.zero_grad()
        (losses['loss_ohem'] + losses['loss_prior']).backward()
        for name, p in head.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert head.prior_conv.conv.weight.grad.abs().sum() > 0
    head.eval()
    out = head.predict([torch.randn(1, 8, 5, 6)], [dict(img_shape=(40, 48))], None)
    assert isinstance(out, torch.Tensor) and out.shape == (1, 3, 40, 48)


def test_affinity_loss_weight_is_a_head_argument():
    head = _head(loss_prior=dict(type='AffinityLoss', loss_weight=0.25))
    assert head.loss_prior.loss_weight == 0.25


# the configs


def test_full_config_has_the_authors_parameter_count_and_prior():
    model = build_segmentor(FULL)
    head = model.decode_head
    assert isinstance(head, ContextPriorHead) and head.prior_size == (64, 64)
    assert head.prior_conv.conv.out_channels == 64 * 64 and head.prior_channels == 512
    assert head.loss_prior.loss_weight == 1.0
    assert model.auxiliary_head.loss_decode.loss_weight == 0.4
    assert count_params(model) == (52153990, 49789299)


def test_demo_config_trains_at_batch_1_on_its_16_by_16_prior():
    torch.manual_seed(0)
    model = build_segmentor(DEMO).train()
    head = model.decode_head
    assert head.prior_size == (16, 16) and head.in_channels == 512
    label = torch.randint(0, 19, (1, 128, 128))
    samples = _samples(label)
    data = model.data_preprocessor(dict(
        inputs=[torch.randint(0, 256, (3, 128, 128), dtype=torch.uint8)],
        data_samples=samples), True)
    seen = []
    hook = head.prior_conv.register_forward_hook(lambda m, i, o: seen.append(o.shape))
    losses = model(**data, mode='loss')
    hook.remove()
    assert seen == [(1, 256, 16, 16)]  # 128 px: 16 x 16 features, no resize
    assert torch.isfinite(losses['decode.loss_prior']) and 'aux.loss_ohem' in losses


def test_imagenet_init_reaches_the_backbone(tmp_path):
    torch.manual_seed(3)
    init_default_scope('faceparse_mm')
    cfg = Config.fromfile(FULL).model.to_dict()
    replace_norm(cfg, 'SyncBN', 'BN')
    assert cfg['backbone']['init_cfg'] == dict(type='Pretrained',
                                               checkpoint='open-mmlab://resnet50_v1c')
    backbone_cfg = dict(cfg['backbone'], init_cfg=None)
    weights = MODELS.build(ConfigDict(backbone_cfg)).state_dict()
    path = str(tmp_path / 'resnet50_v1c.pth')
    torch.save(dict(state_dict=weights), path)
    cfg['backbone']['init_cfg']['checkpoint'] = path
    model = MODELS.build(ConfigDict(cfg))
    assert not torch.equal(model.backbone.stem[0].weight, weights['stem.0.weight'])
    model.init_weights()
    for key, value in model.backbone.state_dict().items():
        assert torch.equal(value, weights[key]), key
