_base_ = ['../../configs/_base_/default_runtime.py']
custom_imports = dict(imports=['faceparse_mm', 'tests.toy'], allow_failed_imports=False)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(type='SegDataPreProcessor', mean=[128.0] * 3, std=[64.0] * 3,
                           bgr_to_rgb=False, size=(32, 32), pad_val=0, seg_pad_val=255),
    backbone=dict(type='ToyBackbone', channels=8),
    decode_head=dict(type='FCNHead', in_channels=8, channels=4, num_convs=1, num_classes=3,
                     in_index=0, concat_input=False, norm_cfg=dict(type='BN'),
                     loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0)),
    train_cfg=dict(), test_cfg=dict(mode='whole'))
train_dataloader = dict(batch_size=4, num_workers=0,
                        sampler=dict(type='InfiniteSampler', shuffle=True),
                        dataset=dict(type='ToySegDataset', num=16))
test_dataloader = dict(batch_size=2, num_workers=0,
                       sampler=dict(type='DefaultSampler', shuffle=False),
                       dataset=dict(type='ToySegDataset', num=4, seed=1))
test_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01, momentum=0.9))
param_scheduler = [dict(type='PolyLR', power=0.9, by_epoch=False, begin=0, end=6)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=4)
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=2, save_best=None, max_keep_ckpts=-1),
    visualization=dict(type='SegVisualizationHook'))
