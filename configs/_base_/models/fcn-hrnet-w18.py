# HRNetV2-W18 (Wang et al., "Deep High-Resolution Representation Learning for Visual
# Recognition", TPAMI 2020; Sun et al., "High-Resolution Representations for Labeling Pixels and
# Regions", arXiv 1904.04514): mmseg's HRNet backbone (four stages, branches of 18, 36, 72 and
# 144 channels at 1/4 to 1/32, repeated multi-resolution fusion) and the HRNetV2 head: every
# branch upsampled to 1/4 and concatenated (270 channels), a 1x1 conv + BN + ReLU, classifier
# (mmseg's FCNHead with input_transform='resize_concat', as mmseg's fcn_hr18). ImageNet init
# from open-mmlab's msra/hrnetv2_w18. The protocol's OHEM cross-entropy. 9,640,849 inference
# parameters with 19 classes, as mmseg's own fcn_hr18 Cityscapes config
# (tests/data/zoo_params.json).
arch_info = dict(title='HRNetV2-W18 (FCN head)', family='attention',
                 paper='Wang et al., HRNet, TPAMI 2020')
norm_cfg = dict(type='SyncBN', requires_grad=True)
ohem = dict(type='OhemCrossEntropyLoss', thresh=0.7, min_kept_ratio=1 / 16, loss_weight=1.0)
hrnet_channels = (18, 36, 72, 144)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size_divisor=32),
    backbone=dict(
        type='HRNet', norm_cfg=norm_cfg, norm_eval=False,
        extra=dict(
            stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(4, ),
                        num_channels=(64, )),
            stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(4, 4),
                        num_channels=hrnet_channels[:2]),
            stage3=dict(num_modules=4, num_branches=3, block='BASIC', num_blocks=(4, 4, 4),
                        num_channels=hrnet_channels[:3]),
            stage4=dict(num_modules=3, num_branches=4, block='BASIC', num_blocks=(4, 4, 4, 4),
                        num_channels=hrnet_channels)),
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://msra/hrnetv2_w18')),
    decode_head=dict(
        type='FCNHead', in_channels=list(hrnet_channels), in_index=(0, 1, 2, 3),
        channels=sum(hrnet_channels), input_transform='resize_concat', kernel_size=1,
        num_convs=1, concat_input=False, dropout_ratio=-1, num_classes=19, norm_cfg=norm_cfg,
        align_corners=False, loss_decode=ohem),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
