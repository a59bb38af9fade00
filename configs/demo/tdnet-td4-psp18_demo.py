# TDNet TD4-PSP18 (configs/tdnet-td4-psp18_facevideo.py's model, unchanged: the paper's four
# ResNet-18-D8 sub-networks, 7x7 stem, fit the CPU budget) on generated face clips with the CPU
# schedule, without ImageNet weights. A batch is 2 samples of 4 frames (8 frames per step, as the
# other demos' 8 images), labelled on their last frame.
_base_ = [
    '../_base_/models/tdnet-td4-psp18.py', '../_base_/datasets/face_clips_demo.py',
    '../_base_/schedules/schedule_demo.py', '../_base_/default_runtime.py'
]
train_dataloader = dict(batch_size=2, dataset=dict(num_frames=4, max_gap=2))
protocol_departures = {{_base_.clip_departures}}
