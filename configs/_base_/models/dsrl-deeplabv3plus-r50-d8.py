# DSRL (Wang et al., "Dual Super-Resolution Learning for Semantic Segmentation", CVPR 2020) on
# mmseg's DeepLabV3+ (DepthwiseSeparableASPPHead, ASPP dilations 1/12/24/36, C2 decoder with 48
# channels) on a deep-stem ResNet-50 (ResNetV1c) dilated to output stride 8, as mmseg's
# deeplabv3plus_r50-d8, with its FCN auxiliary head on C4 weighted 0.4. The segmentor
# (faceparse_mm DSRL) feeds the network the image at half the label size (256 for the 512
# labels, 224 for the 448 training crops; area downsampling inside the segmentor, after the data
# preprocessor: the pipeline, the labels and the metric stay the protocol's) and trains:
# SSSR, the decoder's logits bilinearly resized to the network input then a learned 2x
# upsampling (a transposed conv initialised as exact bilinear) to the label size, with the
# protocol's OHEM CE; SISR, a training-only decoder reconstructing the full-size image, MSE
# weighted 0.1 against the image normalised as the input; FA, the L1 distance between the cosine
# similarity matrices of the decoder's features (after a 1x1 feature transform) and the SISR
# features, average-pooled 2x (28 x 28 at the 448 crop), weighted 1.0. The weights 0.1 / 1.0 are
# the ones reported for the paper, not checked against its text here.
# At inference only SSSR runs: 41,230,982 inference parameters with 19 classes = mmseg's
# DeepLabV3+ R50-D8 without its auxiliary head (41,225,187) + the SSSR stage (5,795); the SISR
# decoder (2,511,763) and the feature transform (131,584) train only. What the half-resolution
# input buys, at 512 images (MACs, mmengine's counter as tools/analysis/benchmark.py runs it):
# 44.5 G here (the network at 256) against 176.6 G for the same DeepLabV3+ run on the 512 image
# (3.97x).
# align_corners=False as mmseg's DeepLabV3+. size_divisor 16 keeps the network input (half the
# padded image) a multiple of 8.
arch_info = dict(title='DSRL, DeepLabV3+ R50-D8', family='scheme',
                 paper='Wang et al., DSRL, CVPR 2020')
# mmseg's auxiliary loss weight for DeepLabV3+ (the protocol weighs every output 1.0)
protocol_departures = {
    'model.auxiliary_head.loss_decode.loss_weight':
        "mmseg's deeplabv3plus_r50-d8: auxiliary FCN head on C4 weighted 0.4"}
norm_cfg = dict(type='SyncBN', requires_grad=True)
ohem = dict(type='OhemCrossEntropyLoss', thresh=0.7, min_kept_ratio=1 / 16, loss_weight=1.0)
model = dict(
    type='DSRL',
    scale_factor=2,
    learned_upsample=True,
    downsample_mode='area',
    data_preprocessor=dict(
        type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size_divisor=16),
    backbone=dict(
        type='ResNetV1c', depth=50, num_stages=4, out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1), norm_cfg=norm_cfg, norm_eval=False,
        style='pytorch', contract_dilation=True,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnet50_v1c')),
    decode_head=dict(
        type='DepthwiseSeparableASPPHead', in_channels=2048, in_index=3, channels=512,
        dilations=(1, 12, 24, 36), c1_in_channels=256, c1_channels=48, dropout_ratio=0.1,
        num_classes=19, norm_cfg=norm_cfg, align_corners=False, loss_decode=ohem),
    auxiliary_head=dict(
        type='FCNHead', in_channels=1024, in_index=2, channels=256, num_convs=1,
        concat_input=False, dropout_ratio=0.1, num_classes=19, norm_cfg=norm_cfg,
        align_corners=False, loss_decode=dict(ohem, loss_weight=0.4)),
    # training only (not an mmseg head: no classes, no protocol loss)
    sisr_decoder=dict(
        type='SISRDecoder', in_channels=2048, in_index=3, c1_in_channels=256, c1_index=0,
        channels=256, c1_channels=48, up_channels=(64, 32, 16), out_channels=3,
        norm_cfg=norm_cfg, align_corners=False),
    feature_transform=dict(kernel_size=1, norm_cfg=norm_cfg, act_cfg=dict(type='ReLU')),
    loss_sr=dict(type='MSELoss', loss_weight=0.1),
    loss_fa=dict(type='FeatureAffinityLoss', pool_stride=2, loss_weight=1.0),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
