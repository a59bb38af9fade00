# Face clips (FaceClipDataset: clips/{clip}/{frame}.jpg, clip_masks/{clip}/{frame}.png,
# clip_splits/{train,val,test}.txt), under the protocol's pipelines (labels' size, crop 448,
# scale 0.75-2.0, colour jitter, flip with left/right swap: the same random decisions for every
# frame of a training sample) and FaceClipMetric (FaceParsingMetric's numbers per frame plus
# flicker). Testing runs whole clips in order (batch 1, sequential sampler, one process). The
# clips are the user's (real video frames extracted into the layout, see the README) or
# generated: python tools/make_synthetic_celebamask.py data/face-clips --clips 400 --frames 32
# --image-size 1024 --mask-size 512
_base_ = ['./celebamask_hq.py']
dataset_type = 'FaceClipDataset'
# the results' dataset column; and image configs are not moved onto clips (run_zoo --dataset)
dataset_label = 'face-clips'
derivable = False
data_root = 'data/face-clips'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root,
                                     ann_file='clip_splits/train.txt'))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root,
                                   ann_file='clip_splits/val.txt', test_mode=True))
test_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root,
                                    ann_file='clip_splits/test.txt', test_mode=True))
val_evaluator = dict(type='FaceClipMetric')
test_evaluator = val_evaluator
# how a config on face clips departs from the image protocol; a config sets
# protocol_departures = {{_base_.clip_departures}}
_metric = 'clips: FaceClipMetric, FaceParsingMetric per frame plus flicker'
_data = 'video: face clips (FaceClipDataset) instead of CelebAMask-HQ images'
clip_departures = {
    'val_evaluator.type': _metric, 'test_evaluator.type': _metric,
    'train_dataloader.dataset.type': _data, 'val_dataloader.dataset.type': _data,
    'test_dataloader.dataset.type': _data,
    'train_dataloader.dataset.data_root': _data, 'val_dataloader.dataset.data_root': _data,
    'test_dataloader.dataset.data_root': _data,
    'train_dataloader.dataset.ann_file': 'video: split files of clip names',
    'val_dataloader.dataset.ann_file': 'video: split files of clip names',
    'test_dataloader.dataset.ann_file': 'video: split files of clip names'}
