"""FaceFCNHead: mmseg's ``FCNHead`` (Long et al., "Fully Convolutional Networks", CVPR 2015)
with an optional bias-free classifier.

(N, C_in, H, W) -> ``num_convs`` conv-BN-ReLU (N, channels, H, W) -> 1x1 classifier
(N, num_classes, H, W). face-parsing.PyTorch's output layers (``BiSeNetOutput``: 3x3 conv-BN-ReLU,
then a 1x1 conv without bias) are this head with ``conv_seg_bias=False``, ``dropout_ratio=0``.
"""
from mmseg.models.decode_heads import FCNHead
from torch import nn

from faceparse_mm.registry import MODELS


@MODELS.register_module()
class FaceFCNHead(FCNHead):

    def __init__(self, conv_seg_bias: bool = True, **kwargs):
        super().__init__(**kwargs)
        if not conv_seg_bias:
            self.conv_seg = nn.Conv2d(self.channels, self.out_channels, kernel_size=1, bias=False)
