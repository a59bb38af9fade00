# SR-Net (configs/srnet-r50-d8_celebamask.py's head, auxiliary head and losses) on generated faces
# with the CPU schedule. Backbone: the zoo's demo ResNet-18-D8 (a dilated ResNet-50 does not fit
# the CPU budget; it replaces the 128-channel deep stem too), so the heads read 512 (C5) and 256
# (C4) channels; the head keeps the paper's ratios at a quarter of the width (channels 128,
# reasoning width 64 = channels / 2) and its 32 graph nodes (2 features each).
_base_ = [
    '../_base_/models/srnet-r50-d8.py', '../_base_/datasets/celebamask_hq_demo.py',
    '../_base_/schedules/schedule_demo.py', '../_base_/default_runtime.py',
    '../_base_/models/demo-backbone-r18-d8.py'
]
model = dict(
    backbone={{_base_.demo_backbone_r18_d8}},
    decode_head=dict(in_channels=512, channels=128, reason_channels=64),
    auxiliary_head=dict(in_channels=256, channels=64))
