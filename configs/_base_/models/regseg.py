# RegSeg (Gao, "Rethinking Dilated Convolution for Real-time Semantic Segmentation", arXiv
# 2111.09957, 2021; CVPR workshops 2023), the authors' RegSeg("exp48_decoder26"): stem 3x3/2 to
# 32, the exp48 body of D blocks (grouped 3x3s with one dilation rate per half of the channels,
# group width 16, SE) to 48 @ 1/4, 128 @ 1/8 and 320 @ 1/16 (table in RegSegBackbone), and
# decoder26 fusing the three maps to logits at 1/4. The protocol's OHEM cross-entropy on its one
# output (the paper has no auxiliary head). 3,334,951 inference parameters with 19 classes, as the
# authors' model (tests/data/zoo_params.json).
# Initialisation: trained from scratch, as the paper (no ImageNet weights exist for this body):
# init_cfg=None on backbone and head keeps every layer at PyTorch's default initialisation, as
# the authors' code (neither mmcv's Kaiming re-draw nor mmseg's N(0, 0.01) classifier init runs).
arch_info = dict(title='RegSeg (exp48, decoder26)', family='real-time',
                 paper='Gao, RegSeg, CVPRW 2023')
norm_cfg = dict(type='SyncBN', requires_grad=True)
ohem = dict(type='OhemCrossEntropyLoss', thresh=0.7, min_kept_ratio=1 / 16, loss_weight=1.0)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size_divisor=16),
    backbone=dict(
        type='RegSegBackbone', arch='exp48', out_indices=(0, 1, 2), se_ratio=0.25,
        norm_cfg=norm_cfg, act_cfg=dict(type='ReLU'), init_cfg=None),
    decode_head=dict(
        type='RegSegDecoder26Head', in_channels=(48, 128, 320), in_index=(0, 1, 2),
        skip_channels=8, proj_channels=128, channels=64, dropout_ratio=0.0, num_classes=19,
        norm_cfg=norm_cfg, act_cfg=dict(type='ReLU'), align_corners=False, init_cfg=None,
        loss_decode=ohem),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
