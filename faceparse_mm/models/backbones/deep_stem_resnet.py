"""mmseg's ``ResNetV1c`` (the deep-stem ResNet) with the stem's max pool ``ceil_mode`` as an option.

The deep-stem ResNets of the segmentation codes in this zoo differ from mmseg's ``ResNetV1c`` in two
places that change what the network computes:

- The stem widths. mmseg's are ``stem_channels // 2``, ``stem_channels // 2``, ``stem_channels``
  (32-32-64 with its default 64) and layer1 reads ``stem_channels``; the authors' deep stems
  (PyTorch-Encoding, SFSegNets, torchcv) are 64-64-128 with layer1 reading 128. mmseg gives that
  with ``stem_channels=128``: no new code, so that argument is the option.
- The max pool after the stem. mmseg's is ``MaxPool2d(3, 2, padding=1)`` (floor); torchcv's
  ResNet (ANN's backbone) rounds up, ``ceil_mode=True``: an odd number of stem rows or columns
  minus one gives one more row / column (a 128 px input: 33 x 33 after the pool instead of
  32 x 32), and every later map follows. ``pool_ceil_mode`` selects it; the default (False) is
  mmseg's, so with it this class is ``ResNetV1c`` (same parameters, names and outputs).
"""
from mmseg.models.backbones import ResNetV1c

from faceparse_mm.registry import MODELS

__all__ = ['DeepStemResNet']


@MODELS.register_module()
class DeepStemResNet(ResNetV1c):
    """``ResNetV1c`` whose stem max pool rounds its output size up when ``pool_ceil_mode``.

    Args:
        pool_ceil_mode: ``ceil_mode`` of the max pool after the stem (False: mmseg's floor).
        **kwargs: ``ResNetV1c`` arguments (``stem_channels=128`` gives the 64-64-128 stem).
    """

    def __init__(self, pool_ceil_mode: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.pool_ceil_mode = pool_ceil_mode
        self.maxpool.ceil_mode = pool_ceil_mode
