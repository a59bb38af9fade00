# DeepLab v1, LargeFOV (Chen et al., "Semantic Image Segmentation with Deep Convolutional Nets and
# Fully Connected CRFs", ICLR 2015): VGG-16 with pool4/pool5 at stride 1 and conv5 dilated by 2
# (output stride 8), then fc6 (3x3, dilation 12, 1024), fc7 (1x1, 1024), dropout 0.5 after each,
# fc8 classifier; logits upsampled bilinearly to the image. No auxiliary head, no normalisation
# layers. 20,503,379 parameters with 19 classes (the paper's layer list, asserted by
# tests/models/test_deeplabv1.py). ImageNet init: the 13 convs load torchvision's VGG-16, fc6/fc7
# are decimated from its fc layers (the paper's recipe). The paper's dense CRF is optional
# post-processing and never part of the protocol numbers.
arch_info = dict(title='DeepLab v1 LargeFOV, VGG-16', family='context',
                 paper='Chen et al., DeepLab v1, ICLR 2015')
ohem = dict(type='OhemCrossEntropyLoss', thresh=0.7, min_kept_ratio=1 / 16, loss_weight=1.0)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size_divisor=8),
    backbone=dict(
        type='DeepLabVGG16', out_indices=(4, ), conv5_dilation=2, pool_kernel=3,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://vgg16')),
    decode_head=dict(
        type='LargeFOVHead', in_channels=512, in_index=0, channels=1024, kernel_size=3,
        dilation=12, dropout_ratio=0.5, num_classes=19, norm_cfg=None, align_corners=False,
        fc_pretrained='torchvision://vgg16', loss_decode=ohem),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
