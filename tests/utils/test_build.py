import pytest
from mmengine.config import Config

from faceparse_mm.errors import UserError
from faceparse_mm.utils.build import iter_heads, offline_model_cfg
from faceparse_mm.utils.cli import check_num_classes

CASCADE = dict(
    type='CascadeEncoderDecoder',
    backbone=dict(type='ResNetV1c', norm_cfg=dict(type='SyncBN'),
                  init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnet50_v1c')),
    decode_head=[dict(type='FCNHead', num_classes=19, norm_cfg=dict(type='SyncBN')),
                 dict(type='OCRHead', num_classes=18)],
    auxiliary_head=dict(type='FCNHead', num_classes=19,
                        init_cfg=[dict(type='Normal', std=0.01),
                                  dict(type='Pretrained', checkpoint='x.pth')]))


def test_every_head_of_a_cascade_is_found_tta_wrapper_included():
    places = [p for p, _ in iter_heads(CASCADE)]
    assert places == ['model.decode_head.0', 'model.decode_head.1', 'model.auxiliary_head']
    wrapped = dict(type='FaceSegTTAModel', module=CASCADE)
    assert [p for p, _ in iter_heads(wrapped)][1] == 'model.module.decode_head.1'


def test_num_classes_of_the_second_cascade_head_is_checked():
    cfg = Config(dict(model=CASCADE, test_dataloader=dict(
        dataset=dict(type='CelebAMaskHQDataset'))))
    with pytest.raises(UserError, match=r'model.decode_head.1.num_classes=18 .* 19 classes'):
        check_num_classes(cfg)


def test_offline_removes_only_pretrained_initialisers_and_syncbn():
    cfg = offline_model_cfg(dict(CASCADE, pretrained='open-mmlab://x'))
    assert cfg['pretrained'] is None and cfg['backbone']['init_cfg'] is None
    assert cfg['auxiliary_head']['init_cfg'] == [dict(type='Normal', std=0.01)]
    assert cfg['backbone']['norm_cfg']['type'] == 'BN'
    assert cfg['decode_head'][0]['norm_cfg']['type'] == 'BN'
    assert CASCADE['backbone']['norm_cfg']['type'] == 'SyncBN'  # a copy: the input is untouched
