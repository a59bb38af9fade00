"""A ResNet (mmseg's ``ResNet``) whose blocks can dilate their second 3x3 conv at unchanged
strides: the ResNet-18 of the SFNet authors (lxtGH/SFSegNets, ``AlignNetResNet(variant='D')``)
and of the TDNet authors.

:class:`Conv2DilatedResNet` is mmseg's ``ResNet`` (same parameters, same state-dict names, so
mmseg's ImageNet weights load unchanged; ``deep_stem=True, avg_down=False`` is ``ResNetV1c``) with
one argument more, ``conv2_dilations``: per stage, the dilation (with the same padding) of
``conv2`` of every block of that stage, set after the stage is built, exactly as those authors
do (``m.dilation, m.padding = (2, 2), (2, 2)`` for every ``conv2`` of layer3, ``(4, 4)`` for
layer4). In a ``BasicBlock`` ``conv2`` is the second 3x3 conv (stride 1), in a ``Bottleneck`` the
3x3 conv (which also carries the block's stride in the ``pytorch`` style). The strides, and so
the output stride, do not change; no parameter changes.

Why not mmseg's ``dilations``: in mmseg's ``BasicBlock`` that argument dilates ``conv1`` and
leaves ``conv2`` at dilation 1; the authors' variant dilates ``conv2`` only (its ``conv1`` keeps
dilation 1 and, in the first block, stride 2). The two compute different functions from the same
weights. ``dilations`` still works as in mmseg; ``conv2_dilations`` overrides ``conv2`` only.
"""
from mmseg.models.backbones import ResNet

from faceparse_mm.registry import MODELS

__all__ = ['Conv2DilatedResNet']


@MODELS.register_module()
class Conv2DilatedResNet(ResNet):
    """mmseg's ``ResNet`` with ``conv2`` of every block of stage i dilated by
    ``conv2_dilations[i]`` (padding equal to the dilation, stride unchanged).

    Args:
        conv2_dilations: one dilation per stage (``num_stages`` values), e.g. ``(1, 1, 2, 4)``
            for the SFNet / TDNet authors' ResNet-18; None leaves every ``conv2`` as mmseg builds
            it (then this is mmseg's ``ResNet``).
        **kwargs: mmseg's ``ResNet`` arguments (``deep_stem=True, avg_down=False`` for the
            ``ResNetV1c`` stem).
    """

    def __init__(self, conv2_dilations=None, **kwargs):
        super().__init__(**kwargs)
        self.conv2_dilations = None if conv2_dilations is None else tuple(conv2_dilations)
        if self.conv2_dilations is None:
            return
        if len(self.conv2_dilations) != self.num_stages:
            raise ValueError(f'conv2_dilations needs one value per stage ({self.num_stages}), '
                             f'got {self.conv2_dilations}')
        for layer_name, dilation in zip(self.res_layers, self.conv2_dilations):
            for block in getattr(self, layer_name):
                conv = block.conv2
                if conv.kernel_size != (3, 3):
                    raise ValueError(f'{layer_name}: conv2 is not a 3x3 conv')
                conv.dilation = (dilation, dilation)
                conv.padding = (dilation, dilation)
