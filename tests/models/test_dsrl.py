"""DSRL: the feature affinity and MSE losses, the SSSR upsampling stage, the SISR decoder, the
segmentor (half-resolution network, full-resolution labels, SISR and FA training only) and the
dsrl-deeplabv3plus-r50-d8 configs."""
import os

import mmseg
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from faceparse_mm.models.decode_heads import SISRDecoder
from faceparse_mm.models.losses import FeatureAffinityLoss, MSELoss, feature_affinity
from faceparse_mm.models.modules import LearnedUpsample
from faceparse_mm.models.segmentors import DSRL
from faceparse_mm.registry import MODELS
from faceparse_mm.utils.build import build_segmentor, count_params, training_only_modules

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FULL = os.path.join(ROOT, 'configs', 'dsrl-deeplabv3plus-r50-d8_celebamask.py')
DEMO = os.path.join(ROOT, 'configs', 'demo', 'dsrl-deeplabv3plus-r50-d8_demo.py')
# mmseg's own DeepLabV3+ R50-D8 (the base network), shipped with mmseg
MMSEG_DEEPLABV3PLUS = os.path.join(os.path.dirname(mmseg.__file__), '.mim', 'configs', '_base_',
                                   'models', 'deeplabv3plus_r50-d8.py')
# the SSSR stage with 19 classes: a 19 -> 19 transposed conv, kernel 4, and its bias
SSSR_STAGE_PARAMS = 19 * 19 * 4 * 4 + 19
MEAN, STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
OHEM = dict(type='OhemCrossEntropyLoss', thresh=0.7, min_kept_ratio=1 / 16)


# the feature affinity loss


def test_feature_affinity_is_the_cosine_similarity_of_every_pair_of_pixels():
    torch.manual_seed(0)
    x = torch.randn(2, 5, 3, 4)
    s = feature_affinity(x)
    assert s.shape == (2, 12, 12)
    f = x.flatten(2)  # (B, C, N), pixels row-major
    for b, i, j in ((0, 0, 0), (0, 2, 7), (1, 11, 3)):
        expected = F.cosine_similarity(f[b, :, i], f[b, :, j], dim=0)
        torch.testing.assert_close(s[b, i, j], expected)
    torch.testing.assert_close(torch.diagonal(s, dim1=1, dim2=2), torch.ones(2, 12))


def test_the_affinity_loss_of_two_identical_maps_is_zero_and_of_different_ones_positive():
    torch.manual_seed(1)
    loss = FeatureAffinityLoss(pool_stride=2)
    a, b = torch.randn(2, 6, 8, 8), torch.randn(2, 4, 8, 8)  # channel counts may differ
    assert loss(a, a.clone()).item() == 0.0
    assert loss(a, b).item() > 0.05


def test_the_affinity_loss_ignores_the_scale_of_the_features():
    """Normalised similarities: a map and the same map rescaled (as a whole, or each pixel by
    its own positive factor) have one affinity matrix, so the loss against a third map is the
    same and the loss between the two is zero."""
    torch.manual_seed(2)
    loss = FeatureAffinityLoss(pool_stride=1)
    a, b = torch.randn(2, 6, 5, 5), torch.randn(2, 3, 5, 5)
    per_pixel = torch.rand(2, 1, 5, 5) * 10 + 0.1
    for scaled in (1000.0 * a, 0.01 * a, per_pixel * a):
        torch.testing.assert_close(loss(scaled, b), loss(a, b))
        torch.testing.assert_close(loss(b, scaled), loss(b, a))
        assert loss(scaled, a).item() < 1e-6


def test_the_affinity_loss_is_the_mean_l1_distance_of_the_pooled_matrices():
    torch.manual_seed(3)
    a, b = torch.randn(1, 4, 6, 6), torch.randn(1, 4, 6, 6)
    loss = FeatureAffinityLoss(pool_stride=2, loss_weight=0.5)(a, b)
    pa, pb = F.avg_pool2d(a, 2), F.avg_pool2d(b, 2)  # 3 x 3 grid, N = 9
    expected = (feature_affinity(pa) - feature_affinity(pb)).abs().sum() / 81
    torch.testing.assert_close(loss, 0.5 * expected)


def test_the_losses_are_fp32_under_autocast():
    a, b = torch.randn(1, 4, 4, 4), torch.randn(1, 4, 4, 4)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        fa = FeatureAffinityLoss()(a.bfloat16(), b.bfloat16())
        mse = MSELoss(loss_weight=0.1)(a.bfloat16(), b.bfloat16())
    assert fa.dtype == torch.float32 and mse.dtype == torch.float32
    torch.testing.assert_close(MSELoss(loss_weight=0.1)(a, b), 0.1 * ((a - b) ** 2).mean())
    assert MSELoss()(a, a).item() == 0.0


# the SSSR upsampling stage and the SISR decoder


