"""SPNet (houqb/SPNet, ``models.spnet.SPNet(19, 'resnet50', pretrained, spm_on=True)`` with the
auxiliary FCN head, saved by the repository's ``tool/train.py`` as ``{'epoch', 'state_dict':
DistributedDataParallel state dict, 'optimizer'}``) for ``configs/spnet-r50_celebamask.py``. The
authors release no trained SPNet checkpoint (only ImageNet backbones); this is the layout their
training writes. Their 19-class setting is Cityscapes (``config/cityscapes``), hence the
``dataset_meta``.

``pretrained.conv1`` (the 64-64-128 deep stem) and ``pretrained.bn1`` -> ``backbone.stem``,
``pretrained.layer1..4`` -> ``backbone.layer1..4``, each block's ``spm`` (``SPBlock``: ``conv1``
3x1 and ``conv2`` 1x3 strip convs with their BNs, ``conv3`` the gate) -> ``spm.conv_rows`` /
``conv_cols`` / ``conv_gate``. ``head`` (``SPHead``): ``trans_layer`` -> ``transform``,
``strip_pool1/2`` (``StripPooling``) -> ``mpms.0/1``, ``score_layer`` -> ``bottleneck`` and
``conv_seg``. ``auxlayer`` (``FCNHead``) -> ``auxiliary_head``. Every tensor keeps its shape.
"""
from mmseg.datasets import CityscapesDataset

from ..core import ConversionRules, register

_CITYSCAPES = CityscapesDataset.METAINFO
#: StripPooling's convs (each a conv, BN[, ReLU] sequence) -> our MixedPooling's ConvModules
_MPM = dict(conv1_1='reduce_short', conv1_2='reduce_long', conv2_0='local', conv2_1='pooled.0',
            conv2_2='pooled.1', conv2_3='conv_cols', conv2_4='conv_rows', conv2_5='fuse_short',
            conv2_6='fuse_long', conv3='project')


def _conv_bn(theirs: str, ours: str) -> tuple:
    return ((rf'{theirs}\.0\.weight', rf'{ours}.conv.weight'),
            (rf'{theirs}\.1\.(.*)', rf'{ours}.bn.\1'))


RULES = register(ConversionRules(
    name='spnet',
    source_repo='https://github.com/houqb/SPNet',
    source_model="models.spnet.SPNet(19, 'resnet50', pretrained, spm_on=True)",
    config='configs/spnet-r50_celebamask.py',
    model_config='configs/_base_/models/spnet-r50.py',
    renames=(
        (r'pretrained\.conv1\.(\d)\.(.*)', r'backbone.stem.\1.\2'),
        (r'pretrained\.bn1\.(.*)', r'backbone.stem.7.\1'),
        *(rule for theirs, ours in (('1', 'conv_rows'), ('2', 'conv_cols'))
          for rule in ((rf'pretrained\.(layer[1-4]\.\d+)\.spm\.conv{theirs}\.weight',
                        rf'backbone.\1.spm.{ours}.conv.weight'),
                       (rf'pretrained\.(layer[1-4]\.\d+)\.spm\.bn{theirs}\.(.*)',
                        rf'backbone.\1.spm.{ours}.bn.\2'))),
        (r'pretrained\.(layer[1-4]\.\d+)\.spm\.conv3\.(.*)', r'backbone.\1.spm.conv_gate.\2'),
        (r'pretrained\.(layer[1-4]\..*)', r'backbone.\1'),
        *_conv_bn(r'head\.trans_layer', 'decode_head.transform'),
        *(rule for i in (0, 1) for theirs, ours in _MPM.items()
          for rule in _conv_bn(rf'head\.strip_pool{i + 1}\.{theirs}',
                               f'decode_head.mpms.{i}.{ours}')),
        *_conv_bn(r'head\.score_layer', 'decode_head.bottleneck'),
        (r'head\.score_layer\.4\.(.*)', r'decode_head.conv_seg.\1'),
        *_conv_bn(r'auxlayer\.conv5', 'auxiliary_head.convs.0'),
        (r'auxlayer\.conv5\.4\.(.*)', r'auxiliary_head.conv_seg.\1'),
    ),
    signature=('pretrained.conv1.0.weight', 'pretrained.layer1.2.spm.conv1.weight',
               'head.strip_pool1.conv2_0.0.weight', 'head.score_layer.4.weight'),
    dataset_meta=dict(classes=list(_CITYSCAPES['classes']),
                      palette=[list(c) for c in _CITYSCAPES['palette']]),
    note='No trained checkpoint is released; the layout of the authors\' training output.',
))
