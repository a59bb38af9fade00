# A CPU schedule for the demo dataset: training from scratch (no ImageNet weights can be
# downloaded) in minutes on 2 cores. AdamW converges much faster there than the protocol's SGD;
# linear warmup then poly 0.9 as in the protocol; validation at the end. The learning rate,
# batch and iteration count were chosen by the runs in results/demo_schedule_sweep.csv.
optimizer = dict(type='AdamW', lr=2e-3, weight_decay=0.01)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
max_iters = 1200
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='PolyLR', eta_min=0.0, power=0.9, by_epoch=False, begin=50, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