@pytest.mark.parametrize('scale', [2, 4])
def test_the_sssr_stage_starts_as_exact_bilinear_upsampling(scale):
    torch.manual_seed(4)
    m = LearnedUpsample(5, scale)
    x = torch.randn(2, 5, 7, 9)
    expected = F.interpolate(x, scale_factor=scale, mode='bilinear', align_corners=False)
    with torch.no_grad():
        torch.testing.assert_close(m(x), expected, rtol=1e-5, atol=1e-5)  # borders included
        m.deconv.weight.add_(torch.randn_like(m.deconv.weight))
        assert (m(x) - expected).abs().max() > 0.1
        m.init_weights()  # the runner's initialisation restores it
        torch.testing.assert_close(m(x), expected, rtol=1e-5, atol=1e-5)
    assert sum(p.numel() for p in LearnedUpsample(19, 2).parameters()) == SSSR_STAGE_PARAMS


def test_the_sisr_decoder_reconstructs_at_eight_times_c2():
    torch.manual_seed(5)
    dec = SISRDecoder(in_channels=16, c1_in_channels=4, channels=8, c1_channels=4,
                      up_channels=(8, 4, 4)).eval()
    feats = [torch.randn(1, 4, 9, 11), torch.randn(1, 8, 5, 6), torch.randn(1, 12, 5, 6),
             torch.randn(1, 16, 5, 6)]
    features, image = dec(feats)
    assert features.shape == (1, 8, 9, 11) and image.shape == (1, 3, 72, 88)
    assert dec(feats, out_size=(70, 85))[1].shape == (1, 3, 70, 85)


# the segmentor, tiny


def _tiny(**kwargs):
    init_default_scope('faceparse_mm')
    norm = dict(type='BN')
    cfg = dict(
        type='DSRL',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=MEAN, std=STD, bgr_to_rgb=True,
                               pad_val=0, seg_pad_val=255, size_divisor=16),
        backbone=dict(type='ResNetV1c', depth=18, base_channels=4, stem_channels=8,
                      out_indices=(0, 1, 2, 3), dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1),
                      norm_cfg=norm, contract_dilation=True),
        decode_head=dict(type='DepthwiseSeparableASPPHead', in_channels=32, in_index=3,
                         channels=16, dilations=(1, 2, 3, 4), c1_in_channels=4, c1_channels=4,
                         dropout_ratio=0.1, num_classes=3, norm_cfg=norm, loss_decode=OHEM),
        auxiliary_head=dict(type='FCNHead', in_channels=16, in_index=2, channels=8,
                            num_convs=1, concat_input=False, num_classes=3, norm_cfg=norm,
                            loss_decode=dict(OHEM, loss_weight=0.4)),
        sisr_decoder=dict(type='SISRDecoder', in_channels=32, c1_in_channels=4, channels=8,
                          c1_channels=4, up_channels=(8, 4, 4), norm_cfg=norm),
        feature_transform=dict(kernel_size=1, norm_cfg=norm),
        loss_sr=dict(type='MSELoss', loss_weight=0.1),
        loss_fa=dict(type='FeatureAffinityLoss', pool_stride=2, loss_weight=1.0),
        test_cfg=dict(mode='whole'))
    cfg.update(kwargs)
    torch.manual_seed(6)
    return MODELS.build(ConfigDict(cfg))


def _batch(n, size, seed=0, classes=3):
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(n):
        inputs.append(torch.randint(0, 256, (3, size, size), dtype=torch.uint8, generator=g))
        s = SegDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size),
                                        pad_shape=(size, size)))
        s.gt_sem_seg = PixelData(data=torch.randint(0, classes, (1, size, size), generator=g))
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


def _backbone_input_sizes(model):
    sizes = []
    model.backbone.register_forward_pre_hook(lambda m, args: sizes.append(args[0].shape[-2:]))
    return sizes


def _refuse(*args, **kwargs):
    raise AssertionError('a training-only part ran at inference')


def test_inference_runs_only_sssr_at_half_resolution_and_predicts_at_full_size():
    model = _tiny().eval()
    assert isinstance(model, DSRL)
    assert set(training_only_modules(model)) == {'auxiliary_head', 'sisr_decoder',
                                                 'feature_transform'}
    for part in (model.sisr_decoder, model.feature_transform, model.loss_sr, model.loss_fa,
                 model.auxiliary_head):
        part.forward = _refuse
    sizes = _backbone_input_sizes(model)
    with torch.no_grad():
        (out,) = model.test_step(_batch(1, 64))
        x = model.data_preprocessor(_batch(1, 64), False)['inputs']
        logits = model.encode_decode(x, [dict(img_shape=(64, 64), ori_shape=(64, 64),
                                              pad_shape=(64, 64))])
        tensor = model(x, mode='tensor')
    assert [tuple(s) for s in sizes] == [(32, 32)] * 3  # the network saw half
    assert out.pred_sem_seg.data.shape == (1, 64, 64)
    assert out.seg_logits.data.shape == (3, 64, 64)
    assert logits.shape == tensor.shape == (1, 3, 64, 64)


