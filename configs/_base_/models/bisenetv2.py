# BiSeNet V2 (Yu et al., "BiSeNet V2: Bilateral Network with Guided Aggregation for Real-time
# Semantic Segmentation", IJCV 2021) as the authors' released code computes it
# (CoinCheung/BiSeNet, BiSeNetV2(n_classes=19)): mmseg's detail branch (64-64-128) and semantic
# branch (16-32-64-128, expansion 6) with the authors' bilateral guided aggregation, their
# segment head (3x3 to 1024, dropout, classifier) and their four booster heads on the stem, S3,
# S4 and S5 (training only). The protocol's OHEM cross-entropy on the head and on every booster
# (weight 1.0 each, as the paper and the authors' code). 3,358,627 inference parameters with 19
# classes, as the authors' model (tests/data/zoo_params.json; 5,231,487 with the boosters).
# Option: mmseg's BiSeNetV2 (bga_upsample='bilinear', bga_pointwise_bias=True: bilinear x4 in
# the aggregation where the authors' is nearest, +256 parameters) with mmseg's FCN boosters
# (dict(type='FCNHead', num_convs=2, concat_input=False, channels=16/64/256/1024), 11.45M
# parameters instead of 1.87M), the variant mmseg reports on Cityscapes. Trained from scratch as
# in the paper (the authors' code starts the two branches from ImageNet weights; none here).
arch_info = dict(title='BiSeNet V2', family='real-time',
                 paper='Yu et al., BiSeNet V2, IJCV 2021')
# The context embedding block's global-pool branch is BN -> 1x1 conv -> BN on a 1x1 map: in
# training the second BN removes any per-channel constant, so the first BN's bias never gets a
# gradient (in mmseg's code as in the authors'); it stays at its initial 0.
untrainable_params = {
    'backbone.semantic.stage4_CEBlock.gap.1.bias': 'cancelled by the BatchNorm after the 1x1 conv'}
norm_cfg = dict(type='SyncBN', requires_grad=True)
ohem = dict(type='OhemCrossEntropyLoss', thresh=0.7, min_kept_ratio=1 / 16, loss_weight=1.0)
booster = dict(type='BiSeNetV2SegmentHead', channels=128, dropout_ratio=0.1, num_classes=19,
               norm_cfg=norm_cfg, align_corners=False, loss_decode=ohem)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size_divisor=32),
    backbone=dict(
        type='BiSeNetV2Backbone', detail_channels=(64, 64, 128),
        semantic_channels=(16, 32, 64, 128), semantic_expansion_ratio=6, bga_channels=128,
        bga_upsample='nearest', bga_pointwise_bias=False, out_indices=(0, 1, 2, 3, 4),
        norm_cfg=norm_cfg, init_cfg=None, align_corners=False),
    decode_head=dict(
        type='BiSeNetV2SegmentHead', in_channels=128, in_index=0, channels=1024,
        dropout_ratio=0.1, num_classes=19, norm_cfg=norm_cfg, align_corners=False,
        loss_decode=ohem),
    # a booster on the stride-s output: 3x3 to 128, nearest x2, 3x3 to s^2, classifier (authors')
    auxiliary_head=[
        dict(booster, in_channels=16, up_channels=16, in_index=1),
        dict(booster, in_channels=32, up_channels=64, in_index=2),
        dict(booster, in_channels=64, up_channels=256, in_index=3),
        dict(booster, in_channels=128, up_channels=1024, in_index=4),
    ],
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
