# Runtime shared by every config: scope, logging, checkpoints, visualisation, environment.
default_scope = 'faceparse_mm'
custom_imports = dict(imports=['faceparse_mm'], allow_failed_imports=False)

env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py switches nccl to gloo when a distributed launch finds no GPU
    dist_cfg=dict(backend='nccl'))

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # keeps the best checkpoint on val mF1 and the last one; written atomically (resume after kill)
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=8000, max_keep_ckpts=1,
                    save_last=True, save_best='mF1', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))

# stop at the first NaN/inf loss, naming the iteration, before a broken checkpoint is saved
custom_hooks = [dict(type='NonFiniteLossHook')]

vis_backends = [dict(type='LocalVisBackend')]
# for TensorBoard add: dict(type='TensorboardVisBackend') (needs `pip install tensorboard`)
visualizer = dict(type='FaceSegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
