# face-parsing.PyTorch's BiSeNet exactly (its 79999_iter.pth loads with strict=True after
# tools/model_converters/face_parsing_pytorch.py): no spatial path (ResNet-18 C3 instead),
# FFM attention bottleneck 256->64->256 without BN, output convs without bias,
# align_corners=True upsampling of the logits. 13,300,416 parameters with 19 classes.
_base_ = ['./bisenetv1.py']
arch_info = dict(title="BiSeNet V1, R18, face-parsing.PyTorch's (no spatial path)")
model = dict(
    backbone=dict(spatial_path=False, ffm_attention_channels=64),
    decode_head=dict(conv_seg_bias=False, align_corners=True),
    auxiliary_head=[
        dict(type='FaceFCNHead', in_channels=128, in_index=1, channels=64, num_convs=1,
             kernel_size=3, concat_input=False, dropout_ratio=0.0, num_classes=19,
             norm_cfg={{_base_.norm_cfg}}, align_corners=True, conv_seg_bias=False,
             loss_decode={{_base_.ohem}}),
        dict(type='FaceFCNHead', in_channels=128, in_index=2, channels=64, num_convs=1,
             kernel_size=3, concat_input=False, dropout_ratio=0.0, num_classes=19,
             norm_cfg={{_base_.norm_cfg}}, align_corners=True, conv_seg_bias=False,
             loss_decode={{_base_.ohem}}),
    ])
