"""CoinCheung/BiSeNet's BiSeNetV2 (``lib/models/bisenetv2.py``, ``BiSeNetV2(n_classes=19)`` as
trained, with its four booster heads; released checkpoint ``model_final_v2_city.pth``, trained on
Cityscapes' 19 classes) for ``configs/bisenetv2_celebamask.py``: the same tensors under our
names (mmseg's ``BiSeNetV2`` layout with the authors' aggregation and heads)."""
from mmseg.datasets import CityscapesDataset

from ..core import ConversionRules, register

P = r'(?P<p>weight|bias|running_mean|running_var|num_batches_tracked)'  # a conv or BN tensor
CBR = rf'(?P<m>conv|bn)\.{P}'  # the authors' ConvBNReLU -> our ConvModule: same names

# the gather-and-expand layers' insides (the same names under S3, S4, S5_4)
GE = (
    (rf'conv1\.{CBR}', r'conv1.\g<m>.\g<p>'),
    (rf'dwconv\.0\.{P}', r'dwconv.0.conv.\g<p>'),  # stride 1: one depth-wise conv
    (rf'dwconv\.1\.{P}', r'dwconv.0.bn.\g<p>'),
    (rf'dwconv1\.0\.{P}', r'dwconv.0.conv.\g<p>'),  # stride 2: two
    (rf'dwconv1\.1\.{P}', r'dwconv.0.bn.\g<p>'),
    (rf'dwconv2\.0\.{P}', r'dwconv.1.conv.\g<p>'),
    (rf'dwconv2\.1\.{P}', r'dwconv.1.bn.\g<p>'),
    (rf'conv2\.0\.{P}', r'conv2.0.conv.\g<p>'),
    (rf'conv2\.1\.{P}', r'conv2.0.bn.\g<p>'),
    (rf'shortcut\.0\.{P}', r'shortcut.0.depthwise_conv.conv.\g<p>'),
    (rf'shortcut\.1\.{P}', r'shortcut.0.depthwise_conv.bn.\g<p>'),
    (rf'shortcut\.2\.{P}', r'shortcut.0.pointwise_conv.conv.\g<p>'),
    (rf'shortcut\.3\.{P}', r'shortcut.0.pointwise_conv.bn.\g<p>'),
)
SEPARABLE = ((rf'0\.{P}', r'0.depthwise_conv.conv.\g<p>'),
             (rf'1\.{P}', r'0.depthwise_conv.bn.\g<p>'),
             (rf'2\.{P}', r'0.pointwise_conv.conv.\g<p>'))
HEAD = ((rf'conv\.{CBR}', r'conv.\g<m>.\g<p>'),
        (rf'conv_out\.0\.1\.{CBR}', r'up_conv.\g<m>.\g<p>'),  # boosters: after the nearest x2
        (rf'conv_out\.1\.{P}', r'conv_seg.\g<p>'))


def _under(source: str, target: str, rules) -> tuple:
    return tuple((rf'{source}\.{pattern}', f'{target}.{replacement}')
                 for pattern, replacement in rules)


RENAMES = (
    *(r for i in (1, 2, 3) for r in _under(
        rf'detail\.S{i}\.(?P<i>\d)', rf'backbone.detail.detail_branch.{i - 1}.\g<i>',
        ((CBR, r'\g<m>.\g<p>'), ))),
    *_under(r'segment\.S1S2', 'backbone.semantic.stage1', (
        (rf'conv\.{CBR}', r'conv_first.\g<m>.\g<p>'),
        (rf'left\.(?P<j>[01])\.{CBR}', r'convs.\g<j>.\g<m>.\g<p>'),
        (rf'fuse\.{CBR}', r'fuse_last.\g<m>.\g<p>'))),
    *(r for source, stage in (('S3', 2), ('S4', 3), ('S5_4', 4)) for r in _under(
        rf'segment\.{source}\.(?P<i>\d)', rf'backbone.semantic.stage{stage}.\g<i>', GE)),
    *_under(r'segment\.S5_5', 'backbone.semantic.stage4_CEBlock', (
        (rf'bn\.{P}', r'gap.1.\g<p>'),
        (rf'(?P<c>conv_gap|conv_last)\.{CBR}', r'\g<c>.\g<m>.\g<p>'))),
    *_under(r'bga\.left1', 'backbone.bga.detail_dwconv', SEPARABLE),
    *_under(r'bga\.right2', 'backbone.bga.semantic_dwconv', SEPARABLE),
    (rf'bga\.left2\.0\.{P}', r'backbone.bga.detail_down.0.conv.\g<p>'),
    (rf'bga\.left2\.1\.{P}', r'backbone.bga.detail_down.0.bn.\g<p>'),
    (rf'bga\.right1\.0\.{P}', r'backbone.bga.semantic_conv.0.conv.\g<p>'),
    (rf'bga\.right1\.1\.{P}', r'backbone.bga.semantic_conv.0.bn.\g<p>'),
    (rf'bga\.conv\.0\.{P}', r'backbone.bga.conv.conv.\g<p>'),
    (rf'bga\.conv\.1\.{P}', r'backbone.bga.conv.bn.\g<p>'),
    *_under(r'head', 'decode_head', HEAD),
    *(r for i, source in enumerate(('aux2', 'aux3', 'aux4', 'aux5_4'))
      for r in _under(source, f'auxiliary_head.{i}', HEAD)),
)

RULES = register(ConversionRules(
    name='bisenetv2',
    source_repo='https://github.com/CoinCheung/BiSeNet',
    source_model="lib.models.bisenetv2.BiSeNetV2(n_classes=19, aux_mode='train')",
    config='configs/bisenetv2_celebamask.py',
    model_config='configs/_base_/models/bisenetv2.py',
    renames=RENAMES,
    signature=('detail.S1.0.conv.weight', 'segment.S1S2.conv.conv.weight',
               'bga.left1.0.weight', 'head.conv_out.1.weight'),
    dataset_meta=dict(classes=list(CityscapesDataset.METAINFO['classes']),
                      palette=[list(c) for c in CityscapesDataset.METAINFO['palette']]),
    # a state dict of the inference model (aux_mode='eval') has no booster heads: ours then keep
    # their initialisation (they are training-only)
    optional=(r'auxiliary_head\..*', ),
))
