"""TDNet: the pyramid-pooling slices, the attention propagation, the stream over a clip (one
sub-network per frame, state reset at a clip boundary, order checked), training over m frames,
the configs and the parameter count against the authors' td4_psp18."""
import os
import sys

import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from faceparse_mm import protocol
from faceparse_mm.datasets import flatten_clip_batch
from faceparse_mm.models.modules import (
    AttentionPropagation,
    PyramidPoolingSlice,
    SpatialLayerNorm,
)
from faceparse_mm.models.modules.attention_propagation import TemporalEncoding
from faceparse_mm.registry import MODELS
from faceparse_mm.utils.build import build_segmentor, count_params, replace_norm
from tests.models.randomise import randomise

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from tools.analysis.benchmark import InferenceModule, benchmark, count_flops  # noqa: E402
from tools.run_zoo import arch_name, demo_config  # noqa: E402

FULL = os.path.join(ROOT, 'configs', 'tdnet-td4-psp18_facevideo.py')
DEMO = os.path.join(ROOT, 'configs', 'demo', 'tdnet-td4-psp18_demo.py')
# the authors' td4_psp18 (feinanshan/TDNet, Testing/model/pspnet/td4_psp18.py) with 19 classes,
# counted by building their module: 54,830,068 in all, 2,052,000 of them the four ResNets'
# ImageNet fc layers that the segmentation never runs
AUTHORS_INFERENCE = 52_778_068
# ours: no bias on the first 1x1 conv of each query and key (4 x 2 x 64; a BN follows)
OURS_INFERENCE = AUTHORS_INFERENCE - 4 * 2 * 64
# four auxiliary FCN heads (training only): 3x3 256 -> 64 + BN, classifier 64 -> 19
AUX_HEADS = 4 * (256 * 64 * 9 + 2 * 64 + 64 * 19 + 19)


def tiny_cfg(num_paths=4, num_classes=5, **kwargs):
    """A TDNet on a ResNet-18 of width 8 (stage 4: 64 channels), d_k = 8."""
    norm = dict(type='BN')
    cfg = dict(
        type='TDNet',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[0, 0, 0], std=[1, 1, 1],
                               bgr_to_rgb=False, pad_val=0, seg_pad_val=255,
                               size_divisor=8),
        backbone=dict(type='ResNet', depth=18, stem_channels=8, base_channels=8,
                      out_indices=(0, 1, 2, 3), dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1),
                      norm_cfg=norm, contract_dilation=True),
        num_paths=num_paths, in_channels=64, key_channels=8, norm_cfg=norm,
        decode_head=dict(type='FCNHead', in_channels=64, channels=8, num_convs=1,
                         concat_input=False, dropout_ratio=0, num_classes=num_classes,
                         norm_cfg=norm, align_corners=True),
        auxiliary_head=dict(type='FCNHead', in_channels=32, in_index=2, channels=8,
                            num_convs=1, concat_input=False, dropout_ratio=0,
                            num_classes=num_classes, norm_cfg=norm, align_corners=True,
                            loss_decode=dict(type='CrossEntropyLoss', loss_weight=0.1)),
        test_cfg=dict(mode='whole'))
    cfg.update(kwargs)
    return cfg


def tiny(seed=0, **kwargs):
    init_default_scope('faceparse_mm')
    torch.manual_seed(seed)
    return randomise(MODELS.build(ConfigDict(tiny_cfg(**kwargs))), seed)


def frames(n, size=(32, 32), seed=1):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(1, 3, *size, generator=g) for _ in range(n)]


def run_clip(model, clip, xs, start=0):
    """The stream's logits for the frames ``xs`` of ``clip`` (frame indices from ``start``)."""
    with torch.no_grad():
        return [model.encode_decode(x, [dict(clip=clip, frame_index=start + t)])
                for t, x in enumerate(xs)]


# --------------------------------------------------------------------------------------------
# modules
# --------------------------------------------------------------------------------------------

