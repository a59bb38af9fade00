# SR-Net (Li et al., "Towards Efficient Scene Understanding via Squeeze Reasoning", IEEE TIP 2021):
# SqueezeReasoningHead (1x1 2048 -> 512, channel reasoning over a 256-d squeezed vector as 32
# nodes x 8 features, 3x3 conv to 512, dropout 0.1, classifier) on a deep-stem ResNet-50
# (mmseg's ResNetV1c) dilated to output stride 8 with every block of stage 3 / 4 at dilation
# 2 / 4 as the authors' code (no contracted first dilation), and an FCN auxiliary head on C4
# weighted 0.4 as the authors' loss.
# align_corners=True as the authors' code (the protocol does not fix it). The protocol's OHEM
# cross-entropy on both outputs. The squeeze sums over H x W as the authors' code (its scale
# follows the input size; decode_head.squeeze_mean=True averages instead, see
# ChannelReasoningModule); the block's GroupNorm groups follow the authors.
# Backbone: the authors' resnet-50-deep, 3x3 stem convs of 64, 64, 128 channels and layer1 reading
# 128 (mmseg's ResNetV1c with stem_channels=128: 23,631,808 parameters, the authors' exactly; the
# max pool rounds down as theirs, pool_ceil_mode=False); stem_channels=64 gives mmseg's 32-32-64.
# ImageNet init: this stem needs the authors' resnet50-deep ImageNet weights (lxtGH/SFSegNets
# README, "resnet50-deep-stem-pytorch"; their keys conv1.{0,1,3,4,6} / bn1 are our stem.{0,1,3,4,
# 6,7}, layer* unchanged): the user converts them and sets init_cfg.checkpoint to that file. As
# set, open-mmlab://resnet50_v1c (mmseg's 32-32-64 stem) loads every backbone weight except the
# stem's convs and BNs and layer1.0's conv1 and downsample conv (153,792 weights, random init).
# 27,446,883 inference parameters with 19 classes against the authors' SRNet(19,
# 'resnet-50-deep', 'D') without its auxiliary head, 27,447,395 (-512, -0.002%): the bias of the
# head's 3x3 conv, which the BatchNorm after it cancels (left out here; the converter folds it).
arch_info = dict(title='SR-Net, R50-D8', family='context',
                 paper='Li et al., Squeeze Reasoning, TIP 2021')
# the authors' auxiliary loss weight (the protocol weighs every output 1.0)
protocol_departures = {
    'model.auxiliary_head.loss_decode.loss_weight':
        "SR-Net authors' code (OhemWithAux): auxiliary loss weight 0.4"}
norm_cfg = dict(type='SyncBN', requires_grad=True)
ohem = dict(type='OhemCrossEntropyLoss', thresh=0.7, min_kept_ratio=1 / 16, loss_weight=1.0)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size_divisor=8),
    backbone=dict(
        type='DeepStemResNet', depth=50, stem_channels=128, pool_ceil_mode=False, num_stages=4,
        out_indices=(0, 1, 2, 3), dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg, norm_eval=False, style='pytorch', contract_dilation=False,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnet50_v1c')),
    decode_head=dict(
        type='SqueezeReasoningHead', in_channels=2048, in_index=3, channels=512,
        reason_channels=256, num_nodes=32, squeeze_mean=False, dropout_ratio=0.1, num_classes=19,
        norm_cfg=norm_cfg, align_corners=True, loss_decode=ohem),
    auxiliary_head=dict(
        type='FCNHead', in_channels=1024, in_index=2, channels=256, num_convs=1,
        concat_input=False, dropout_ratio=0.1, num_classes=19, norm_cfg=norm_cfg,
        align_corners=True, loss_decode=dict(ohem, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
