# BiSeNet V1 as in the paper: Spatial Path, ResNet-18 context path with
# ARMs and global context, FFM (paper attention), main head + two auxiliary heads, OHEM CE
# (thresh 0.7, min kept = batch x crop^2 / 16) on all three outputs.
# what the zoo's tables and plots say about this model
arch_info = dict(title='BiSeNet V1, R18, spatial path', family='real-time',
                 paper='Yu et al., BiSeNet, ECCV 2018')
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size_divisor=32)
ohem = dict(type='OhemCrossEntropyLoss', thresh=0.7, min_kept_ratio=1 / 16, loss_weight=1.0)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='FaceBiSeNetV1',
        spatial_path=True,
        ffm_attention_channels=None,
        context_upsample='nearest',
        norm_cfg=norm_cfg,
        # ImageNet ResNet-18 (torchvision's, downloaded by mmengine on first use)
        context_init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18')),
    decode_head=dict(
        type='FaceFCNHead', in_channels=256, in_index=0, channels=256, num_convs=1,
        kernel_size=3, concat_input=False, dropout_ratio=0.0, num_classes=19,
        norm_cfg=norm_cfg, align_corners=False, loss_decode=ohem),
    auxiliary_head=[
        dict(type='FaceFCNHead', in_channels=128, in_index=1, channels=64, num_convs=1,
             kernel_size=3, concat_input=False, dropout_ratio=0.0, num_classes=19,
             norm_cfg=norm_cfg, align_corners=False, loss_decode=ohem),
        dict(type='FaceFCNHead', in_channels=128, in_index=2, channels=64, num_convs=1,
             kernel_size=3, concat_input=False, dropout_ratio=0.0, num_classes=19,
             norm_cfg=norm_cfg, align_corners=False, loss_decode=ohem),
    ],
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
