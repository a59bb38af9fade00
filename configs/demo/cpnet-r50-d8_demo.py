# CPNet (configs/cpnet-r50-d8_celebamask.py's head, auxiliary head and losses) on generated faces
# with the CPU schedule. Backbone: the zoo's demo ResNet-18-D8 (a dilated ResNet-50 does not fit
# the CPU budget), so the heads read 512 (C5) and 256 (C4) channels; the head's widths are scaled
# as PSPNet's demo (128). Prior grid 16 x 16: the 128 px crops and images give 16 x 16 features,
# so the grid is the feature size as in the authors' setting (crop / 8) and nothing is resized.
# The full config's 64 x 64 grid (a 4096 x 4096 prior per image) made a batch-8 training step
# about 9x as long on 2 cores; with 16 x 16 a step costs about what PSPNet's demo step does.
_base_ = [
    '../_base_/models/cpnet-r50-d8.py', '../_base_/datasets/celebamask_hq_demo.py',
    '../_base_/schedules/schedule_demo.py', '../_base_/default_runtime.py',
    '../_base_/models/demo-backbone-r18-d8.py'
]
model = dict(
    backbone={{_base_.demo_backbone_r18_d8}},
    decode_head=dict(in_channels=512, channels=128, prior_channels=128, prior_size=16),
    auxiliary_head=dict(in_channels=256, channels=64))
