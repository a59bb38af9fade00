# SETR-PUP (Zheng et al., "Rethinking Semantic Segmentation from a Sequence-to-Sequence
# Perspective with Transformers", CVPR 2021): mmseg's VisionTransformer and SETRUPHead, as mmseg's
# SETR-PUP Cityscapes config (setr_vit-l_pup_8xb1-80k_cityscapes-768x768) with the encoder
# narrowed from ViT-L/16 to ViT-B/16 (12 layers, 768-d, 12 heads). A 512 x 512 face gives 32 x 32
# tokens of 16 x 16 pixels (plus the class token); the position embedding is learnt for 512 and
# interpolated (bilinear) for any other size, so the protocol's 448 crops (28 x 28 tokens) train
# and whole 512 images test. PUP: four stages of 3x3 conv + BN + ReLU and 2x bilinear upsampling
# from 1/16 to full size on the last layer's tokens; three auxiliary PUP heads (two convs, 4x
# upsampling) on layers 3, 6 and 9 (ViT-B's usual taps, where mmseg's ViT-L config reads 10, 15
# and 20 of 24), each weighted 0.4 as mmseg's SETR configs. The protocol's OHEM cross-entropy on
# every output; its schedule (mmseg's SETR configs train the heads at 10x the encoder's learning
# rate; the protocol keeps one rate for every architecture).
# ImageNet init: timm's ViT-B/16 (augreg, in21k fine-tuned on in1k, 224) converted with mmseg's
# tools/model_converters/vit2mmseg.py to pretrain/vit_base_patch16_224.pth, as mmseg's ViT-B
# configs; its 14 x 14 position embedding is resized to 32 x 32 when loaded.
# ViT-L/16 as in the paper: the options VIT_L16_768 of faceparse_mm/converters/rules/setr.py
# (--cfg-options model.backbone.embed_dims=1024 model.backbone.num_layers=24
# model.backbone.num_heads=16 'model.backbone.out_indices=(9,14,19,23)'
# model.decode_head.in_channels=1024 and model.auxiliary_head.N.in_channels=1024 for N = 0, 1, 2;
# a list in a child config would replace the auxiliary heads whole), with init_cfg pointing to a
# converted ViT-L/16 (mmseg's pretrain/vit_large_p16.pth); with 'model.backbone.img_size=(768,768)'
# too, mmseg's Cityscapes SETR-PUP checkpoint loads (tools/model_converters/setr.py).
# mmseg's Cityscapes config tests in sliding 768 x 768 windows: a face of 512 or less is one window,
# where sliding equals this config's whole-image test.
arch_info = dict(title='SETR-PUP, ViT-B/16', family='attention',
                 paper='Zheng et al., SETR, CVPR 2021')
# the auxiliary weight of mmseg's SETR configs (the protocol weighs every output 1.0)
protocol_departures = {
    'model.auxiliary_head.0.loss_decode.loss_weight': "mmseg's SETR-PUP: auxiliary weight 0.4",
    'model.auxiliary_head.1.loss_decode.loss_weight': "mmseg's SETR-PUP: auxiliary weight 0.4",
    'model.auxiliary_head.2.loss_decode.loss_weight': "mmseg's SETR-PUP: auxiliary weight 0.4"}
norm_cfg = dict(type='SyncBN', requires_grad=True)
ohem = dict(type='OhemCrossEntropyLoss', thresh=0.7, min_kept_ratio=1 / 16, loss_weight=1.0)
embed_dims = 768
aux_head = dict(
    type='SETRUPHead', in_channels=embed_dims, channels=256, num_classes=19, dropout_ratio=0,
    norm_cfg=norm_cfg, num_convs=2, up_scale=4, kernel_size=3, align_corners=False,
    loss_decode=dict(ohem, loss_weight=0.4))
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size_divisor=16),
    backbone=dict(
        type='VisionTransformer', img_size=(512, 512), patch_size=16, in_channels=3,
        embed_dims=embed_dims, num_layers=12, num_heads=12, out_indices=(2, 5, 8, 11),
        drop_rate=0., norm_cfg=dict(type='LN', eps=1e-6, requires_grad=True),
        with_cls_token=True, interpolate_mode='bilinear',
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/vit_base_patch16_224.pth')),
    decode_head=dict(
        type='SETRUPHead', in_channels=embed_dims, channels=256, in_index=3, num_classes=19,
        dropout_ratio=0, norm_cfg=norm_cfg, num_convs=4, up_scale=2, kernel_size=3,
        align_corners=False, loss_decode=ohem),
    auxiliary_head=[dict(aux_head, in_index=0), dict(aux_head, in_index=1),
                    dict(aux_head, in_index=2)],
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
