# PSA_s + OCRNet on HRNetV2-W18 (configs/psa-ocrnet-hrnet-w18_celebamask.py's model and losses,
# unchanged) on generated faces with the CPU schedule. Backbone: the paper's own HRNet-W18 with
# its 104 PSA_s modules (it fits the CPU budget), without ImageNet weights (offline demo).
_base_ = [
    '../_base_/models/psa-ocrnet-hrnet-w18.py', '../_base_/datasets/celebamask_hq_demo.py',
    '../_base_/schedules/schedule_demo.py', '../_base_/default_runtime.py'
]
