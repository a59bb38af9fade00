# HRNetV2-W18 with its FCN head (configs/fcn-hrnet-w18_celebamask.py's model and loss, unchanged)
# on generated faces with the CPU schedule. Backbone: the paper's own HRNet-W18 (9.6M parameters,
# about 1.2 GMACs at 128x128: it fits the CPU budget), without ImageNet weights (offline demo).
_base_ = [
    '../_base_/models/fcn-hrnet-w18.py', '../_base_/datasets/celebamask_hq_demo.py',
    '../_base_/schedules/schedule_demo.py', '../_base_/default_runtime.py'
]
