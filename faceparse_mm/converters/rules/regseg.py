"""RolandGao/RegSeg's ``RegSeg("exp48_decoder26", num_classes=19)`` (``model.py``; released
checkpoints e.g. ``cityscapes_exp48_decoder26_trainval_1000_epochs_1024_crop_bootstrapped_run1``,
trained on Cityscapes' 19 classes, the state dict under ``model``) for
``configs/regseg_celebamask.py``: the same tensors under our names."""
from mmseg.datasets import CityscapesDataset

from ..core import ConversionRules, register

P = r'(?P<p>weight|bias|running_mean|running_var|num_batches_tracked)'  # a conv or BN tensor

# inside a D block (the authors' DBlock -> our DBlock)
DBLOCK = (
    (r'conv1\.weight', 'conv1.conv.weight'),
    (rf'bn1\.{P}', r'conv1.bn.\g<p>'),
    (r'conv2\.weight', 'conv2.convs.0.weight'),  # one dilation: a plain grouped conv
    (r'conv2\.convs\.(?P<j>\d+)\.weight', r'conv2.convs.\g<j>.weight'),
    (rf'bn2\.{P}', r'norm2.\g<p>'),
    (r'conv3\.weight', 'conv3.conv.weight'),
    (rf'bn3\.{P}', r'conv3.bn.\g<p>'),
    (rf'se\.conv(?P<n>[12])\.{P}', r'se.fc\g<n>.\g<p>'),
)
# shortcuts: after the 2x2 average pool in the strided first block of each stage, plain in the
# last block (256 -> 320 at stride 1)
SHORTCUTS = (
    (r'body\.stage4', 'backbone.stages.0.0.shortcut.1'),
    (r'body\.stage8\.0', 'backbone.stages.1.0.shortcut.1'),
    (r'body\.stage16\.0', 'backbone.stages.2.0.shortcut.1'),
    (r'body\.stage16\.13', 'backbone.stages.2.13.shortcut'),
)
BLOCKS = (
    (r'body\.stage4', 'backbone.stages.0.0'),
    (r'body\.stage8\.(?P<i>\d+)', r'backbone.stages.1.\g<i>'),
    (r'body\.stage16\.(?P<i>\d+)', r'backbone.stages.2.\g<i>'),
)

RULES = register(ConversionRules(
    name='regseg',
    source_repo='https://github.com/RolandGao/RegSeg',
    source_model='model.RegSeg("exp48_decoder26", num_classes=19)',
    config='configs/regseg_celebamask.py',
    model_config='configs/_base_/models/regseg.py',
    renames=(
        (rf'stem\.(?P<m>conv|bn)\.{P}', r'backbone.stem.\g<m>.\g<p>'),
        *((rf'{source}\.shortcut\.(?P<m>conv|bn)\.{P}', rf'{target}.\g<m>.\g<p>')
          for source, target in SHORTCUTS),
        *((rf'{source}\.{pattern}', f'{target}.{replacement}')
          for source, target in BLOCKS for pattern, replacement in DBLOCK),
        (rf'decoder\.(?P<m>head4|head8|head16|conv8|conv4)\.(?P<n>conv|bn)\.{P}',
         r'decode_head.\g<m>.\g<n>.\g<p>'),
        (rf'decoder\.classifier\.{P}', r'decode_head.conv_seg.\g<p>'),
    ),
    signature=('stem.conv.weight', 'body.stage4.conv1.weight', 'body.stage16.13.se.conv1.weight',
               'decoder.head4.conv.weight', 'decoder.classifier.weight'),
    dataset_meta=dict(classes=list(CityscapesDataset.METAINFO['classes']),
                      palette=[list(c) for c in CityscapesDataset.METAINFO['palette']]),
))
