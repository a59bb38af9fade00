# face-parsing.PyTorch's BiSeNet (configs/bisenetv1-fp_celebamask.py's model) on generated faces
# with the CPU schedule; no ImageNet weights.
_base_ = [
    '../_base_/models/bisenetv1_fp.py', '../_base_/datasets/celebamask_hq_demo.py',
    '../_base_/schedules/schedule_demo.py', '../_base_/default_runtime.py'
]
model = dict(backbone=dict(context_init_cfg=None))
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=200),
                     visualization=dict(interval=1))  # with --show-dir: every test image
