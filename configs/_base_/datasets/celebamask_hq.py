# The protocol: CelebAMask-HQ at label size 512 (images resized to the labels), official split
# (val for model selection, test for reporting), crop 448, random scale 0.75-2.0, colour jitter,
# flip with left/right swap, FaceParsingMetric. Batch 16 on one GPU: on N GPUs use
# batch_size=16 // N. docs/protocol.md lists every value; tests/test_protocol.py pins them.
dataset_type = 'CelebAMaskHQDataset'
data_root = 'data/CelebAMask-HQ'
crop_size = (448, 448)
# CelebAMaskHQDataset.METAINFO['flip_pairs'] (brows, eyes, ears): swapped by the training flip and
# by flip TTA
flip_pairs = [(2, 3), (4, 5), (7, 8)]
train_pipeline = [
    dict(type='LoadFaceAnnotations'),
    dict(type='LoadImageAtLabelSize'),
    dict(type='RandomResize', scale=(512, 512), ratio_range=(0.75, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='FaceRandomFlip', prob=0.5, swap_seg_labels=flip_pairs),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadFaceAnnotations'),
    dict(type='LoadImageAtLabelSize'),
    dict(type='PackSegInputs'),
]
# flip TTA: FaceSegTTAModel flips the logits back and swaps the left/right channels
tta_pipeline = [
    dict(type='LoadFaceAnnotations'),
    dict(type='LoadImageAtLabelSize'),
    dict(type='TestTimeAug', transforms=[
        [dict(type='FaceRandomFlip', prob=0.0, swap_seg_labels=flip_pairs),
         dict(type='FaceRandomFlip', prob=1.0, swap_seg_labels=flip_pairs)],
        [dict(type='PackSegInputs')],
    ]),
]
train_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='splits/train.txt',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='splits/val.txt',
                 pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='splits/test.txt',
                 pipeline=test_pipeline))
val_evaluator = dict(type='FaceParsingMetric')
test_evaluator = val_evaluator
tta_model = dict(type='FaceSegTTAModel', flip_pairs=flip_pairs)
