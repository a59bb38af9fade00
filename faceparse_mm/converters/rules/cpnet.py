"""The Context Prior authors' CPNet R50-D8 (ycszen/ContextPrior: ``config/cpnet_r50-d8.py``, their
``CPHead`` on mmseg's ``ResNetV1c`` with mmseg's ``FCNHead`` as auxiliary head, 19 classes) for
``configs/cpnet-r50-d8_celebamask.py``.

No checkpoint was released; this is the layout their mmseg (0.x) training saves, the
``EncoderDecoder`` state dict under ``state_dict``. ``backbone.*`` and ``auxiliary_head.*`` keep
their names (mmseg's modules on both sides); in ``decode_head`` the aggregation module's
``reduce_conv`` -> ``reduce`` and its depth-wise convs ``t1``, ``t2`` (k x 1 then 1 x k) ->
``path_a.0``, ``path_a.1`` and ``p1``, ``p2`` (1 x k then k x 1) -> ``path_b.0``, ``path_b.1``;
``prior_conv``, ``intra_conv``, ``inter_conv``, ``bottleneck`` and ``conv_seg`` keep theirs. The
config's 19 classes are Cityscapes' (the dataset of their 19-class results).
"""
from mmseg.datasets import CityscapesDataset

from ..core import ConversionRules, register

_CITYSCAPES = CityscapesDataset.METAINFO
_AGG = r'decode_head\.aggregation'
_PATHS = dict(t1='path_a.0', t2='path_a.1', p1='path_b.0', p2='path_b.1')

RULES = register(ConversionRules(
    name='cpnet',
    source_repo='https://github.com/ycszen/ContextPrior',
    source_model='config/cpnet_r50-d8.py (mmseg EncoderDecoder: ResNetV1c, CPHead, FCNHead), '
                 'as their mmseg training saves it; no released checkpoint',
    config='configs/cpnet-r50-d8_celebamask.py',
    model_config='configs/_base_/models/cpnet-r50-d8.py',
    renames=(
        (rf'{_AGG}\.reduce_conv\.(.*)', r'decode_head.aggregation.reduce.\1'),
        *((rf'{_AGG}\.{theirs}\.(.*)', rf'decode_head.aggregation.{ours}.\1')
          for theirs, ours in _PATHS.items()),
        (rf'{_AGG}\.norm\.(.*)', r'decode_head.aggregation.norm.\1'),
        (r'(decode_head\.(?:prior_conv|intra_conv|inter_conv|bottleneck|conv_seg)\..*)', r'\1'),
        (r'(backbone\..*|auxiliary_head\..*)', r'\1'),
    ),
    signature=('decode_head.aggregation.t1.conv.weight',
               'decode_head.prior_conv.conv.weight', 'decode_head.conv_seg.weight'),
    dataset_meta=dict(classes=list(_CITYSCAPES['classes']),
                      palette=[list(c) for c in _CITYSCAPES['palette']]),
    note='No released checkpoint: the layout of a checkpoint their mmseg training saves with '
         'config/cpnet_r50-d8.py (19 Cityscapes classes).',
))
