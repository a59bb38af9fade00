# BiSeNet V2 (Yu et al., "BiSeNet V2: Bilateral Network with Guided Aggregation for Real-time
# Semantic Segmentation", IJCV 2021): mmseg's BiSeNetV2 backbone (detail branch 64-64-128,
# semantic branch 16-32-64-128 with expansion 6, bilateral guided aggregation at 128) and FCN
# head (3x3 to 1024, classifier), with the four FCN booster heads on the semantic branch's stages
# as auxiliary heads (training only), all as mmseg's own Cityscapes config. The protocol's OHEM
# cross-entropy on the head and on every booster (weight 1.0 each, as the paper). 3,358,883
# inference parameters with 19 classes (tests/data/zoo_params.json), as mmseg's; CoinCheung's
# widely used implementation has 3,358,627. Boosters: mmseg's (11.45M parameters, training only):
# they are the heads with which mmseg reproduces the paper's Cityscapes accuracy, and they never
# reach inference; CoinCheung's are 1.87M (a 128-channel 3x3 conv each), six times lighter, so
# the choice costs training time only (see the zoo's demo row). Trained from scratch in the
# paper (no ImageNet weights), and so here.
arch_info = dict(title='BiSeNet V2', family='real-time',
                 paper='Yu et al., BiSeNet V2, IJCV 2021')
# The context embedding block's global-pool branch is BN -> 1x1 conv -> BN on a 1x1 map: in
# training the second BN removes any per-channel constant, so the first BN's bias never gets a
# gradient (in mmseg's code as in the authors'); it stays at its initial 0.
untrainable_params = {
    'backbone.semantic.stage4_CEBlock.gap.1.bias': 'cancelled by the BatchNorm after the 1x1 conv'}
norm_cfg = dict(type='SyncBN', requires_grad=True)
ohem = dict(type='OhemCrossEntropyLoss', thresh=0.7, min_kept_ratio=1 / 16, loss_weight=1.0)
booster = dict(type='FCNHead', num_convs=2, num_classes=19, norm_cfg=norm_cfg, concat_input=False,
               align_corners=False, loss_decode=ohem)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size_divisor=32),
    backbone=dict(
        type='BiSeNetV2', detail_channels=(64, 64, 128), semantic_channels=(16, 32, 64, 128),
        semantic_expansion_ratio=6, bga_channels=128, out_indices=(0, 1, 2, 3, 4),
        norm_cfg=norm_cfg, init_cfg=None, align_corners=False),
    decode_head=dict(
        type='FCNHead', in_channels=128, in_index=0, channels=1024, num_convs=1,
        concat_input=False, dropout_ratio=0.1, num_classes=19, norm_cfg=norm_cfg,
        align_corners=False, loss_decode=ohem),
    auxiliary_head=[
        dict(booster, in_channels=16, channels=16, in_index=1),
        dict(booster, in_channels=32, channels=64, in_index=2),
        dict(booster, in_channels=64, channels=256, in_index=3),
        dict(booster, in_channels=128, channels=1024, in_index=4),
    ],
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
