# RegSeg (configs/regseg_celebamask.py's model and loss, unchanged) on generated faces with the
# CPU schedule. Backbone: RegSeg's own exp48 body (3.3M parameters, real-time: it fits the CPU
# budget), from scratch with PyTorch's default initialisation, as the paper trains it.
_base_ = [
    '../_base_/models/regseg.py', '../_base_/datasets/celebamask_hq_demo.py',
    '../_base_/schedules/schedule_demo.py', '../_base_/default_runtime.py'
]
