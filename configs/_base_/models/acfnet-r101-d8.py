# ACFNet (Zhang et al., "ACFNet: Attentional Class Feature Network for Semantic Segmentation",
# ICCV 2019): the ACF head (ASPP with rates 1, 12, 24, 36 to 512 channels as the base network, a
# coarse classifier on it, the Attentional Class Feature module with its 512-channel reduction,
# concat with the ASPP features, 3x3 conv to 512, dropout 0.1, classifier) on a ResNet-101 with
# the deep stem (mmseg's ResNetV1c, so that open-mmlab's resnet101_v1c loads into every backbone
# weight) dilated to output stride 8, and an FCN auxiliary head on C4 weighted 0.4. The
# protocol's OHEM cross-entropy on every output (final, coarse, auxiliary); the coarse output
# keeps the protocol's weight 1.0 (its paper weight could not be checked, see ACFHead).
# align_corners=True as the ACFNet ports (the protocol does not fix it).
# No reference parameter count (no official code). Counted with 19 classes (the inference count
# is tests/data/zoo_params.json's): backbone 42,519,392; ASPP 31,725,568 (image pool 1,049,600,
# four rate branches 29,364,224, 1x1 projection 1,311,744); coarse classifier 9,747; ACF 526,336
# (two 1x1 conv-BN); fusion 3x3 conv 4,719,616; final classifier 9,747: 79,510,406 inference
# parameters; the auxiliary FCN head adds 2,364,691 (81,875,097 in all).
arch_info = dict(title='ACFNet, R101-D8', family='attention',
                 paper='Zhang et al., ACFNet, ICCV 2019')
# the auxiliary weight of the dilated-ResNet heads (PSPNet's 0.4, as the zoo's PSPNet and CPNet);
# the protocol weighs every output 1.0
protocol_departures = {
    'model.auxiliary_head.loss_decode.loss_weight':
        'ACFNet: auxiliary FCN loss on C4 weighted 0.4 (the dilated-ResNet / PSPNet convention)'}
norm_cfg = dict(type='SyncBN', requires_grad=True)
ohem = dict(type='OhemCrossEntropyLoss', thresh=0.7, min_kept_ratio=1 / 16, loss_weight=1.0)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size_divisor=8),
    backbone=dict(
        type='ResNetV1c', depth=101, num_stages=4, out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1), norm_cfg=norm_cfg, norm_eval=False,
        style='pytorch', contract_dilation=True,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnet101_v1c')),
    decode_head=dict(
        type='ACFHead', in_channels=2048, in_index=3, channels=512, dilations=(1, 12, 24, 36),
        acf_channels=512, aspp_fuse_kernel=1, fusion_kernel=3, dropout_ratio=0.1,
        num_classes=19, norm_cfg=norm_cfg, align_corners=True, loss_decode=ohem,
        loss_coarse=ohem),
    auxiliary_head=dict(
        type='FCNHead', in_channels=1024, in_index=2, channels=256, num_convs=1,
        concat_input=False, dropout_ratio=0.1, num_classes=19, norm_cfg=norm_cfg,
        align_corners=True, loss_decode=dict(ohem, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
