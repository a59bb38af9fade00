# Dynamic Routing (Li, Song, Chen, Li, Zhang, Wang, Sun, "Learning Dynamic Routing for Semantic
# Segmentation", CVPR 2020), the authors' Layer16 space (playground/Dynamic/Seg.Layer16): stem to
# 1/4 (64), cell 0 and 16 layers of cells over 1/4..1/32 (64/128/256/512 channels; separable 3x3
# + identity; keep / up / down routes, each weighted by a max(0, tanh) soft gate, bias 1.5; cells
# whose gates all fall below 1e-4 skipped at inference), the authors' top-down decoder with a 3x3
# classifier. 17,784,968 inference parameters with 19 classes, 2,523,125 of them in the gates,
# as the authors' model (tests/data/zoo_params.json).
# Loss: the protocol's OHEM cross-entropy on the one output (the authors' is plain cross-entropy;
# no auxiliary head) plus the budget loss lambda * (C_expected / C_max - mu)^2. The authors' Layer16
# ("Dynamic-Raw") trains with lambda = 0; we keep the constraint on with the paper's Dynamic-C
# budget (lambda 0.5, mu 0.2: the mildest, closest in accuracy to Raw), from 40% of training with
# a 2% warm-up (their UNUPDATE_RATE, WARM_UP). loss_weight=0 gives the unconstrained Raw model.
# Skipping is exact (skip_closed=False gives the same outputs); departure: the authors' inference
# drops a cell fed only by dropped cells, which their training computes on a zero map (we do not).
# Inputs padded to a multiple of 32 (the authors' size divisibility). Initialisation: trained
# from scratch, as the paper: every conv Kaiming-normal fan-in, gate bias 1.5 (the authors'), set
# at construction; init_cfg=None keeps it (no mmcv/mmseg re-initialisation). One departure: the
# gates' last conv weights are drawn with std 0.01 (gate_weight_std; None is the authors' Kaiming
# draw, which leaves about 1% of the 149 routes closed, without gradient, from the first step).
arch_info = dict(title='Dynamic Routing, L16', family='scheme',
                 paper='Li et al., Dynamic Routing, CVPR 2020')
norm_cfg = dict(type='SyncBN', requires_grad=True)
ohem = dict(type='OhemCrossEntropyLoss', thresh=0.7, min_kept_ratio=1 / 16, loss_weight=1.0)
model = dict(
    type='DynamicRoutingEncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size_divisor=32),
    backbone=dict(
        type='DynamicRoutingBackbone', stem_channels=64, base_channels=64, num_layers=16,
        num_scales=4, gate_bias=1.5, gate_weight_std=0.01, gate_threshold=1e-4,
        skip_closed=True, norm_cfg=norm_cfg, act_cfg=dict(type='ReLU'), align_corners=False,
        init_cfg=None),
    decode_head=dict(
        type='DynamicRoutingHead', in_channels=(64, 128, 256, 512), in_index=(0, 1, 2, 3),
        channels=64, dropout_ratio=0.0, num_classes=19, norm_cfg=norm_cfg,
        act_cfg=dict(type='ReLU'), align_corners=False, init_cfg=None, loss_decode=ohem),
    budget_loss=dict(type='BudgetLoss', loss_weight=0.5, mu=0.2, start_ratio=0.4,
                     warmup_ratio=0.02),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
