# SPNet (configs/spnet-r50_celebamask.py's head, auxiliary head, losses and SPM placement) on
# generated faces with the CPU schedule. Backbone: the zoo's demo ResNet-18-D8 (a dilated ResNet-50
# does not fit the CPU budget), as PluginResNetV1c so that it keeps the SPMs: mmseg's BasicBlock
# takes no plug-ins, and the SPMs are half of the method. Same parameters otherwise (no multi-grid,
# as the shared demo backbone). The SPMs sit where the R50's do (last block of stages 1-3, every
# block of stage 4), between the block's two 3x3 convs (after the first one's BN + ReLU: the
# BasicBlock's counterpart of the bottleneck's place before its last conv). The heads read 512
# (C5) and 256 (C4) channels; the head keeps the paper's ratios (transform C5/2 = 256, MPM paths
# at 64, 3x3 to 128).
_base_ = [
    '../_base_/models/spnet-r50.py', '../_base_/datasets/celebamask_hq_demo.py',
    '../_base_/schedules/schedule_demo.py', '../_base_/default_runtime.py',
    '../_base_/models/demo-backbone-r18-d8.py'
]
spm = dict(type='StripPooling', norm_cfg=_base_.demo_backbone_r18_d8.norm_cfg)
model = dict(
    backbone=dict(
        _base_.demo_backbone_r18_d8, type='PluginResNetV1c', multi_grid=None,
        plugins=[
            dict(cfg=spm, stages=(True, True, True, False), blocks=(-1,), position='after_conv1'),
            dict(cfg=spm, stages=(False, False, False, True), position='after_conv1')]),
    decode_head=dict(in_channels=512, transform_channels=256, channels=128),
    auxiliary_head=dict(in_channels=256, channels=64))
