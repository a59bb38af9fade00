# The protocol's dataset, TTA model and TTA pipeline (configs/_base_/datasets/celebamask_hq.py)
# around a toy segmentor that labels by position (tests.toy.RightHalfIsLeftEyeHead): l_eye on the
# right half of whatever it sees, r_eye on the left. tests/test_protocol.py runs tools/test.py on
# it, with and without --tta.
_base_ = ['../../configs/_base_/datasets/celebamask_hq.py',
          '../../configs/_base_/default_runtime.py']
custom_imports = dict(imports=['faceparse_mm', 'tests.toy'], allow_failed_imports=False)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(type='SegDataPreProcessor', mean=[128.0] * 3, std=[64.0] * 3,
                           bgr_to_rgb=True, pad_val=0, seg_pad_val=255),
    backbone=dict(type='IdentityBackbone'),
    decode_head=dict(type='RightHalfIsLeftEyeHead'),
    train_cfg=dict(), test_cfg=dict(mode='whole'))
test_dataloader = dict(num_workers=0, persistent_workers=False)
# test only: no training parts (mmengine refuses a dataloader without its loop and optimiser)
train_dataloader = None
val_dataloader = None
val_evaluator = None
test_cfg = dict(type='TestLoop')
