# BiSeNet V1 (configs/bisenetv1_celebamask.py's model) on generated faces with a CPU schedule;
# no ImageNet weights (the demo dataset config sets offline = True). `make demo` runs it.
_base_ = [
    '../_base_/models/bisenetv1.py', '../_base_/datasets/celebamask_hq_demo.py',
    '../_base_/schedules/schedule_demo.py', '../_base_/default_runtime.py'
]
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=200),
                     visualization=dict(interval=1))  # with --show-dir: every test image
