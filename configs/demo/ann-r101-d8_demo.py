# ANN (configs/ann-r101-d8_celebamask.py's head, auxiliary head and losses) on generated faces
# with the CPU schedule. Backbone: the zoo's demo ResNet-18-D8 (a dilated ResNet-101 does not fit
# the CPU budget; it replaces the 128-channel deep stem too), so the heads read 256 (C4) and 512
# (C5) channels; the head keeps the paper's ratios at a quarter of the width (AFNB out 512 = C5,
# channels 128, key / value 64) and its 110 anchors (scales 1, 3, 6, 8); the auxiliary head reads
# C4 (256) at 64 channels.
_base_ = [
    '../_base_/models/ann-r101-d8.py', '../_base_/datasets/celebamask_hq_demo.py',
    '../_base_/schedules/schedule_demo.py', '../_base_/default_runtime.py',
    '../_base_/models/demo-backbone-r18-d8.py'
]
model = dict(
    backbone={{_base_.demo_backbone_r18_d8}},
    decode_head=dict(in_channels=(256, 512), fusion_channels=512, channels=128, key_channels=64,
                     value_channels=64),
    auxiliary_head=dict(in_channels=256, channels=64))
