"""ANN (MendelXu/ANN, ``models.seg.nets.annn.asymmetric_non_local_network`` with
``hypes/seg/cityscapes/fs_annn_cityscapes_seg.json``: backbone ``deepbase_resnet101_dilated8``;
the released Cityscapes checkpoint ``fs_annn_cityscapes_segohem_latest.pth``, a torchcv
``{'state_dict': DataParallel state dict, ...}``) for ``configs/ann-r101-d8_celebamask.py``.

``backbone.prefix`` (the 64-64-128 deep stem: ``conv1``/``bn1``/``conv2``/``bn2``/``conv3``/``bn3``)
-> ``backbone.stem.0/1/3/4/6/7``, ``backbone.layer1..4`` -> the same names. ``fusion`` (AFNB):
``stages.0.f_query`` / ``f_key`` (1x1 conv + BN[ReLU]) -> ``fusion.query`` / ``key``, ``f_value``
-> ``value``, ``W`` -> ``out_proj``, ``conv_bn_dropout`` -> ``fusion.fusion``. ``context.0`` /
``context.1`` (3x3 conv, BN) -> ``bottleneck``; ``context.2`` (APNB) -> ``context``, whose
``f_query`` is its ``f_key`` module (the checkpoint holds it under both names: ``f_key`` is
checked to be the same tensor and used up). ``cls`` -> ``conv_seg``; ``dsn`` -> ``auxiliary_head``.
The biases of the convs that a BN follows fold into that BN's running mean.
"""
from mmseg.datasets import CityscapesDataset

from ..core import ConversionRules, register

_CITYSCAPES = CityscapesDataset.METAINFO
_STEM = dict(conv1=0, bn1=1, conv2=3, bn2=4, conv3=6, bn3=7)
_AFNB, _APNB = r'fusion\.stages\.0', r'context\.2\.stages\.0'

RULES = register(ConversionRules(
    name='ann',
    source_repo='https://github.com/MendelXu/ANN',
    source_model='models.seg.nets.annn.asymmetric_non_local_network '
                 '(deepbase_resnet101_dilated8, Cityscapes)',
    config='configs/ann-r101-d8_celebamask.py',
    model_config='configs/_base_/models/ann-r101-d8.py',
    renames=(
        *((rf'backbone\.prefix\.{theirs}\.(.*)', rf'backbone.stem.{ours}.\1')
          for theirs, ours in _STEM.items()),
        (r'backbone\.(layer[1-4]\..*)', r'backbone.\1'),
        (rf'{_AFNB}\.f_query\.0\.weight', r'decode_head.fusion.query.conv.weight'),
        (rf'{_AFNB}\.f_query\.1\.0\.(.*)', r'decode_head.fusion.query.bn.\1'),
        (rf'{_AFNB}\.f_key\.0\.weight', r'decode_head.fusion.key.conv.weight'),
        (rf'{_AFNB}\.f_key\.1\.0\.(.*)', r'decode_head.fusion.key.bn.\1'),
        (rf'{_AFNB}\.f_value\.(.*)', r'decode_head.fusion.value.\1'),
        (rf'{_AFNB}\.W\.(.*)', r'decode_head.fusion.out_proj.\1'),
        (r'fusion\.conv_bn_dropout\.0\.weight', r'decode_head.fusion.fusion.conv.weight'),
        (r'fusion\.conv_bn_dropout\.1\.(.*)', r'decode_head.fusion.fusion.bn.\1'),
        (r'context\.0\.weight', r'decode_head.bottleneck.conv.weight'),
        (r'context\.1\.0\.(.*)', r'decode_head.bottleneck.bn.\1'),
        (rf'{_APNB}\.f_query\.0\.weight', r'decode_head.context.query_key.conv.weight'),
        (rf'{_APNB}\.f_query\.1\.0\.(.*)', r'decode_head.context.query_key.bn.\1'),
        (rf'{_APNB}\.f_value\.(.*)', r'decode_head.context.value.\1'),
        (rf'{_APNB}\.W\.(.*)', r'decode_head.context.out_proj.\1'),
        (r'context\.2\.conv_bn_dropout\.0\.weight', r'decode_head.context.fusion.conv.weight'),
        (r'context\.2\.conv_bn_dropout\.1\.0\.(.*)', r'decode_head.context.fusion.bn.\1'),
        (r'cls\.(.*)', r'decode_head.conv_seg.\1'),
        (r'dsn\.0\.weight', r'auxiliary_head.convs.0.conv.weight'),
        (r'dsn\.1\.0\.(.*)', r'auxiliary_head.convs.0.bn.\1'),
        (r'dsn\.3\.(.*)', r'auxiliary_head.conv_seg.\1'),
    ),
    fold_bias=(
        (rf'{_AFNB}\.f_query\.0\.bias', r'decode_head.fusion.query.bn.running_mean'),
        (rf'{_AFNB}\.f_key\.0\.bias', r'decode_head.fusion.key.bn.running_mean'),
        (r'fusion\.conv_bn_dropout\.0\.bias', r'decode_head.fusion.fusion.bn.running_mean'),
        (r'context\.0\.bias', r'decode_head.bottleneck.bn.running_mean'),
        (rf'{_APNB}\.f_query\.0\.bias', r'decode_head.context.query_key.bn.running_mean'),
        (r'context\.2\.conv_bn_dropout\.0\.bias', r'decode_head.context.fusion.bn.running_mean'),
        (r'dsn\.0\.bias', r'auxiliary_head.convs.0.bn.running_mean'),
    ),
    aliases=((rf'({_APNB})\.f_key\.(.*)', r'\1.f_query.\2'),),
    signature=('backbone.prefix.conv1.weight', 'fusion.stages.0.f_query.0.weight',
               'context.2.stages.0.f_key.0.weight', 'cls.weight'),
    dataset_meta=dict(classes=list(_CITYSCAPES['classes']),
                      palette=[list(c) for c in _CITYSCAPES['palette']]),
    note='Cityscapes-trained (19 Cityscapes classes).',
))
