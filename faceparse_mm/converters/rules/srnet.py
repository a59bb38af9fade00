"""SR-Net (lxtGH/SFSegNets, ``network.srnet.SRNet(19, trunk='resnet-50-deep', variant='D')``:
``SRNet_r50``, trained on Cityscapes by the repository's ``train.py``, which saves
``{'state_dict': DataParallel state dict}``) for ``configs/srnet-r50-d8_celebamask.py``.

Backbone ``layer0`` (the 64-64-128 deep stem and its BN) -> ``backbone.stem``, ``layer1..4`` -> the
same names. ``head`` (``ModuleHead``): ``in_module`` -> ``in_proj``; its ``ChannelReasonModule``
(``t``, ``p``, ``g``, ``z``, ``gn`` and the graph's ``conv_adj`` / ``bn_adj`` over the nodes and
``conv_wg`` / ``bn_wg`` over the node features, Conv1d weights held here as 1x1 Conv2d) ->
``reasoning``; ``final.0`` / ``final.1`` (3x3 conv, BN) -> ``bottleneck``; ``final.4`` ->
``conv_seg``. ``aux_layer`` (``Aux_Module`` on C4) -> ``auxiliary_head``. The biases of the 3x3
convs that a BN follows (``final.0``, ``aux.0``) fold into that BN's running mean.
"""
from mmseg.datasets import CityscapesDataset

from ..core import ConversionRules, register

_CITYSCAPES = CityscapesDataset.METAINFO
_REASON = dict(t='theta', p='phi', g='g', z='expand')

RULES = register(ConversionRules(
    name='srnet',
    source_repo='https://github.com/lxtGH/SFSegNets',
    source_model="network.srnet.SRNet(19, trunk='resnet-50-deep', variant='D') (SRNet_r50)",
    config='configs/srnet-r50-d8_celebamask.py',
    model_config='configs/_base_/models/srnet-r50-d8.py',
    renames=(
        (r'layer0\.0\.(\d)\.(.*)', r'backbone.stem.\1.\2'),
        (r'layer0\.1\.(.*)', r'backbone.stem.7.\1'),
        (r'(layer[1-4]\..*)', r'backbone.\1'),
        (r'head\.in_module\.(.*)', r'decode_head.in_proj.conv.\1'),
        *((rf'head\.module\.{theirs}\.weight', rf'decode_head.reasoning.{ours}.weight')
          for theirs, ours in _REASON.items()),
        (r'head\.module\.gn\.(.*)', r'decode_head.reasoning.norm.\1'),
        (r'head\.module\.conv_adj\.weight', r'decode_head.reasoning.node_conv.conv.weight'),
        (r'head\.module\.bn_adj\.(.*)', r'decode_head.reasoning.node_conv.bn.\1'),
        (r'head\.module\.conv_wg\.weight', r'decode_head.reasoning.feature_conv.conv.weight'),
        (r'head\.module\.bn_wg\.(.*)', r'decode_head.reasoning.feature_conv.bn.\1'),
        (r'head\.final\.0\.weight', r'decode_head.bottleneck.conv.weight'),
        (r'head\.final\.1\.(.*)', r'decode_head.bottleneck.bn.\1'),
        (r'head\.final\.4\.(.*)', r'decode_head.conv_seg.\1'),
        (r'aux_layer\.aux\.0\.weight', r'auxiliary_head.convs.0.conv.weight'),
        (r'aux_layer\.aux\.1\.(.*)', r'auxiliary_head.convs.0.bn.\1'),
        (r'aux_layer\.aux\.4\.(.*)', r'auxiliary_head.conv_seg.\1'),
    ),
    fold_bias=(
        (r'head\.final\.0\.bias', r'decode_head.bottleneck.bn.running_mean'),
        (r'aux_layer\.aux\.0\.bias', r'auxiliary_head.convs.0.bn.running_mean'),
    ),
    unsqueeze=(r'decode_head\.reasoning\.(node|feature)_conv\.conv\.weight',),
    signature=('layer0.0.0.weight', 'head.in_module.weight', 'head.module.conv_adj.weight',
               'head.final.4.weight'),
    dataset_meta=dict(classes=list(_CITYSCAPES['classes']),
                      palette=[list(c) for c in _CITYSCAPES['palette']]),
    note='Cityscapes-trained (19 Cityscapes classes).',
))
