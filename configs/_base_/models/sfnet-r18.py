# SFNet (Li et al., "Semantic Flow for Fast and Accurate Scene Parsing", ECCV 2020), ResNet-18:
# SFNetFPN neck (PPM on C5, top-down FPN of 128 channels with a flow alignment module at every
# level) and SFNetHead (the four levels fused at 1/4, 3x3 conv, classifier), as the authors'
# DeepR18_SF_deeply (lxtGH/SFSegNets); the authors' deep supervision (their fpn_dsn / _dsn
# variant: a 3x3 ConvBNReLU, dropout 0.1, classifier on the FPN sums at 1/16, 1/8 and 1/4, each
# weighted 1.0 as their CriterionSFNet) as three FCN auxiliary heads on the neck's sums
# (training only). The protocol's OHEM cross-entropy on every output. align_corners=True as the
# authors' code (the protocol does not fix it).
# Backbone: the authors' deep-stem ResNet-18, 3x3 stem convs of 64, 64 and 128 channels, so that
# layer1 takes 128 in (ResNetV1c with stem_channels=128: 11,324,992 parameters, the authors'
# exactly). mmseg's 64-channel stem would let open-mmlab's resnet18_v1c load fully, but is
# 129,248 parameters smaller: -1.007% of the reference, outside the zoo's 1%. So the stem stays
# the authors' and resnet18_v1c loads partially: the three stem convs and their BNs,
# layer1.0.conv1 (128 in) and layer1.0.downsample (absent in resnet18_v1c) stay at random init,
# 194,880 of 11.3M backbone weights; every other backbone weight loads.
# Output stride 32 (an FPN instead of atrous convolutions), and, as the authors' code (their
# variant 'D'), conv2 of every block of stages 3 / 4 dilated by 2 / 4 at unchanged strides
# (Conv2DilatedResNet: mmseg's ResNetV1c, whose `dilations` would dilate conv1 instead; no
# parameter changes); conv2_dilations=None gives the undilated ResNetV1c.
# 12,869,331 inference parameters with 19 classes (tests/data/zoo_params.json) against the
# authors' DeepR18_SF_deeply, 12,869,715 measured from their code (-384, -0.003%: the biases of
# the three lateral 1x1 convs, which the BatchNorm after each cancels, are left out).
arch_info = dict(title='SFNet, R18', family='real-time',
                 paper='Li et al., SFNet, ECCV 2020')
# The PPM's pooled branches are 1x1 conv + BN without ReLU (the authors'), concatenated and fed
# to a 1x1 conv + BN: in training that BN removes any per-channel constant, so the branch BNs'
# biases (a constant over the map) never get a gradient; they stay at their initial 0.
untrainable_params = {
    'neck.ppm.0.1.bn.bias': 'cancelled by the BatchNorm of the PPM bottleneck (no ReLU between)',
    'neck.ppm.1.1.bn.bias': 'cancelled by the BatchNorm of the PPM bottleneck (no ReLU between)',
    'neck.ppm.2.1.bn.bias': 'cancelled by the BatchNorm of the PPM bottleneck (no ReLU between)',
    'neck.ppm.3.1.bn.bias': 'cancelled by the BatchNorm of the PPM bottleneck (no ReLU between)',
}
norm_cfg = dict(type='SyncBN', requires_grad=True)
ohem = dict(type='OhemCrossEntropyLoss', thresh=0.7, min_kept_ratio=1 / 16, loss_weight=1.0)
fpn_channels = 128
# the authors' deep-supervision head on one FPN sum (neck outputs 4, 5, 6: 1/4, 1/8, 1/16)
dsn_head = dict(
    type='FCNHead', in_channels=fpn_channels, channels=fpn_channels, num_convs=1, kernel_size=3,
    concat_input=False, dropout_ratio=0.1, num_classes=19, norm_cfg=norm_cfg,
    align_corners=True, loss_decode=ohem)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size_divisor=32),
    backbone=dict(
        type='Conv2DilatedResNet', deep_stem=True, avg_down=False, depth=18, stem_channels=128,
        num_stages=4, out_indices=(0, 1, 2, 3), dilations=(1, 1, 1, 1), strides=(1, 2, 2, 2),
        conv2_dilations=(1, 1, 2, 4), norm_cfg=norm_cfg, norm_eval=False, style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnet18_v1c')),
    neck=dict(
        type='SFNetFPN', in_channels=(64, 128, 256, 512), channels=fpn_channels,
        pool_scales=(1, 2, 3, 6), dropout_ratio=0.1, norm_cfg=norm_cfg, align_corners=True),
    decode_head=dict(
        type='SFNetHead', in_channels=[fpn_channels] * 4, in_index=(0, 1, 2, 3),
        channels=fpn_channels, dropout_ratio=0, num_classes=19, norm_cfg=norm_cfg,
        align_corners=True, loss_decode=ohem),
    # in the authors' order: 1/16, 1/8, 1/4
    auxiliary_head=[dict(dsn_head, in_index=6), dict(dsn_head, in_index=5),
                    dict(dsn_head, in_index=4)],
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
