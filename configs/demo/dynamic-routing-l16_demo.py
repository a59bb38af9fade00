# Dynamic Routing L16 (configs/dynamic-routing-l16_celebamask.py's model, budget loss and loss,
# unchanged) on generated faces with the CPU schedule, from scratch as the paper. Backbone: the
# authors' own Layer16 routing space at full width (17.8M parameters, 0.92 GMACs of convolutions
# per 128 px image with nothing skipped): a batch-8 training step takes 1.14 s of one core
# against RegSeg's 0.29 s (whose demo trains in 3 min), so an estimated 13-15 min on 2 cores,
# within the demo budget.
_base_ = [
    '../_base_/models/dynamic-routing-l16.py', '../_base_/datasets/celebamask_hq_demo.py',
    '../_base_/schedules/schedule_demo.py', '../_base_/default_runtime.py'
]
