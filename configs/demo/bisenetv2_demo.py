# BiSeNet V2 (configs/bisenetv2_celebamask.py's model, boosters and losses, unchanged) on
# generated faces with the CPU schedule: a real-time network fits the CPU budget with its own
# backbone, which the paper trains from scratch anyway.
_base_ = [
    '../_base_/models/bisenetv2.py', '../_base_/datasets/celebamask_hq_demo.py',
    '../_base_/schedules/schedule_demo.py', '../_base_/default_runtime.py'
]
