"""Dynamic Routing's Layer16 model (Li et al., CVPR 2020; ``DynamicNet4Seg`` as built by
``playground/Dynamic/Seg.Layer16/net.py``; detectron2-style checkpoints with the weights under
``model``, trained on Cityscapes' 19 classes) for ``configs/dynamic-routing-l16_celebamask.py``:
the same tensors under our names.

Their ``Conv2d`` holds its BatchNorm as ``.norm``; the stem's second and third layers and the
cells' separable convs are ``nn.Sequential`` (depthwise, pointwise-BN) pairs, ours mmcv
``DepthwiseSeparableConvModule`` s; a cell's ``Mixed_OP`` is ``sep_conv_3x3`` (``_ops.0``) plus
the parameter-free identity (``_ops.1``); ``gate_conv_beta`` is (1x1 conv-BN-ReLU, pool, 1x1
conv), ours ``gate.reduce`` and ``gate.fc``; ``res_up`` / ``res_down`` are (ReLU, 1x1
conv-BN-ReLU), ours ``up`` / ``down``; the decoder's ``layer_decoder_list[s]`` is our
``projections[s]`` and ``predictor`` our ``conv_seg``.
"""
import re

from mmseg.datasets import CityscapesDataset

from ..core import ConversionRules, register

_BN = r'norm\.(weight|bias|running_mean|running_var|num_batches_tracked)'


def _conv_bn(src: str, dst: str, bn: str = 'bn') -> tuple:
    """A conv with its BN (``src.weight``, ``src.norm.*``) -> ``dst.conv.weight``,
    ``dst.<bn>.*``; ``src`` / ``dst`` may hold one group each, referred to as \\1."""
    groups = re.compile(src).groups
    return ((src + r'\.weight', dst + '.conv.weight'),
            (src + r'\.' + _BN, dst + f'.{bn}.\\{groups + 1}'))


def _cells() -> tuple:
    rules = []
    for src, dst in ((r'backbone\.init_layer', 'backbone.init_cell'),
                     (r'backbone\.all_cell_list\.(\d+\.\d+)', r'backbone.layers.\1')):
        op = src + r'\.cell_ops\._ops\.0\.op'
        for k, ours in ((0, '0'), (2, '1')):  # the two (depthwise, pointwise-BN) pairs
            rules.append((op + rf'\.{k}\.weight', dst + f'.op.{ours}.depthwise_conv.conv.weight'))
            rules += _conv_bn(op + rf'\.{k + 1}', dst + f'.op.{ours}.pointwise_conv')
        rules += _conv_bn(src + r'\.gate_conv_beta\.0', dst + '.gate.reduce')
        rules.append((src + r'\.gate_conv_beta\.2\.(weight|bias)',
                      dst + '.gate.fc.\\' + str(re.compile(src).groups + 1)))
        rules += _conv_bn(src + r'\.res_up\.1', dst + '.up')
        rules += _conv_bn(src + r'\.res_down\.1', dst + '.down')
    return tuple(rules)


RULES = register(ConversionRules(
    name='dynamic_routing',
    source_repo='https://github.com/yanwei-li/DynamicRouting',
    source_model='DynamicNet4Seg (playground/Dynamic/Seg.Layer16)',
    config='configs/dynamic-routing-l16_celebamask.py',
    model_config='configs/_base_/models/dynamic-routing-l16.py',
    renames=(
        *_conv_bn(r'backbone\.stem\.stem_1', 'backbone.stem.0'),
        (r'backbone\.stem\.stem_2\.0\.weight', 'backbone.stem.1.depthwise_conv.conv.weight'),
        *_conv_bn(r'backbone\.stem\.stem_2\.1', 'backbone.stem.1.pointwise_conv'),
        (r'backbone\.stem\.stem_3\.0\.weight', 'backbone.stem.2.depthwise_conv.conv.weight'),
        *_conv_bn(r'backbone\.stem\.stem_3\.1', 'backbone.stem.2.pointwise_conv'),
        *_cells(),
        *_conv_bn(r'sem_seg_head\.layer_decoder_list\.(\d+)', r'decode_head.projections.\1'),
        (r'sem_seg_head\.predictor\.(weight|bias)', r'decode_head.conv_seg.\1'),
    ),
    signature=('backbone.stem.stem_1.weight', 'backbone.init_layer.gate_conv_beta.2.bias',
               'backbone.all_cell_list.0.0.cell_ops._ops.0.op.3.weight',
               'sem_seg_head.predictor.weight'),
    dataset_meta=dict(classes=list(CityscapesDataset.METAINFO['classes']),
                      palette=[list(c) for c in CityscapesDataset.METAINFO['palette']]),
    note='Their released checkpoints are Cityscapes-trained (19 classes).',
))
