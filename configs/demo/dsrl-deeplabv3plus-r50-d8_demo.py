# DSRL (configs/dsrl-deeplabv3plus-r50-d8_celebamask.py's segmentor, heads and losses) on
# generated faces with the CPU schedule. Backbone: the zoo's demo ResNet-18-D8 (a dilated
# ResNet-50 does not fit the CPU budget), so the heads read 512 (C5), 256 (C4) and 64 (C2)
# channels; the network sees 64 px of the 128 crop. Heads narrowed to a quarter: DeepLabV3+ 128
# channels (C2 decoder 12), auxiliary 64, SISR decoder 64 (C2 12, sub-pixel stages 32 / 16 / 8);
# the feature transform follows (128 -> 64).
_base_ = [
    '../_base_/models/dsrl-deeplabv3plus-r50-d8.py', '../_base_/datasets/celebamask_hq_demo.py',
    '../_base_/schedules/schedule_demo.py', '../_base_/default_runtime.py',
    '../_base_/models/demo-backbone-r18-d8.py'
]
model = dict(
    backbone={{_base_.demo_backbone_r18_d8}},
    decode_head=dict(in_channels=512, channels=128, c1_in_channels=64, c1_channels=12),
    auxiliary_head=dict(in_channels=256, channels=64),
    sisr_decoder=dict(in_channels=512, c1_in_channels=64, channels=64, c1_channels=12,
                      up_channels=(32, 16, 8)))
