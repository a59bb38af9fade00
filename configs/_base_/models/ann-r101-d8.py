# ANN (Zhu et al., "Asymmetric Non-local Neural Networks for Semantic Segmentation", ICCV 2019):
# AsymmetricNonLocalHead on C4 and C5 of a deep-stem ResNet-101 dilated to output stride 8, as the
# authors' asymmetric_non_local_network (MendelXu/ANN): the fusion block (AFNB, queries from C5,
# keys and values from C4's 110 pyramid anchors, scales 1, 3, 6, 8; out 2048, key / value 256),
# a 3x3 conv + BN + ReLU to 512, the pyramid block (APNB, 512 -> 512, key / value 256), each block
# ending in Dropout2d 0.05, and the classifier (no further dropout: dropout_ratio=0). The authors'
# deep supervision (their dsn: 3x3 conv 1024 -> 512 + BN + ReLU, Dropout2d 0.05, classifier on C4)
# as an FCN auxiliary head weighted 0.4 as their loss. The protocol's OHEM cross-entropy on both.
# align_corners=True as the authors' code (the protocol does not fix it). The AFNB's fusion conv has
# no activation after its BN as the authors' code (fusion_act_cfg=None; the paper's figure has a
# ReLU there: fusion_act_cfg='default').
# Backbone: the authors' deepbase_resnet101 (torchcv) has 3x3 stem convs of 64, 64 and 128 channels
# (stem_channels=128: 42,623,936 parameters, the authors' exactly) and a stem max pool that rounds
# up (pool_ceil_mode=True: 33 x 33 after the pool at 128 px where mmseg's floor gives 32 x 32;
# pool_ceil_mode=False is mmseg's). ImageNet init: this stem needs the authors' ImageNet
# deepbase_resnet101 (MendelXu/ANN README; their keys prefix.{conv1,bn1,conv2,bn2,conv3,bn3} are
# our stem.{0,1,3,4,6,7}, layer* unchanged): the user converts it and sets init_cfg.checkpoint to
# that file. As set, open-mmlab://resnet101_v1c (mmseg's 32-32-64 stem) loads every backbone
# weight except the stem's convs and BNs and layer1.0's conv1 and downsample conv (153,792 of
# 42.6M weights, random init).
# 62,960,595 inference parameters with 19 classes (tests/data/zoo_params.json) against the authors'
# model without its dsn, 62,964,435 (-3,840, -0.006%): the biases of the head's convs that a BN
# follows (AFNB query, key and fusion 256 + 256 + 2,048, the 3x3 conv 512, APNB query-key and
# fusion 256 + 512), which the BN cancels, are left out; 67,694,310 with the dsn (the auxiliary
# head, 512 fewer here for the same reason).
arch_info = dict(title='ANN, R101-D8', family='attention',
                 paper='Zhu et al., ANN, ICCV 2019')
# the authors' auxiliary loss weight (the protocol weighs every output 1.0)
protocol_departures = {
    'model.auxiliary_head.loss_decode.loss_weight':
        "ANN authors' code: auxiliary (dsn) loss weight 0.4"}
norm_cfg = dict(type='SyncBN', requires_grad=True)
ohem = dict(type='OhemCrossEntropyLoss', thresh=0.7, min_kept_ratio=1 / 16, loss_weight=1.0)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size_divisor=8),
    backbone=dict(
        type='DeepStemResNet', depth=101, stem_channels=128, pool_ceil_mode=True, num_stages=4,
        out_indices=(0, 1, 2, 3), dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg, norm_eval=False, style='pytorch', contract_dilation=True,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnet101_v1c')),
    decode_head=dict(
        type='AsymmetricNonLocalHead', in_channels=(1024, 2048), in_index=(2, 3),
        input_transform='multiple_select', channels=512, fusion_channels=2048, key_channels=256,
        value_channels=256, pool_scales=(1, 3, 6, 8), block_dropout_ratio=0.05,
        fusion_act_cfg=None, dropout_ratio=0, num_classes=19, norm_cfg=norm_cfg, align_corners=True,
        loss_decode=ohem),
    auxiliary_head=dict(
        type='FCNHead', in_channels=1024, in_index=2, channels=512, num_convs=1, kernel_size=3,
        concat_input=False, dropout_ratio=0.05, num_classes=19, norm_cfg=norm_cfg,
        align_corners=True, loss_decode=dict(ohem, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