def test_the_slices_of_equal_sub_networks_recombine_into_the_full_psp_feature():
    """With one set of weights, slice j of n holds the j-th n-th of x's channels and of each
    pooled branch's; the n slices together hold the full PSPNet feature [x, up(b_i(x))...]
    exactly once. The authors' TD4: two slices."""
    torch.manual_seed(0)
    x = torch.randn(2, 16, 9, 11)
    slices = [PyramidPoolingSlice(16, (1, 2, 3), 8, num_slices=2, slice_index=j,
                                  align_corners=True) for j in range(2)]
    slices[1].load_state_dict(slices[0].state_dict())
    for s in slices:
        randomise(s)
    slices[1].load_state_dict(slices[0].state_dict())
    with torch.no_grad():
        full = torch.cat([x] + slices[0].ppm(x), 1)  # mmseg's PPM: the pooled branches
        out = [s(x) for s in slices]
    assert all(o.shape == (2, (16 + 3 * 8) // 2, 9, 11) for o in out)
    # slice j = [x_j, b1_j, b2_j, b3_j], each part half its block's channels
    blocks = [(0, 16)] + [(16 + 8 * i, 16 + 8 * (i + 1)) for i in range(3)]
    expected = [torch.cat([full[:, a + j * (b - a) // 2:a + (j + 1) * (b - a) // 2]
                           for a, b in blocks], 1) for j in range(2)]
    for o, e in zip(out, expected):
        torch.testing.assert_close(o, e)
    assert sorted(torch.cat(out, 1).sum((0, 2, 3)).tolist()) == pytest.approx(
        sorted(full.sum((0, 2, 3)).tolist()))


def test_attention_rows_sum_to_one_and_a_sharp_query_copies_its_source():
    torch.manual_seed(1)
    step = AttentionPropagation(6, key_channels=4, attn_drop=0, proj_drop=0).eval()
    q, k = torch.randn(2, 10, 4), torch.randn(2, 7, 4)
    attn = step.attention(q, k)
    assert attn.shape == (2, 10, 7) and (attn >= 0).all()
    torch.testing.assert_close(attn.sum(-1), torch.ones(2, 10))
    # scaled by 1 / sqrt(d_k): the softmax of q k^T / 2
    torch.testing.assert_close(attn, torch.softmax(q @ k.transpose(1, 2) / 2, -1))
    # a query aligned with one key only, very sharply, reads that source's value
    keys = torch.eye(4)[None] * 100
    value = torch.randn(1, 4, 6)
    with torch.no_grad():
        step.proj.weight.copy_(torch.eye(6))
        step.proj.bias.zero_()
        out = step(keys, value, keys[:, [2, 0]], size=(1, 2))
    torch.testing.assert_close(out[0, :, 0, :].T, value[0, [2, 0]])


def test_kept_frames_are_subsampled_by_the_memory_stride():
    torch.manual_seed(2)
    enc = randomise(TemporalEncoding(6, key_channels=4, memory_stride=4))
    z = torch.randn(1, 6, 9, 13)
    with torch.no_grad():
        q, v = enc(z)
        mq, mk, mv = enc.memory(z)
    assert q.shape == (1, 9 * 13, 4) and v.shape == (1, 6, 9, 13)
    assert mq.shape == mk.shape == (1, 3 * 4, 4) and mv.shape == (1, 3 * 4, 6)
    # the kept values are the full-resolution values at every 4th row and column
    torch.testing.assert_close(mv, v[..., ::4, ::4].flatten(2).transpose(1, 2))
    assert enc.memory(z, with_query=False)[0] is None


# --------------------------------------------------------------------------------------------
# the stream
# --------------------------------------------------------------------------------------------

def test_at_frame_t_only_sub_network_t_mod_m_runs():
    model = tiny()
    calls = []
    for i, b in enumerate(model.backbones):
        b.register_forward_hook(lambda mod, args, out, i=i: calls.append(i))
    run_clip(model, 'a', frames(9))
    assert calls == [t % 4 for t in range(9)]
    calls.clear()
    run_clip(model, 'b', frames(2))  # a new clip starts again at sub-network 0
    assert calls == [0, 1]


def test_nothing_is_propagated_until_m_minus_1_frames_are_kept_then_the_chain_is_used():
    model = tiny()
    used = []
    for name, step in model.propagation.items():
        step.register_forward_hook(lambda mod, args, out, name=name: used.append(name))
    xs = frames(5)
    run_clip(model, 'a', xs)
    # frames 0-2: none; frame 3 (sub-network 3) reads frames 0, 1, 2 (sub-networks 0, 1, 2),
    # oldest first; frame 4 (sub-network 0) reads 1, 2, 3
    assert used == ['3_0', '3_1', '3_2', '0_1', '0_2', '0_3']


def test_a_clips_first_frame_gives_what_a_fresh_model_gives():
    """State is reset at a clip boundary: frame 0 of clip B after five frames of clip A equals
    frame 0 of B on a model that never saw A; its frame 4 too (the same history)."""
    model = tiny()
    fresh = tiny()
    fresh.load_state_dict(model.state_dict())
    run_clip(model, 'A', frames(5, seed=3))
    xs = frames(5, seed=4)
    after = run_clip(model, 'B', xs)
    alone = run_clip(fresh, 'B', xs)
    for a, b in zip(after, alone):
        torch.testing.assert_close(a, b)
    # without the reset the history would differ: continuing A's stream changes frame 3 onwards
    cont = tiny()
    cont.load_state_dict(model.state_dict())
    run_clip(cont, 'A', frames(5, seed=3))
    cont_b = run_clip(cont, 'A', xs, start=5)
    assert not torch.allclose(cont_b[3], alone[3])


def test_a_clip_replayed_from_its_first_frame_gives_what_its_first_pass_gave():
    """Frame 0 of the same clip again starts a fresh stream: the replay does not attend over
    the end of the first pass."""
    model = tiny()
    xs = frames(5)
    first = run_clip(model, 'a', xs)
    again = run_clip(model, 'a', xs)
    for a, b in zip(first, again):
        torch.testing.assert_close(b, a)


def test_the_propagated_history_changes_the_output_and_frames_out_of_order_are_refused():
    model = tiny()
    xs = frames(5)
    out = run_clip(model, 'a', xs)
    with torch.no_grad():  # the same frame 4 without history: head(norm(V_t)) of sub-network 0
        model.reset()
        first = model.encode_decode(xs[4], [dict(clip='z', frame_index=0)])
    assert not torch.allclose(out[4], first)
    torch.testing.assert_close(run_clip(model, 'b', [xs[4]])[0], first)
    with pytest.raises(ValueError, match=r"clip 'b' frame 2 .* follows frame 0"):
        run_clip(model, 'b', [xs[0]], start=2)


def test_the_same_frame_twice_reuses_the_history_before_it():
    """Flip TTA sends each frame twice (batch 1): the second view sees the memory before the
    frame and leaves the memory as the first view left it."""
    model, other = tiny(), tiny()
    other.load_state_dict(model.state_dict())
    xs = frames(5)
    plain = run_clip(model, 'a', xs)
    with torch.no_grad():
        for t, x in enumerate(xs):
            first = other.encode_decode(x, [dict(clip='a', frame_index=t)])
            again = other.encode_decode(x, [dict(clip='a', frame_index=t)])
            torch.testing.assert_close(first, plain[t])
            torch.testing.assert_close(again, plain[t])


def test_frames_without_clip_metainfo_continue_one_stream_and_a_size_change_restarts_it():
    model = tiny()
    calls = []
    for i, b in enumerate(model.backbones):
        b.register_forward_hook(lambda mod, args, out, i=i: calls.append(i))
    with torch.no_grad():
        model.encode_decode(torch.randn(3, 3, 32, 32), None)  # a batch: three frames in order
        model.encode_decode(torch.randn(1, 3, 32, 32), None)
        model.encode_decode(torch.randn(1, 3, 40, 24), None)
    assert calls == [0, 1, 2, 3, 0]


@pytest.mark.parametrize('norm, dims, shape', [('spatial', (2, 3), (97, 193)),
                                               ('channel', (1,), (64,))])
@pytest.mark.parametrize('size', [(32, 48), (56, 40), (33, 47)])
def test_the_norm_statistics_and_any_input_size_runs(size, norm, dims, shape):
    """'spatial' (the authors'): each channel's map has mean 0 and variance 1; 'channel':
    each position over the channels. Both run at any size."""
    model = tiny(output_norm=norm)
    seen = []
    model.output_norm[0].register_forward_hook(lambda mod, args, out: seen.append(out))
    with torch.no_grad():
        model.output_norm[0].weight.fill_(1)
        model.output_norm[0].bias.zero_()
        (out,) = model.predict(frames(1, size)[0])
    assert out.seg_logits.data.shape == (5, *size)
    normed = seen[0]
    torch.testing.assert_close(normed.mean(dims), torch.zeros_like(normed.mean(dims)),
                               atol=1e-5, rtol=0)
    torch.testing.assert_close(normed.var(dims, unbiased=False),
                               torch.ones_like(normed.mean(dims)), atol=1e-3, rtol=0)
    assert model.output_norm[0].weight.shape == shape


def test_the_spatial_norm_is_the_authors_layer_norm_at_its_size_and_resizes_elsewhere():
    """At its stored size: ``nn.LayerNorm([h, w])`` with the same weight and bias (the
    authors' layer). Elsewhere the affine maps are resized: constant maps stay those
    constants, and every stored entry keeps a gradient on a smaller map."""
    torch.manual_seed(3)
    norm = randomise(SpatialLayerNorm((6, 10)))
    theirs = torch.nn.LayerNorm([6, 10])
    theirs.load_state_dict(norm.state_dict())
    x = torch.randn(2, 5, 6, 10) * 3 + 1
    torch.testing.assert_close(norm(x), theirs(x))
    with torch.no_grad():
        norm.weight.fill_(2.0)
        norm.bias.fill_(-0.5)
    y = torch.randn(2, 5, 9, 4)
    plain = torch.nn.functional.layer_norm(y, (9, 4))
    torch.testing.assert_close(norm(y), 2.0 * plain - 0.5)
    small = randomise(SpatialLayerNorm((97, 193)))
    small(torch.randn(1, 3, 5, 7)).square().sum().backward()
    assert (small.weight.grad != 0).all() and (small.bias.grad != 0).all()
    with pytest.raises(ValueError, match='size must be'):
        SpatialLayerNorm((4,))


# --------------------------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------------------------

def clip_batch(num_frames, batch, size, num_classes=19, seed=0):
    """A collated batch as FaceClipDataset + pseudo_collate give it: frame-major groups."""
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for t in range(num_frames):
        gi, gs = [], []
        for b in range(batch):
            gi.append(torch.randint(0, 256, (3, size, size), dtype=torch.uint8, generator=g))
            s = SegDataSample(metainfo=dict(
                img_shape=(size, size), ori_shape=(size, size), pad_shape=(size, size),
                clip=f'c{b}', frame_index=t, window_size=num_frames, window_index=t))
            s.gt_sem_seg = PixelData(data=torch.randint(0, num_classes, (1, size, size),
                                                        generator=g))
            gs.append(s)
        inputs.append(tuple(gi))
        samples.append(tuple(gs))
    return dict(inputs=inputs, data_samples=samples)


def test_training_runs_all_m_sub_networks_on_m_frames_the_current_one_last():
    model = tiny().train()
    calls = []
    for i, b in enumerate(model.backbones):
        b.register_forward_hook(lambda mod, args, out, i=i: calls.append(i))
    data = model.data_preprocessor(flatten_clip_batch(clip_batch(4, 2, 32, 5)), True)
    for position in range(4):
        calls.clear()
        losses = model(**data, mode='loss')
        p = position % 4
        # frames t-3, t-2, t-1 through sub-networks p-3, p-2, p-1 (what the stream runs), t: p
        assert calls == [(p - 3) % 4, (p - 2) % 4, (p - 1) % 4, p]
        assert {k for k in losses if 'loss' in k} == {'decode.loss_ce', 'sub.loss_ce',
                                                       'aux.loss_ce'}


def test_the_sub_loss_is_the_head_on_the_frame_without_propagation_at_half_weight():
    model = tiny()
    model.train()
    for m in model.modules():  # deterministic forward: eval-mode norms, no dropout
        if isinstance(m, (torch.nn.BatchNorm2d, torch.nn.Dropout)):
            m.eval()
    data = model.data_preprocessor(flatten_clip_batch(clip_batch(4, 2, 32, 5)), True)
    seen = []
    model.output_norm[0].register_forward_hook(lambda mod, args, out: seen.append(args[0]))
    losses = model(**data, mode='loss')
    value_only = seen[1]  # the second call of sub-network 0's norm: V_t alone
    current = data['data_samples'][6:]
    expected = model.decode_head[0].loss_by_feat(model.decode_head[0](
        [model.output_norm[0](value_only)]), current)['loss_ce'] * 0.5
    torch.testing.assert_close(losses['sub.loss_ce'], expected)
    assert not torch.allclose(seen[0], seen[1])  # the decode loss's input has the history


def test_a_batch_that_is_not_m_frame_windows_is_refused_with_the_key_to_set():
    model = tiny().train()
    data = model.data_preprocessor(flatten_clip_batch(clip_batch(2, 2, 32, 5)), True)
    with pytest.raises(ValueError, match='num_frames=4'):
        model(**data, mode='loss')


def _gradients_over_steps(model, steps, size, num_classes, optim_wrapper=None):
    """Summed |grad| of every trainable weight over ``steps`` training steps."""
    grads = {n: torch.zeros_like(p) for n, p in model.named_parameters() if p.requires_grad}
    for step in range(steps):
        batch = clip_batch(4, 2, size, num_classes, seed=step)
        data = model.data_preprocessor(flatten_clip_batch(batch), True)
        loss, log_vars = model.parse_losses(model(**data, mode='loss'))
        assert all(torch.isfinite(torch.as_tensor(v)).all() for v in log_vars.values())
        loss.backward()
        for n, p in model.named_parameters():
            if p.grad is not None:
                grads[n] += p.grad.abs()
                p.grad = None
    return grads


def test_over_m_steps_every_weight_trains():
    """One sub-network takes the current frame per step; after m steps (one per position)
    every weight has had a gradient. 48 px: the kept frames are 2 x 2 (at 32 px a single
    position, and a softmax over one source has no gradient)."""
    model = tiny().train()
    grads = _gradients_over_steps(model, 4, 48, 5)
    missing = [n for n, g in grads.items() if not g.any()]
    assert not missing, missing[:8]


def test_the_demo_config_takes_a_training_step():
    """The demo config's step at position 0 reaches every backbone, pyramid pooling and
    encoding, and exactly sub-network 0's propagation steps, norm and heads; the optimiser
    moves what had a gradient."""
    cfg = Config.fromfile(DEMO)
    assert cfg.get('offline') is True
    torch.manual_seed(0)
    model = build_segmentor(cfg).train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    batch = clip_batch(4, 2, 40)  # stage 4 at 5 x 5, kept frames 2 x 2
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    log_vars = model.train_step(batch, optim_wrapper)
    assert all(torch.isfinite(torch.as_tensor(v)).all() for v in log_vars.values())
    moved = {n.split('.')[0] + '.' + n.split('.')[1] for n, p in model.named_parameters()
             if not torch.equal(p.detach(), before[n])}
    assert moved == ({f'backbones.{i}' for i in range(4)}
                     | {f'pyramid_pooling.{i}' for i in range(4)}
                     | {f'encodings.{i}' for i in range(4)}
                     | {'propagation.0_1', 'propagation.0_2', 'propagation.0_3',
                        'output_norm.0', 'decode_head.0', 'auxiliary_head.0'})


# --------------------------------------------------------------------------------------------
# configs and size
# --------------------------------------------------------------------------------------------

def test_the_inference_parameter_count_is_within_1_percent_of_the_authors():
    model = build_segmentor(FULL)
    total, inference = count_params(model)
    assert inference == OURS_INFERENCE == 52_777_556
    assert abs(inference / AUTHORS_INFERENCE - 1) < 0.01
    assert total - inference == AUX_HEADS


def test_the_configs_declare_how_they_depart_from_the_image_protocol():
    """The clips' data and metric, and the authors' auxiliary weight, each with a reason; the
    demo declares only the model side (tests/test_protocol.py checks it with the others)."""
    full, demo = Config.fromfile(FULL), Config.fromfile(DEMO)
    assert protocol.check(full) == [] and protocol.check(demo, demo=True) == []
    assert full.test_evaluator.type == 'FaceClipMetric'
    assert full.train_dataloader.dataset.num_frames == 4 == full.model.num_paths
    assert full.test_dataloader.dataset.test_mode and full.val_dataloader.dataset.test_mode
    assert full.test_dataloader.sampler == dict(type='DefaultSampler', shuffle=False)


def test_the_full_config_is_the_authors_td4_psp18():
    model = build_segmentor(FULL).eval()
    assert model.num_paths == 4 and len(model.backbones) == 4 and len(model.decode_head) == 4
    assert len(model.propagation) == 12
    assert [p.slice_index for p in model.pyramid_pooling] == [0, 1, 0, 1]
    b = model.backbones[0]
    assert b.conv1.kernel_size == (7, 7)  # the authors' ResNet-18 stem
    assert [blk.conv1.dilation[0] for blk in b.layer3] == [1, 2]
    assert [blk.conv1.dilation[0] for blk in b.layer4] == [4, 8]
    # and conv2 by 2 / 4 (theirs: the previous dilation of the stage)
    assert [blk.conv2.dilation[0] for blk in b.layer3] == [2, 2]
    assert [blk.conv2.dilation[0] for blk in b.layer4] == [4, 4]
    assert [blk.conv2.padding[0] for blk in b.layer4] == [4, 4]
    assert all(norm.size == (97, 193) for norm in model.output_norm)
    assert model.encodings[0].key_channels == 64 and model.encodings[0].memory_stride == 4
    with torch.no_grad():
        feats = model.extract_feat(torch.randn(1, 3, 64, 64))
    assert feats[3].shape == (1, 512, 8, 8)  # output stride 8
    assert all(h.align_corners for h in model.decode_head)
    demo = build_segmentor(DEMO)
    assert {k: v.shape for k, v in demo.state_dict().items()} == {
        k: v.shape for k, v in model.state_dict().items()}


def test_imagenet_init_loads_into_every_sub_network(tmp_path):
    """A local file in the layout of torchvision's resnet18 (mmseg's ResNet-18 keys plus the
    classifier) initialises all four backbones."""
    init_default_scope('faceparse_mm')
    torch.manual_seed(7)
    resnet = MODELS.build(dict(type='ResNet', depth=18))
    imagenet = {k: torch.randn(v.shape) if v.is_floating_point() else v
                for k, v in resnet.state_dict().items()}
    imagenet['fc.weight'], imagenet['fc.bias'] = torch.randn(1000, 512), torch.randn(1000)
    path = str(tmp_path / 'resnet18.pth')
    torch.save(imagenet, path)
    cfg = Config.fromfile(FULL)
    assert cfg.model.backbone.init_cfg == dict(type='Pretrained',
                                               checkpoint='torchvision://resnet18')
    model_cfg = cfg.model.to_dict()
    replace_norm(model_cfg, 'SyncBN', 'BN')
    model_cfg['backbone']['init_cfg']['checkpoint'] = path
    model = MODELS.build(ConfigDict(model_cfg))
    model.init_weights()
    for backbone in model.backbones:
        for k, v in backbone.state_dict().items():
            if not k.endswith('num_batches_tracked'):
                assert torch.equal(v, imagenet[k]), k


def test_the_tools_find_the_demo_config_from_the_video_config():
    assert arch_name('configs/tdnet-td4-psp18_facevideo.py') == 'tdnet-td4-psp18'
    assert demo_config('configs/tdnet-td4-psp18_facevideo.py') == os.path.join(
        'configs', 'demo', 'tdnet-td4-psp18_demo.py')


def test_the_benchmark_counts_a_frame_with_its_full_history(tmp_path):
    """tools/analysis/benchmark.py runs a stream's first m - 1 frames before counting: the MACs
    include the propagation (a fresh stream's first frame has none)."""
    config = tmp_path / 'tiny_tdnet.py'
    config.write_text(f"default_scope = 'faceparse_mm'\nmodel = {tiny_cfg()!r}\n")
    result = benchmark(str(config), shape=(32, 32), batch=1, repeats=1, warmup=0,
                       modes=['eager'])
    fresh = count_flops(InferenceModule(tiny()), torch.randn(1, 3, 32, 32))
    assert result['flops'] > fresh


def _attend(step, key, value, query, key_channels):
    """One propagation step written out: proj(softmax(q k^T / sqrt(d_k)) v)."""
    weights = torch.softmax(query @ key.transpose(1, 2) / key_channels ** 0.5, dim=-1)
    return step.proj(weights @ value)


def test_a_frame_with_a_full_history_adds_the_chained_propagation_to_its_value():
    """Frame m - 1: head(norm(V_t + a)), upsampled to the input (bilinear, corners aligned).
    ``a`` chains the kept frames oldest first: each step attends from its source's keys to
    the next kept frame's queries (the current frame's for the last step) and carries the
    source's values plus the previous step's output. 40 px: the kept frames are 2 x 2 (at
    32 px a single position, whose propagated constant the spatial norm removes)."""
    import torch.nn.functional as F

    model = tiny()
    with torch.no_grad():  # small queries and keys: a softmax far from one-hot
        for encoding in model.encodings:
            encoding.query[1].weight.mul_(1e-5)
            encoding.key[1].weight.mul_(1e-5)
    xs = frames(4, size=(40, 40), seed=6)
    out = run_clip(model, 'a', xs)[3]
    with torch.no_grad():
        kept = []
        for p in range(3):
            _, z = model._features(p, xs[p])
            kept.append(model.encodings[p].memory(z))  # (queries, keys, values), subsampled
        _, z = model._features(3, xs[3])
        query, value = model.encodings[3](z)
        a = None
        for j, (_, key, val) in enumerate(kept):
            target = kept[j + 1][0] if j + 1 < len(kept) else query
            a = _attend(model.propagation[f'3_{j}'], key, val if a is None else a + val, target,
                        key_channels=8)
        a = a.transpose(1, 2).reshape(value.shape)
        logits = model.decode_head[3]([model.output_norm[3](value + a)])
        expected = F.interpolate(logits, size=(40, 40), mode='bilinear', align_corners=True)
        # the same frame again (flip TTA's second view) sees the same history
        again = model.encode_decode(xs[3], [dict(clip='a', frame_index=3)])
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(again, expected)


def test_predict_follows_the_clips_of_its_data_samples_and_fills_them():
    """The test loop's path: the clip and frame index of each data sample drive the stream (a
    new clip starts afresh), and the predictions go into the samples given."""
    model, fresh = tiny(), tiny()
    xs = frames(5, seed=5)

    def samples(clip, n):
        return [SegDataSample(metainfo=dict(clip=clip, frame_index=t, img_shape=(32, 32),
                                            ori_shape=(32, 32))) for t in range(n)]

    with torch.no_grad():
        model.predict(torch.cat(xs[:3]), samples('A', 3))
        given = samples('B', 2)
        got = model.predict(torch.cat(xs[3:]), given)
        alone = fresh.predict(torch.cat(xs[3:]), samples('B', 2))
    assert [s is g for s, g in zip(got, given)] == [True, True]
    assert [s.metainfo['clip'] for s in got] == ['B', 'B']
    for g, a in zip(got, alone):
        torch.testing.assert_close(g.seg_logits.data, a.seg_logits.data)
        assert torch.equal(g.pred_sem_seg.data, a.pred_sem_seg.data)


def test_a_stream_kept_under_inference_mode_continues_with_autograd_on():
    """Frames kept under ``torch.inference_mode`` (a benchmark, a test loop) are usable by
    the next frames run with autograd on, with the same logits."""
    model, other = tiny(), tiny()
    xs = frames(5)
    expected = run_clip(other, 'a', xs)
    with torch.inference_mode():
        got = [model.encode_decode(x, [dict(clip='a', frame_index=t)])
               for t, x in enumerate(xs[:3])]
    got += [model.encode_decode(x, [dict(clip='a', frame_index=3 + t)]).detach()
            for t, x in enumerate(xs[3:])]
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e)


def test_the_loss_without_propagation_is_the_last_frame_of_the_window():
    """The window's last frame is the current one: the sub loss (the head on V_t alone)
    changes with it and not with the frames before it."""
    import copy

    pristine = tiny(attn_drop=0, proj_drop=0).train()
    data = pristine.data_preprocessor(flatten_clip_batch(clip_batch(4, 2, 16, 5)), True)

    def sub_loss(change):
        model = copy.deepcopy(pristine)  # each call at position 0
        inputs = data['inputs'].clone()
        g = torch.Generator().manual_seed(9)
        for i in change:
            inputs[i] = torch.randn(inputs[i].shape, generator=g)
        return model(inputs, data['data_samples'], mode='loss')['sub.loss_ce']

    base = sub_loss([])
    torch.testing.assert_close(sub_loss(range(6)), base)  # frames t-3 .. t-1 of both samples
    assert not torch.allclose(sub_loss([6, 7]), base)  # frame t
