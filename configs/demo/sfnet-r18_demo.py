# SFNet-R18 (configs/sfnet-r18_celebamask.py's model, deep-supervision heads and losses,
# unchanged) on generated faces with the CPU schedule. Backbone: the model's own deep-stem
# ResNet-18 (output stride 32; conv2 of stages 3 / 4 dilated by 2 / 4 as the authors', strides
# unchanged): a real-time network fits the CPU budget with it, so it is not swapped for the zoo's
# demo ResNet-18-D8; no ImageNet weights (offline demo).
_base_ = [
    '../_base_/models/sfnet-r18.py', '../_base_/datasets/celebamask_hq_demo.py',
    '../_base_/schedules/schedule_demo.py', '../_base_/default_runtime.py'
]
