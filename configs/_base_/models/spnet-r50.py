# SPNet (Hou et al., "Strip Pooling: Rethinking Spatial Pooling for Scene Parsing", CVPR 2020):
# a ResNet-50 with the deep stem dilated to output stride 8 (layer4 dilations 4, 8, 16 as the
# authors' multi-grid), strip pooling modules (SPM) plugged into the last block of stages 1-3 and
# every block of stage 4 after the bottleneck's 3x3 conv (the authors' spm_on placement), and the
# SPNet head: 1x1 2048 -> 1024, two mixed pooling modules, 3x3 -> 512, dropout 0.1, classifier.
# FCN auxiliary head on C4 weighted 0.4 as in the authors' configs; align_corners=True as in their
# code. The protocol's OHEM cross-entropy on both outputs.
# Backbone: the authors' deep stem, 3x3 convs of 64, 64, 128 channels and layer1 reading 128
# (stem_channels=128; the stem max pool rounds down as theirs, pool_ceil_mode=False);
# stem_channels=64 gives mmseg's 32-32-64. ImageNet init: this stem needs the authors' ImageNet
# weights (PyTorch-Encoding's resnet50-25c4b509, linked from houqb/SPNet's README; their keys
# conv1.{0,1,3,4,6} / bn1 are our stem.{0,1,3,4,6,7}, layer* unchanged): the user converts them
# and sets init_cfg.checkpoint to that file. As set, open-mmlab://resnet50_v1c (mmseg's 32-32-64
# stem) loads every ResNet weight except the stem's convs and BNs and layer1.0's conv1 and
# downsample conv (153,792 weights, random init); the SPMs start from their own init either way.
# 45,372,563 inference parameters with 19 classes (tests/data/zoo_params.json), the authors'
# SPNet(19, 'resnet50', spm_on=True) without its auxiliary head exactly.
arch_info = dict(title='SPNet, R50-D8', family='context',
                 paper='Hou et al., Strip Pooling, CVPR 2020')
# the authors' auxiliary loss weight (the protocol weighs every output 1.0)
protocol_departures = {
    'model.auxiliary_head.loss_decode.loss_weight': 'SPNet authors\' configs: auxiliary loss '
                                                   'weight 0.4'}
norm_cfg = dict(type='SyncBN', requires_grad=True)
ohem = dict(type='OhemCrossEntropyLoss', thresh=0.7, min_kept_ratio=1 / 16, loss_weight=1.0)
spm = dict(type='StripPooling', norm_cfg=norm_cfg)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size_divisor=8),
    backbone=dict(
        type='PluginResNetV1c', depth=50, stem_channels=128, pool_ceil_mode=False, num_stages=4,
        out_indices=(0, 1, 2, 3), dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1),
        multi_grid=(4, 8, 16), norm_cfg=norm_cfg, norm_eval=False, style='pytorch',
        contract_dilation=True,
        plugins=[
            dict(cfg=spm, stages=(True, True, True, False), blocks=(-1,), position='after_conv2'),
            dict(cfg=spm, stages=(False, False, False, True), position='after_conv2')],
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnet50_v1c')),
    decode_head=dict(
        type='StripPoolingHead', in_channels=2048, in_index=3, transform_channels=1024,
        channels=512, num_mpms=2, pool_sizes=(20, 12), mpm_reduction=4, dropout_ratio=0.1,
        num_classes=19, norm_cfg=norm_cfg, align_corners=True, loss_decode=ohem),
    auxiliary_head=dict(
        type='FCNHead', in_channels=1024, in_index=2, channels=256, num_convs=1,
        concat_input=False, dropout_ratio=0.1, num_classes=19, norm_cfg=norm_cfg,
        align_corners=True, loss_decode=dict(ohem, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
