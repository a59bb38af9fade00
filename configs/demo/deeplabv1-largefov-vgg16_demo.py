# DeepLab v1 LargeFOV (configs/deeplabv1-largefov-vgg16_celebamask.py's head and loss) on generated
# faces with the CPU schedule. Backbone: the zoo's demo ResNet-18-D8 (the dilated VGG-16 costs
# about twice its MACs at 128 px and does not fit the CPU budget); the head reads its C5
# (512 channels, the same as VGG's conv5) at output stride 8, so fc6 keeps dilation 12; fc6/fc7
# thinned to 256 channels (the paper's 1024 / 4, as the other demo heads), no ImageNet init.
_base_ = [
    '../_base_/models/deeplabv1-largefov-vgg16.py', '../_base_/datasets/celebamask_hq_demo.py',
    '../_base_/schedules/schedule_demo.py', '../_base_/default_runtime.py',
    '../_base_/models/demo-backbone-r18-d8.py'
]
model = dict(
    backbone={{_base_.demo_backbone_r18_d8}},
    decode_head=dict(in_channels=512, in_index=3, channels=256, fc_pretrained=None))
