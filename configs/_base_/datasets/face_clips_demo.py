# Face clips for the demo: generated on first use (60 clips of 32 frames, images 256, labels 128,
# split by clip 48 / 6 / 6), the demo's CPU-sized pipeline (crop 128), FaceClipMetric. Test and
# validation keep the clips' order (sequential sampler; a batch is consecutive frames).
_base_ = ['./celebamask_hq_demo.py']
dataset_type = 'FaceClipDataset'
dataset_label = 'synthetic-face-clips (demo)'  # the results' dataset column
derivable = False
data_root = 'data/synthetic-face-clips'
synthetic = dict(_delete_=True, num_clips=60, num_frames=32, image_size=256, mask_size=128,
                 seed=0, nproc=2)
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root,
                                     ann_file='clip_splits/train.txt', synthetic=synthetic))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root,
                                   ann_file='clip_splits/val.txt', test_mode=True,
                                   synthetic=synthetic))
test_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root,
                                    ann_file='clip_splits/test.txt', test_mode=True,
                                    synthetic=synthetic))
val_evaluator = dict(type='FaceClipMetric')
test_evaluator = val_evaluator
# the model side of the protocol is all a demo config declares (as face_clips.py's)
_metric = 'clips: FaceClipMetric, FaceParsingMetric per frame plus flicker'
clip_departures = {'val_evaluator.type': _metric, 'test_evaluator.type': _metric}