def test_a_training_step_learns_full_size_labels_and_image_from_a_half_size_input():
    model = _tiny().train()
    sizes = _backbone_input_sizes(model)
    seen = {}
    head_loss, sr_loss = model.decode_head.loss_by_feat, model.loss_sr.forward

    def capture_head(logits, samples):
        seen['logits'] = logits.shape
        return head_loss(logits, samples)

    def capture_sr(prediction, target):
        seen['sr'] = (prediction.shape, target)
        return sr_loss(prediction, target)

    model.decode_head.loss_by_feat = capture_head
    model.loss_sr.forward = capture_sr
    raw = _batch(2, 64, seed=1)
    data = model.data_preprocessor(raw, True)
    losses = model(**data, mode='loss')
    assert [tuple(s) for s in sizes] == [(32, 32)]
    assert seen['logits'] == (2, 3, 64, 64)  # SSSR predicts at the labels' size, 2x the input
    prediction_shape, target = seen['sr']
    assert prediction_shape == target.shape == (2, 3, 64, 64)
    # the MSE target: the full-resolution image normalised exactly as the network's input
    # (BGR -> RGB, ImageNet mean / std), not the downsampled one
    images = torch.stack(raw['inputs']).float().flip(1)
    expected = (images - torch.tensor(MEAN)[:, None, None]) / torch.tensor(STD)[:, None, None]
    torch.testing.assert_close(target, expected)
    assert {'decode.loss_ohem', 'aux.loss_ohem', 'sisr.loss_mse', 'fa.loss_fa'} <= set(losses)
    loss, _ = model.parse_losses(losses)
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_the_affinity_compares_the_decoders_features_before_dropout_with_the_sisr_features():
    model = _tiny().train()
    seen = {}
    fa = model.loss_fa.forward
    model.loss_fa.forward = lambda a, b: seen.update(args=(a, b)) or fa(a, b)
    model.decode_head.sep_bottleneck.register_forward_hook(
        lambda m, args, out: seen.update(decoder=out))
    model.sisr_decoder.register_forward_hook(lambda m, args, out: seen.update(sisr=out[0]))
    ftm = model.feature_transform.forward
    model.feature_transform.forward = lambda x: seen.update(ftm_in=x) or ftm(x)
    model(**model.data_preprocessor(_batch(2, 64, seed=2), True), mode='loss')
    assert seen['ftm_in'] is seen['decoder']  # the classifier's input, not its dropped-out copy
    seg, sr = seen['args']
    assert seg.shape == (2, 8, 8, 8) and sr is seen['sisr']  # 1/4 of the 32 px network input


def test_without_a_learned_stage_the_sssr_upsampling_is_bilinear_and_adds_no_parameters():
    learned, plain = _tiny(), _tiny(learned_upsample=False)
    assert plain.sssr_upsample is None
    assert count_params(learned)[1] - count_params(plain)[1] == 3 * 3 * 16 + 3


# the configs


def test_the_inference_parameters_are_mmsegs_deeplabv3plus_plus_the_sssr_stage():
    model = build_segmentor(FULL)
    base = build_segmentor(Config.fromfile(MMSEG_DEEPLABV3PLUS))  # 19 classes, as mmseg ships
    assert base.decode_head.num_classes == 19
    total, inference = count_params(model)
    assert inference == count_params(base)[1] + SSSR_STAGE_PARAMS
    training_only = sum(p.numel() for n in ('auxiliary_head', 'sisr_decoder', 'feature_transform')
                        for p in getattr(model, n).parameters())
    assert total - inference == training_only
    # the very same backbone and decoder, weight by weight
    inference_shapes = {k: v.shape for k, v in model.state_dict().items()
                        if k.split('.')[0] in ('backbone', 'decode_head')}
    assert inference_shapes == {k: v.shape for k, v in base.state_dict().items()
                                if not k.startswith('auxiliary_head')}
    cfg = Config.fromfile(FULL)
    assert cfg.model.loss_sr.loss_weight == 0.1 and cfg.model.loss_fa.loss_weight == 1.0
    assert cfg.model.scale_factor == 2 and cfg.crop_size == (448, 448)
    assert cfg.model.auxiliary_head.loss_decode.loss_weight == 0.4
    assert 'model.auxiliary_head.loss_decode.loss_weight' in cfg.protocol_departures


def test_the_demo_trains_on_its_128_crop_with_a_64_px_network_input():
    cfg = Config.fromfile(DEMO)
    assert cfg.crop_size == (128, 128)
    model = build_segmentor(cfg).train()
    assert model.backbone.depth == 18
    sizes = _backbone_input_sizes(model)
    data = model.data_preprocessor(_batch(2, 128, seed=3, classes=19), True)
    losses = model(**data, mode='loss')
    assert [tuple(s) for s in sizes] == [(64, 64)]
    assert all(torch.isfinite(v).all() for k, v in losses.items() if 'loss' in k)
