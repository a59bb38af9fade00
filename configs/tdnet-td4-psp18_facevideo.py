_base_ = [
    './_base_/models/tdnet-td4-psp18.py', './_base_/datasets/face_clips.py',
    './_base_/schedules/schedule_80k.py', './_base_/default_runtime.py'
]
# TDNet trains on the frames of its four sub-networks, 1-2 frames apart (the authors' training)
train_dataloader = dict(dataset=dict(num_frames=4, max_gap=2))
protocol_departures = {{_base_.clip_departures}}
