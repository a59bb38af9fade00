# LaPa (11 classes) under the CelebAMask-HQ protocol: the release read as it is
# (data/LaPa/{train,val,test}/{images,labels}; val for model selection, test for reporting),
# images and labels resized to the fixed label size 512x512 for training, then the same crop
# 448, random scale 0.75-2.0, colour jitter, flip with left/right swap and FaceParsingMetric
# (mF1 over the 10 foreground classes). Val/test: the image is resized to 512x512 for the network
# and the label kept at the original size; the prediction is resized back to it, so the metric
# is computed at each image's original size, as published LaPa numbers are (LaPaDataset's
# docstring). Every architecture runs on it through tools/run_zoo.py --dataset lapa (or
# tools/derive_config.py), which swaps this file in for celebamask_hq.py and sets every head to
# 11 classes.
dataset_type = 'LaPaDataset'
data_root = 'data/LaPa'
# the dataset column of the results files
dataset_label = 'lapa'
label_size = (512, 512)
crop_size = (448, 448)
# LaPaDataset.METAINFO['flip_pairs'] (brows, eyes): swapped by the training flip and by flip TTA
flip_pairs = [(2, 3), (4, 5)]
num_classes = 11
train_pipeline = [
    dict(type='LoadFaceAnnotations', num_classes=num_classes),
    dict(type='LoadImageAtLabelSize'),
    dict(type='Resize', scale=label_size, keep_ratio=False),
    dict(type='RandomResize', scale=label_size, ratio_range=(0.75, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='FaceRandomFlip', prob=0.5, swap_seg_labels=flip_pairs),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadFaceAnnotations', num_classes=num_classes),
    dict(type='LoadImageAtLabelSize'),
    dict(type='ResizeImageOnly', scale=label_size),
    dict(type='PackSegInputs'),
]
# flip TTA: FaceSegTTAModel flips the logits back and swaps the left/right channels
tta_pipeline = [
    dict(type='LoadFaceAnnotations', num_classes=num_classes),
    dict(type='LoadImageAtLabelSize'),
    dict(type='ResizeImageOnly', scale=label_size),
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
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='val', pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='test', pipeline=test_pipeline))
val_evaluator = dict(type='FaceParsingMetric')
test_evaluator = val_evaluator
tta_model = dict(type='FaceSegTTAModel', flip_pairs=flip_pairs)
