_base_ = [
    './_base_/models/dynamic-routing-l16.py', './_base_/datasets/celebamask_hq.py',
    './_base_/schedules/schedule_80k.py', './_base_/default_runtime.py'
]
