"""mmsegmentation's PSPNet R50-D8 (``pspnet_r50-d8_4xb2-80k_cityscapes-512x1024`` and its 40k /
769x769 siblings: ``EncoderDecoder`` with ``ResNetV1c`` depth 50 dilated to output stride 8,
``PSPHead`` and an ``FCNHead`` auxiliary head, Cityscapes-trained; mmseg's released checkpoints
hold its state dict under ``state_dict``) for ``configs/pspnet-r50-d8_celebamask.py``, which
builds the same modules with the same arguments: every key keeps its name."""
from mmseg.datasets import CityscapesDataset

from ..core import ConversionRules, register

_CITYSCAPES = CityscapesDataset.METAINFO

RULES = register(ConversionRules(
    name='pspnet',
    source_repo='https://github.com/open-mmlab/mmsegmentation',
    source_model='configs/pspnet/pspnet_r50-d8_4xb2-80k_cityscapes-512x1024.py (mmseg 1.2.2)',
    config='configs/pspnet-r50-d8_celebamask.py',
    model_config='configs/_base_/models/pspnet-r50-d8.py',
    renames=((r'((?:backbone|decode_head|auxiliary_head)\..*)', r'\1'),),
    signature=('backbone.stem.0.weight', 'backbone.layer4.2.conv3.weight',
               'decode_head.psp_modules.3.1.conv.weight', 'decode_head.bottleneck.conv.weight',
               'auxiliary_head.convs.0.conv.weight'),
    dataset_meta=dict(classes=list(_CITYSCAPES['classes']),
                      palette=[list(c) for c in _CITYSCAPES['palette']]),
    note='Cityscapes-trained (19 Cityscapes classes).',
))
