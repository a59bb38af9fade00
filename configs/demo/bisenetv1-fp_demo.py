# face-parsing.PyTorch's BiSeNet (configs/bisenetv1-fp_celebamask.py's model) on generated faces
# with the CPU schedule; no ImageNet weights (the demo dataset config sets offline = True).
_base_ = [
    '../_base_/models/bisenetv1-fp.py', '../_base_/datasets/celebamask_hq_demo.py',
    '../_base_/schedules/schedule_demo.py', '../_base_/default_runtime.py'
]
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=200),
                     visualization=dict(interval=1))  # with --show-dir: every test image
