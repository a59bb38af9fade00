"""The TDNet authors' TD4-PSP18 (feinanshan/TDNet, ``Testing/model/pspnet/td4_psp18.py``:
``td4_psp18(nclass=19, path_num=4)``, the Cityscapes checkpoint ``td4-psp18.pkl`` of their
release, a plain state dict that their test code loads with ``strict=True``) for
``configs/tdnet-td4-psp18_facevideo.py``.

Their sub-networks are numbered 1..4, ours 0..3: ``pretrained{p}`` (ResNet-18, mmseg's names)
-> ``backbones.{p-1}``; ``psp{p}.conv{k}`` (the pooled branch k) ->
``pyramid_pooling.{p-1}.ppm.{k-1}``; ``enc{p}.w_qs`` / ``w_ks`` / ``w_vs`` ->
``encodings.{p-1}.query`` / ``key`` / ``value``; ``atn{p}_{j}`` (sub-network p's step from the
frame of sub-network j) -> ``propagation.{p-1}_{j-1}``, its 1x1 conv ``fc`` our linear ``proj``
(the weight reshaped); ``layer_norm{p}.ln`` ->
``output_norm.{p-1}``; ``head{p}.conv5`` -> ``decode_head.{p-1}``. The biases of the first 1x1
conv of queries and keys fold into the running mean of the BatchNorm after it (ours have none).
The ImageNet classifier ``fc`` of each ResNet is in the checkpoint but never runs: dropped. Our
auxiliary heads (training only) are not in the release and keep their initialisation.
"""
from mmseg.datasets import CityscapesDataset

from ..core import ConversionRules, register

_CITYSCAPES = CityscapesDataset.METAINFO
_PATHS = range(1, 5)


def _path(p: int) -> tuple:
    """The renames of the authors' sub-network p (1..4) into ours, p - 1."""
    i = p - 1
    rules = [(rf'pretrained{p}\.(.*)', rf'backbones.{i}.\1')]
    for k in range(1, 5):
        ppm = f'pyramid_pooling.{i}.ppm.{k - 1}.1'
        rules += [(rf'psp{p}\.conv{k}\.0\.weight', rf'{ppm}.conv.weight'),
                  (rf'psp{p}\.conv{k}\.1\.(.*)', rf'{ppm}.bn.\1')]
    for theirs, ours in (('qs', 'query'), ('ks', 'key')):
        rules += [(rf'enc{p}\.w_{theirs}\.0\.conv\.weight', rf'encodings.{i}.{ours}.0.conv.weight'),
                  (rf'enc{p}\.w_{theirs}\.0\.bn\.(.*)', rf'encodings.{i}.{ours}.0.bn.\1'),
                  (rf'enc{p}\.w_{theirs}\.1\.conv\.(.*)', rf'encodings.{i}.{ours}.1.\1')]
    rules += [(rf'enc{p}\.w_vs\.0\.conv\.(.*)', rf'encodings.{i}.value.\1')]
    rules += [(rf'atn{p}_{j}\.fc\.0\.conv\.(.*)', rf'propagation.{i}_{j - 1}.proj.\1')
              for j in _PATHS if j != p]
    rules += [(rf'layer_norm{p}\.ln\.(.*)', rf'output_norm.{i}.\1'),
              (rf'head{p}\.conv5\.0\.weight', rf'decode_head.{i}.convs.0.conv.weight'),
              (rf'head{p}\.conv5\.1\.(.*)', rf'decode_head.{i}.convs.0.bn.\1'),
              (rf'head{p}\.conv5\.4\.(.*)', rf'decode_head.{i}.conv_seg.\1')]
    return tuple(rules)


def _folds(p: int) -> tuple:
    return tuple((rf'enc{p}\.w_{theirs}\.0\.conv\.bias',
                  rf'encodings.{p - 1}.{ours}.0.bn.running_mean')
                 for theirs, ours in (('qs', 'query'), ('ks', 'key')))


RULES = register(ConversionRules(
    name='tdnet',
    source_repo='https://github.com/feinanshan/TDNet',
    source_model='Testing/model/pspnet/td4_psp18.py: td4_psp18(nclass=19, path_num=4)',
    config='configs/tdnet-td4-psp18_facevideo.py',
    model_config='configs/_base_/models/tdnet-td4-psp18.py',
    renames=tuple(rule for p in _PATHS for rule in _path(p)),
    fold_bias=tuple(rule for p in _PATHS for rule in _folds(p)),
    unsqueeze=(r'propagation\.\d_\d\.proj\.weight',),
    unused=tuple(rf'pretrained{p}\.fc\.(weight|bias)' for p in _PATHS),
    optional=(r'auxiliary_head\..*',),
    signature=('pretrained1.conv1.weight', 'psp1.conv1.0.weight', 'enc1.w_qs.0.conv.weight',
               'atn1_2.fc.0.conv.weight', 'layer_norm1.ln.weight', 'head4.conv5.4.weight'),
    dataset_meta=dict(classes=list(_CITYSCAPES['classes']),
                      palette=[list(c) for c in _CITYSCAPES['palette']]),
    note='Cityscapes-trained (19 Cityscapes classes).',
))
