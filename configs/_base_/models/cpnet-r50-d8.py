# CPNet (Yu et al., "Context Prior for Scene Segmentation", CVPR 2020): the Context Prior head
# (aggregation with k = 11 separable depth-wise paths, a 64 x 64 prior grid supervised by the
# affinity loss, weight 1.0, intra and inter contexts concatenated with the input, 3x3 conv to
# 512, dropout 0.1, classifier) on a ResNet-50 with the deep stem (ResNetV1c) dilated to output
# stride 8, and an FCN auxiliary head on C4 weighted 0.4 as in the paper. The protocol's OHEM
# cross-entropy on both outputs. The prior grid stays 64 x 64 (the authors' size, 512 / 8: whole
# 512 images are tested without resizing); 448 training crops give 56 x 56 features, resized to
# the grid and back inside the head. 49,789,299 inference parameters with 19 classes, as the
# authors' model (tests/data/zoo_params.json).
arch_info = dict(title='CPNet, R50-D8', family='context',
                 paper='Yu et al., Context Prior, CVPR 2020')
# the paper's auxiliary loss weight (the protocol weighs every output 1.0)
protocol_departures = {
    'model.auxiliary_head.loss_decode.loss_weight': 'CPNet paper: auxiliary loss weight 0.4'}
norm_cfg = dict(type='SyncBN', requires_grad=True)
ohem = dict(type='OhemCrossEntropyLoss', thresh=0.7, min_kept_ratio=1 / 16, loss_weight=1.0)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size_divisor=8),
    backbone=dict(
        type='ResNetV1c', depth=50, num_stages=4, out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1), norm_cfg=norm_cfg, norm_eval=False,
        style='pytorch', contract_dilation=True,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnet50_v1c')),
    decode_head=dict(
        type='ContextPriorHead', in_channels=2048, in_index=3, channels=512, prior_channels=512,
        prior_size=64, aggregation_kernel=11, dropout_ratio=0.1, num_classes=19,
        norm_cfg=norm_cfg, align_corners=False, loss_decode=ohem,
        # the authors' affinity loss (tests/converters/test_cpnet.py); global_term='paper' keeps
        # the diagonal and scores 0/0 ratios as no loss (theirs charges a one-class crop 100)
        loss_prior=dict(type='AffinityLoss', loss_weight=1.0, global_term='authors')),
    auxiliary_head=dict(
        type='FCNHead', in_channels=1024, in_index=2, channels=256, num_convs=1,
        concat_input=False, dropout_ratio=0.1, num_classes=19, norm_cfg=norm_cfg,
        align_corners=False, loss_decode=dict(ohem, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
