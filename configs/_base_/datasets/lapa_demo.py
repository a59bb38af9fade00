# The LaPa pipeline on generated synthetic faces in LaPa's layout, sized for a CPU like
# celebamask_hq_demo.py: each image its own size (the longer side 96-192 px, the other 80-100% of
# it), a label size of 128 for training (crop 128, random scale 0.75-2.0, flip with swap, colour
# jitter), the network at 128 for val/test and the metric at each image's original size. The
# faces are generated on first use (train/val/test in LaPa's proportions: 820 / 90 / 90 of 1,000).
_base_ = ['./lapa.py']
# every model builds without pretrained weights (nothing is downloaded; tools/train.py and
# faceparse_mm.utils.build.build_segmentor remove every Pretrained initialiser)
offline = True
dataset_label = 'synthetic-lapa (demo)'
data_root = 'data/synthetic-lapa'
synthetic = dict(num=1000, min_size=96, max_size=192, seed=0, nproc=2)
label_size = (128, 128)
crop_size = (128, 128)
train_pipeline = [
    dict(type='LoadFaceAnnotations', num_classes={{_base_.num_classes}}),
    dict(type='LoadImageAtLabelSize'),
    dict(type='Resize', scale=label_size, keep_ratio=False),
    dict(type='RandomResize', scale=label_size, ratio_range=(0.75, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='FaceRandomFlip', prob=0.5, swap_seg_labels={{_base_.flip_pairs}}),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadFaceAnnotations', num_classes={{_base_.num_classes}}),
    dict(type='LoadImageAtLabelSize'),
    dict(type='ResizeImageOnly', scale=label_size),
    dict(type='PackSegInputs'),
]
tta_pipeline = [
    dict(type='LoadFaceAnnotations', num_classes={{_base_.num_classes}}),
    dict(type='LoadImageAtLabelSize'),
    dict(type='ResizeImageOnly', scale=label_size),
    dict(type='TestTimeAug', transforms=[
        [dict(type='FaceRandomFlip', prob=0.0, swap_seg_labels={{_base_.flip_pairs}}),
         dict(type='FaceRandomFlip', prob=1.0, swap_seg_labels={{_base_.flip_pairs}})],
        [dict(type='PackSegInputs')],
    ]),
]
train_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True,
    dataset=dict(data_root=data_root, synthetic=synthetic, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=2,
    dataset=dict(data_root=data_root, synthetic=synthetic, pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=8, num_workers=2,
    dataset=dict(data_root=data_root, synthetic=synthetic, pipeline=test_pipeline))
