# OCRNet (Yuan, Chen and Wang, "Object-Contextual Representations for Semantic Segmentation",
# ECCV 2020) on HRNetV2-W18 (configs/_base_/models/fcn-hrnet-w18.py's backbone): a cascade of
# two heads on the concatenated branches (270 channels at 1/4), as mmseg's ocrnet_hr18. The first
# (an FCN head) predicts the soft object regions, supervised by the loss weighted 0.4 as in the
# paper; mmseg's OCRHead then gathers one 512-d region representation per class from the soft
# regions, lets each pixel attend over them with 256-d keys and queries, concatenates the object
# context with the pixel feature, 1x1 conv to 512, classifier. scale=1 in the OCR head (its
# region softmax): mmseg's query downsampling for scale > 1 is broken. Both heads run at
# inference (the second reads the first's regions): 12,080,036 inference parameters with 19
# classes, as mmseg's own ocrnet_hr18 Cityscapes config (tests/data/zoo_params.json). The
# protocol's OHEM cross-entropy on both heads.
_base_ = ['./fcn-hrnet-w18.py']
arch_info = dict(title='OCRNet, HRNetV2-W18', family='attention',
                 paper='Yuan et al., OCRNet, ECCV 2020')
# the paper's weight of the soft object region loss (the protocol weighs every output 1.0)
protocol_departures = {
    'model.decode_head.0.loss_decode.loss_weight': 'OCRNet paper: soft object region loss 0.4'}
norm_cfg = dict(type='SyncBN', requires_grad=True)
ohem = dict(type='OhemCrossEntropyLoss', thresh=0.7, min_kept_ratio=1 / 16, loss_weight=1.0)
hrnet_channels = (18, 36, 72, 144)
model = dict(
    type='CascadeEncoderDecoder',
    num_stages=2,
    decode_head=[
        dict(type='FCNHead', in_channels=list(hrnet_channels),
             in_index=(0, 1, 2, 3), channels=sum(hrnet_channels),
             input_transform='resize_concat', kernel_size=1, num_convs=1, concat_input=False,
             dropout_ratio=-1, num_classes=19, norm_cfg=norm_cfg, align_corners=False,
             loss_decode=dict(ohem, loss_weight=0.4)),
        dict(type='OCRHead', in_channels=list(hrnet_channels),
             in_index=(0, 1, 2, 3), input_transform='resize_concat', channels=512,
             ocr_channels=256, scale=1, dropout_ratio=-1, num_classes=19,
             norm_cfg=norm_cfg, align_corners=False, loss_decode=ohem),
    ])
