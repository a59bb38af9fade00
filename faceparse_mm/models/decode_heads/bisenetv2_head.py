"""BiSeNet V2's segment head and booster heads (Yu et al., "BiSeNet V2: Bilateral Network with
Guided Aggregation for Real-time Semantic Segmentation", IJCV 2021, section 4.4), as the code of
CoinCheung/BiSeNet (``SegmentHead`` in ``lib/models/bisenetv2.py``) computes them.

(N, C_in, h, w) -> logits (N, num_classes, h, w), or (N, num_classes, 2h, 2w) with
``up_channels``::

    head:    3x3 conv-BN-ReLU to channels -> Dropout -> 1x1 conv (bias)
    booster: 3x3 conv-BN-ReLU to channels -> Dropout -> nearest x2
             -> 3x3 conv-BN-ReLU to up_channels -> 1x1 conv (bias)

The authors use the head (``channels=1024``) on the aggregated feature and four boosters
(``channels=128``, ``up_channels`` = the square of its input's stride: 16, 64, 256, 1024 on
the stem, S3, S4 and S5) in training. Their final bilinear upsampling of the logits to
the image is the segmentor's resize (mmseg's, ``align_corners=False`` as theirs). Differences from
mmseg's ``FCNHead`` (which mmseg uses for both): the dropout is element-wise
(``nn.Dropout``, not ``Dropout2d``) and sits right after the first conv (before the booster's
upsampling), and the boosters have the nearest-upsampled second conv instead of mmseg's two 3x3
convs at the input resolution (1.87M parameters for the four, against mmseg's 11.45M).
"""
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from torch import nn

from faceparse_mm.registry import MODELS

__all__ = ['BiSeNetV2SegmentHead']


@MODELS.register_module()
class BiSeNetV2SegmentHead(BaseDecodeHead):
    """Args (besides :class:`BaseDecodeHead`'s; ``dropout_ratio`` is the element-wise dropout
    after the first conv, 0.1 as the authors'):
        up_channels: None for the main head; for a booster, the width of the conv after the
            nearest x2 upsampling.
    """

    def __init__(self, up_channels=None, **kwargs):
        super().__init__(**kwargs)
        cfg = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.conv = ConvModule(self.in_channels, self.channels, 3, padding=1, **cfg)
        self.dropout = None  # BaseDecodeHead's Dropout2d before conv_seg: not the authors'
        self.drop = nn.Dropout(self.dropout_ratio) if self.dropout_ratio > 0 else nn.Identity()
        self.up_conv = None
        if up_channels is not None:
            self.up_conv = ConvModule(self.channels, up_channels, 3, padding=1, **cfg)
            self.conv_seg = nn.Conv2d(up_channels, self.out_channels, 1)

    def forward(self, inputs):
        x = self.drop(self.conv(self._transform_inputs(inputs)))
        if self.up_conv is not None:
            x = self.up_conv(F.interpolate(x, scale_factor=2, mode='nearest'))
        return self.cls_seg(x)
