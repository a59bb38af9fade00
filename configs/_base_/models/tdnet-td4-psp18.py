# TDNet TD4-PSP18 (Hu et al., "Temporally Distributed Networks for Fast Video Semantic
# Segmentation", CVPR 2020): four PSPNet-ResNet-18 sub-networks, one per frame in turn, each
# computing a 512-channel slice of a PSPNet feature (two slices: sub-networks 0 and 2, 1 and 3);
# attention propagation with 64-d keys over the previous three frames subsampled by 4; the
# authors' layer norm of each channel's map; one FCN head per sub-network (3x3 conv 512 -> 128,
# classifier). Backbones: the authors' ResNet-18 (7x7 stem) dilated to output stride 8: conv1 of
# the blocks of stages 3 / 4 dilated by (1, 2) / (4, 8), conv2 by 2 / 4 (Conv2DilatedResNet;
# conv2_dilations=None leaves conv2 undilated as mmseg's ResNet), ImageNet weights in each;
# bilinear resizes with align_corners=True as the authors. Training (the authors' td4_psp): four
# consecutive frames per sample, labelled on the last; OHEM CE on the output, 0.5 x on the output
# without propagation, an FCN auxiliary head on stage 3 of the sub-network that ran (0.1); no
# distillation (faceparse_mm/models/segmentors/tdnet.py).
# 52,777,556 inference parameters with 19 classes (the authors' td4_psp18: 52,778,068; -512:
# the biases of the first query/key convs, which the BatchNorm after each cancels).
arch_info = dict(title='TDNet, TD4-PSP18', family='video',
                 paper='Hu et al., TDNet, CVPR 2020')
# the authors' auxiliary loss weight (the protocol weighs every output 1.0)
protocol_departures = {
    'model.auxiliary_head.loss_decode.loss_weight': "TDNet (authors' td4_psp): auxiliary loss "
                                                    'weight 0.1'}
norm_cfg = dict(type='SyncBN', requires_grad=True)
ohem = dict(type='OhemCrossEntropyLoss', thresh=0.7, min_kept_ratio=1 / 16, loss_weight=1.0)
# one sub-network's backbone (each of the four is built from it, with its own weights)
tdnet_backbone = dict(
    type='Conv2DilatedResNet', depth=18, num_stages=4, out_indices=(0, 1, 2, 3),
    dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1), multi_grid=(4, 8), contract_dilation=True,
    conv2_dilations=(1, 1, 2, 4), norm_cfg=norm_cfg, norm_eval=False, style='pytorch',
    init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18'))
model = dict(
    type='TDNet',
    data_preprocessor=dict(
        type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size_divisor=8),
    backbone=tdnet_backbone,
    num_paths=4, in_channels=512, in_index=3, pool_scales=(1, 2, 3, 6), key_channels=64,
    memory_stride=4, attn_drop=0.1, proj_drop=0.1, norm_cfg=norm_cfg, align_corners=True,
    # the authors' norm (nn.LayerNorm([97, 193]): one affine weight per position of their
    # 769 x 1537 crops' feature), its affine maps resized at other sizes, as the faces' 448 / 512
    # px; output_norm='channel' is a size-free norm over the channels instead
    output_norm='spatial', norm_size=(97, 193),
    sub_loss_weight=0.5,
    decode_head=dict(
        type='FCNHead', in_channels=512, channels=128, num_convs=1, concat_input=False,
        dropout_ratio=0.1, num_classes=19, norm_cfg=norm_cfg, align_corners=True,
        loss_decode=ohem),
    auxiliary_head=dict(
        type='FCNHead', in_channels=256, in_index=2, channels=64, num_convs=1,
        concat_input=False, dropout_ratio=0.1, num_classes=19, norm_cfg=norm_cfg,
        align_corners=True, loss_decode=dict(ohem, loss_weight=0.1)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
