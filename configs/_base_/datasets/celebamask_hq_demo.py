# The protocol's pipeline on generated synthetic faces, sized for a CPU: labels 128 (images 256,
# the release's 2:1 ratio), crop 128 (the whole face at scale 1; the 32-pixel padding of a
# smaller crop would cost as much), random scale 0.75-2.0, flip with
# swap, colour jitter. The faces are generated and converted on first use (official split).
_base_ = ['./celebamask_hq.py']
# every model builds without pretrained weights (nothing is downloaded; tools/train.py and
# faceparse_mm.utils.build.build_segmentor remove every Pretrained initialiser)
offline = True
data_root = 'data/synthetic-celebamask'
synthetic = dict(num=1000, image_size=256, mask_size=128, seed=0, nproc=2)
crop_size = (128, 128)
train_pipeline = [
    dict(type='LoadFaceAnnotations'),
    dict(type='LoadImageAtLabelSize'),
    dict(type='RandomResize', scale=(128, 128), ratio_range=(0.75, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='FaceRandomFlip', prob=0.5, swap_seg_labels={{_base_.flip_pairs}}),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True,
    dataset=dict(data_root=data_root, synthetic=synthetic, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=2,
    dataset=dict(data_root=data_root, synthetic=synthetic))
test_dataloader = dict(
    batch_size=8, num_workers=2,
    dataset=dict(data_root=data_root, synthetic=synthetic))
