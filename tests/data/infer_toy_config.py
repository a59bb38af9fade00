# A tiny 19-class face parser for the inference tests (tests/apis, tests/tools/test_infer.py,
# tests/tools/test_export_onnx.py): a one-conv backbone and an FCN head under the demo dataset's
# protocol (class table, flip pairs, tta_model, tta_pipeline), evaluated at 64x64 (the test
# dataset's synthetic mask_size, which FaceParser reads as the model's input size).
_base_ = ['../../configs/_base_/datasets/celebamask_hq_demo.py',
          '../../configs/_base_/default_runtime.py']
custom_imports = dict(imports=['faceparse_mm', 'tests.toy'], allow_failed_imports=False)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0,
                           seg_pad_val=255),
    backbone=dict(type='ToyBackbone', channels=8),
    decode_head=dict(type='FCNHead', in_channels=8, channels=8, num_convs=1, num_classes=19,
                     in_index=0, concat_input=False, norm_cfg=norm_cfg,
                     loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0)),
    train_cfg=dict(), test_cfg=dict(mode='whole'))
test_dataloader = dict(dataset=dict(synthetic=dict(mask_size=64)))
