# ACFNet (configs/acfnet-r101-d8_celebamask.py's head, auxiliary head and losses) on generated
# faces with the CPU schedule. Backbone: the zoo's demo ResNet-18-D8 (a dilated ResNet-101 does
# not fit the CPU budget), so the heads read 512 (C5) and 256 (C4) channels; the head's widths
# are scaled as the other demo heads (ASPP and fusion 128, ACF reduction 128, auxiliary 64).
_base_ = [
    '../_base_/models/acfnet-r101-d8.py', '../_base_/datasets/celebamask_hq_demo.py',
    '../_base_/schedules/schedule_demo.py', '../_base_/default_runtime.py',
    '../_base_/models/demo-backbone-r18-d8.py'
]
model = dict(
    backbone={{_base_.demo_backbone_r18_d8}},
    decode_head=dict(in_channels=512, channels=128, acf_channels=128),
    auxiliary_head=dict(in_channels=256, channels=64))
