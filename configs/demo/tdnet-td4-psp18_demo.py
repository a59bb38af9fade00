# TDNet TD4-PSP18 (configs/tdnet-td4-psp18_facevideo.py's model, unchanged: the paper's four
# ResNet-18-D8 sub-networks, 7x7 stem) on generated face clips, without ImageNet weights, on the
# video comparison's CPU budget. A step is 8 samples of 4 frames labelled on their last frame: 8
# labelled frames per step, as the per-frame demos' 8 images, with 4 frame passes each.
# tools/analysis/video_compare.py trains the per-frame models on this config's schedule, so
# every row sees the same 4,800 labelled frames in the same steps, as in the full config (16
# samples of 4 frames against 16 images, schedule_80k for all). 600 iterations, half the image
# demo's 1,200: a step took 7.4-8.3 s on 2 CPU threads (1,200 would take about 2.6 h).
_base_ = [
    '../_base_/models/tdnet-td4-psp18.py', '../_base_/datasets/face_clips_demo.py',
    '../_base_/schedules/schedule_demo.py', '../_base_/default_runtime.py'
]
train_dataloader = dict(batch_size=8, dataset=dict(num_frames=4, max_gap=2))
max_iters = 600
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='PolyLR', eta_min=0.0, power=0.9, by_epoch=False, begin=50, end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
protocol_departures = {{_base_.clip_departures}}
