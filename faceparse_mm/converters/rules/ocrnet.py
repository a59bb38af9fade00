"""mmsegmentation's OCRNet-HRNetV2-W18 (``ocrnet_hr18_4xb2-80k_cityscapes-512x1024`` and its 40k /
160k siblings: ``CascadeEncoderDecoder`` with ``HRNet`` W18, an ``FCNHead`` for the soft object
regions and an ``OCRHead``, Cityscapes-trained; mmseg's released checkpoints hold its state dict
under ``state_dict``) for ``configs/ocrnet-hrnet-w18_celebamask.py``, which builds the same
modules with the same arguments: every key keeps its name."""
from mmseg.datasets import CityscapesDataset

from ..core import ConversionRules, register

_CITYSCAPES = CityscapesDataset.METAINFO

RULES = register(ConversionRules(
    name='ocrnet',
    source_repo='https://github.com/open-mmlab/mmsegmentation',
    source_model='configs/ocrnet/ocrnet_hr18_4xb2-80k_cityscapes-512x1024.py (mmseg 1.2.2)',
    config='configs/ocrnet-hrnet-w18_celebamask.py',
    model_config='configs/_base_/models/ocrnet-hrnet-w18.py',
    renames=((r'(backbone\..*|decode_head\.[01]\..*)', r'\1'),),
    signature=('backbone.conv1.weight', 'backbone.transition3.3.0.0.weight',
               'decode_head.0.convs.0.conv.weight', 'decode_head.0.conv_seg.weight',
               'decode_head.1.object_context_block.query_project.0.conv.weight',
               'decode_head.1.conv_seg.weight'),
    dataset_meta=dict(classes=list(_CITYSCAPES['classes']),
                      palette=[list(c) for c in _CITYSCAPES['palette']]),
    note='Cityscapes-trained (19 Cityscapes classes).',
))
