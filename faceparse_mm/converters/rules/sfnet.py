"""The SFNet authors' ResNet-18 SFNet (lxtGH/SFSegNets, ``network.sfnet_resnet``:
``DeepR18_SF_deeply``, the Cityscapes checkpoint of 79.0 mIoU, and ``DeepR18_SF_deeply_dsn``, its
"+dsn" checkpoint; both ``AlignNetResNet(trunk='resnet-18-deep', variant='D')``, saved by their
``train.py`` as ``{'state_dict': DataParallel state dict}``) for
``configs/sfnet-r18_celebamask.py``.

Backbone ``layer0`` (deep stem + its BN) -> ``backbone.stem``, ``layer1..4`` -> the same names;
the head's PPM, lateral 1x1 convs (``fpn_in``), FPN 3x3 convs (``fpn_out``) and flow alignment
modules (``fpn_out_align``) -> ``neck``; ``conv_last`` -> ``decode_head``. The lateral convs'
biases fold into the running mean of the BatchNorm after each (our laterals have none), as do the
biases of the deep-supervision 3x3 convs. The deep-supervision heads ``head.dsn.i`` (i = 0, 1, 2 at
1/4, 1/8, 1/16) are our ``auxiliary_head`` 2, 1, 0 (the config lists them 1/16 first, as the
authors' loss does); the checkpoint without them converts with the auxiliary heads left at their
initialisation (training only, not used at inference).
"""
from mmseg.datasets import CityscapesDataset

from ..core import ConversionRules, register

_CITYSCAPES = CityscapesDataset.METAINFO


def _dsn(i: int, ours: int) -> tuple:
    return (
        (rf'head\.dsn\.{i}\.0\.weight', rf'auxiliary_head.{ours}.convs.0.conv.weight'),
        (rf'head\.dsn\.{i}\.1\.(.*)', rf'auxiliary_head.{ours}.convs.0.bn.\1'),
        (rf'head\.dsn\.{i}\.4\.(.*)', rf'auxiliary_head.{ours}.conv_seg.\1'),
    )


RULES = register(ConversionRules(
    name='sfnet',
    source_repo='https://github.com/lxtGH/SFSegNets',
    source_model="network.sfnet_resnet.DeepR18_SF_deeply(num_classes=19) (or its _dsn variant)",
    config='configs/sfnet-r18_celebamask.py',
    model_config='configs/_base_/models/sfnet-r18.py',
    renames=(
        (r'layer0\.0\.(\d)\.(.*)', r'backbone.stem.\1.\2'),
        (r'layer0\.1\.(.*)', r'backbone.stem.7.\1'),
        (r'(layer[1-4]\..*)', r'backbone.\1'),
        (r'head\.ppm\.stages\.(\d)\.1\.weight', r'neck.ppm.\1.1.conv.weight'),
        (r'head\.ppm\.stages\.(\d)\.2\.(.*)', r'neck.ppm.\1.1.bn.\2'),
        (r'head\.ppm\.bottleneck\.0\.weight', r'neck.bottleneck.conv.weight'),
        (r'head\.ppm\.bottleneck\.1\.(.*)', r'neck.bottleneck.bn.\1'),
        (r'head\.fpn_in\.(\d)\.0\.weight', r'neck.lateral_convs.\1.conv.weight'),
        (r'head\.fpn_in\.(\d)\.1\.(.*)', r'neck.lateral_convs.\1.bn.\2'),
        (r'head\.fpn_out\.(\d)\.0\.0\.weight', r'neck.fpn_convs.\1.conv.weight'),
        (r'head\.fpn_out\.(\d)\.0\.1\.(.*)', r'neck.fpn_convs.\1.bn.\2'),
        (r'head\.fpn_out_align\.(\d)\.(down_h|down_l|flow_make)\.weight',
         r'neck.align_modules.\1.\2.weight'),
        (r'head\.conv_last\.0\.0\.weight', r'decode_head.fuse.conv.weight'),
        (r'head\.conv_last\.0\.1\.(.*)', r'decode_head.fuse.bn.\1'),
        (r'head\.conv_last\.1\.(.*)', r'decode_head.conv_seg.\1'),
        *_dsn(0, 2), *_dsn(1, 1), *_dsn(2, 0),
    ),
    fold_bias=(
        (r'head\.fpn_in\.(\d)\.0\.bias', r'neck.lateral_convs.\1.bn.running_mean'),
        (r'head\.dsn\.0\.0\.bias', r'auxiliary_head.2.convs.0.bn.running_mean'),
        (r'head\.dsn\.1\.0\.bias', r'auxiliary_head.1.convs.0.bn.running_mean'),
        (r'head\.dsn\.2\.0\.bias', r'auxiliary_head.0.convs.0.bn.running_mean'),
    ),
    optional=(r'auxiliary_head\..*',),
    signature=('layer0.0.0.weight', 'head.ppm.bottleneck.0.weight',
               'head.fpn_out_align.0.flow_make.weight', 'head.conv_last.1.weight'),
    dataset_meta=dict(classes=list(_CITYSCAPES['classes']),
                      palette=[list(c) for c in _CITYSCAPES['palette']]),
    note='Cityscapes-trained (19 Cityscapes classes).',
))
