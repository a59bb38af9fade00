# TDNet TD4-PSP18 (configs/tdnet-td4-psp18_facevideo.py's model, unchanged: the paper's four
# ResNet-18-D8 sub-networks, 7x7 stem, fit the CPU budget) on generated face clips with the CPU
# schedule, without ImageNet weights. A batch is 2 samples of 4 frames (8 frames per step, as the
# other demos' 8 images), labelled on their last frame: 2 labelled frames per step against their
# 8. So the schedule runs 4x the iterations (the poly decay stretched to match), and TDNet sees
# as many labelled frames as a per-frame demo, as in the full config (16 samples of 4 frames
# against 16 images).
_base_ = [
    '../_base_/models/tdnet-td4-psp18.py', '../_base_/datasets/face_clips_demo.py',
    '../_base_/schedules/schedule_demo.py', '../_base_/default_runtime.py'
]
train_dataloader = dict(batch_size=2, dataset=dict(num_frames=4, max_gap=2))
max_iters = 4800  # 4 x schedule_demo.py's 1200
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='PolyLR', eta_min=0.0, power=0.9, by_epoch=False, begin=50, end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
protocol_departures = {{_base_.clip_departures}}
