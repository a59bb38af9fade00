"""mmsegmentation's FCN-HRNetV2-W18 (``fcn_hr18_4xb2-80k_cityscapes-512x1024`` and its 40k / 160k
siblings: ``EncoderDecoder`` with ``HRNet`` W18 and an ``FCNHead`` on the concatenated branches,
Cityscapes-trained; mmseg's released checkpoints hold its state dict under ``state_dict``) for
``configs/fcn-hrnet-w18_celebamask.py``, which builds the same modules with the same arguments:
every key keeps its name."""
from mmseg.datasets import CityscapesDataset

from ..core import ConversionRules, register

_CITYSCAPES = CityscapesDataset.METAINFO

RULES = register(ConversionRules(
    name='hrnet',
    source_repo='https://github.com/open-mmlab/mmsegmentation',
    source_model='configs/hrnet/fcn_hr18_4xb2-80k_cityscapes-512x1024.py (mmseg 1.2.2)',
    config='configs/fcn-hrnet-w18_celebamask.py',
    model_config='configs/_base_/models/fcn-hrnet-w18.py',
    renames=((r'((?:backbone|decode_head)\..*)', r'\1'),),
    # an OCRNet checkpoint (decode_head.0 / decode_head.1) has no decode_head.convs
    signature=('backbone.conv1.weight', 'backbone.transition3.3.0.0.weight',
               'backbone.stage4.0.fuse_layers.3.0.0.0.weight', 'decode_head.convs.0.conv.weight',
               'decode_head.conv_seg.weight'),
    dataset_meta=dict(classes=list(_CITYSCAPES['classes']),
                      palette=[list(c) for c in _CITYSCAPES['palette']]),
    note='Cityscapes-trained (19 Cityscapes classes).',
))
