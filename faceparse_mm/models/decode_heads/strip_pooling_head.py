"""SPNet head (Hou et al., "Strip Pooling: Rethinking Spatial Pooling for Scene Parsing", CVPR
2020): a 1x1 conv + BN + ReLU (C5 2048 -> 1024), two mixed pooling modules
(:class:`~faceparse_mm.models.modules.MixedPooling`), a 3x3 conv + BN + ReLU to ``channels``
(512), dropout 0.1 and the 1x1 classifier.

(N, in_channels, H, W) -> logits (N, num_classes, H, W). As the authors' ``SPHead``
(``models/spnet.py``): the transform width is ``in_channels // 2`` and each MPM runs at a quarter
of it; their dropout (``Dropout2d``) and biased classifier are mmseg's ``cls_seg``. With
``in_channels=2048, channels=512`` and 19 classes it has their 15,623,699 parameters.
"""
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from torch import nn

from faceparse_mm.models.modules.mixed_pooling import MixedPooling
from faceparse_mm.registry import MODELS

__all__ = ['StripPoolingHead']


@MODELS.register_module()
class StripPoolingHead(BaseDecodeHead):
    """Args (besides :class:`BaseDecodeHead`'s):
        transform_channels: width of the MPMs; ``None``: ``in_channels // 2``.
        num_mpms: how many MPMs in sequence (2).
        pool_sizes: the MPMs' square pool sizes ((20, 12)).
        mpm_reduction: an MPM's paths run at ``transform_channels // mpm_reduction``.
    """

    def __init__(self, transform_channels=None, num_mpms: int = 2, pool_sizes=(20, 12),
                 mpm_reduction: int = 4, **kwargs):
        super().__init__(**kwargs)
        width = transform_channels or self.in_channels // 2
        self.transform = ConvModule(self.in_channels, width, 1, conv_cfg=self.conv_cfg,
                                    norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.mpms = nn.Sequential(*(
            MixedPooling(width, pool_sizes, mpm_reduction, conv_cfg=self.conv_cfg,
                         norm_cfg=self.norm_cfg, act_cfg=self.act_cfg,
                         align_corners=self.align_corners) for _ in range(num_mpms)))
        self.bottleneck = ConvModule(width, self.channels, 3, padding=1, conv_cfg=self.conv_cfg,
                                     norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)

    def forward(self, inputs):
        x = self._transform_inputs(inputs)
        return self.cls_seg(self.bottleneck(self.mpms(self.transform(x))))
