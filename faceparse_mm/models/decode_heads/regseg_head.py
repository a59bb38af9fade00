"""RegSeg's decoder ("decoder26"; Gao, "Rethinking Dilated Convolution for Real-time Semantic
Segmentation", arXiv 2111.09957, 2021; CVPR workshops 2023).

Inputs: the backbone's 1/4, 1/8 and 1/16 maps (RegSeg: 48, 128, 320 channels) -> logits
(N, num_classes, H/4, W/4) at the 1/4 map's size. Each input is projected by a 1x1 conv-BN-ReLU
(1/16 and 1/8 to 128, 1/4 to 8); the 1/16 projection is upsampled bilinearly and added to the 1/8
one, a 3x3 conv-BN-ReLU reduces the sum to 64; that is upsampled to 1/4 and concatenated (first)
with the 8-channel 1/4 projection; a 3x3 conv-BN-ReLU to 64 and the 1x1 classifier (with bias)
give the logits. The segmentor upsamples them to the image.

As the authors' ``Exp2_Decoder26`` (``blocks.py``): no dropout before the classifier (set
``dropout_ratio=0``) and ``align_corners=False``; with 19 classes it has their 174,947
parameters. Initialisation: without ``init_cfg`` every layer keeps PyTorch's default
initialisation, as the authors' code (the paper trains from scratch); mmseg's usual
``Normal(std=0.01)`` classifier init and mmcv's Kaiming re-draw of the ``ConvModule`` s run only
when an ``init_cfg`` is given.
"""
import torch
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import resize

from faceparse_mm.registry import MODELS

__all__ = ['RegSegDecoder26Head']


@MODELS.register_module()
class RegSegDecoder26Head(BaseDecodeHead):
    """Args (besides :class:`BaseDecodeHead`'s; ``in_channels`` and ``in_index`` are the 1/4,
    1/8 and 1/16 inputs, in that order, and ``channels`` the width of both 3x3 convs, 64):
        skip_channels: width of the 1/4 projection (8).
        proj_channels: width of the 1/8 and 1/16 projections, which are added (128).
        init_cfg: None: PyTorch's default initialisation (the authors').
    """

    def __init__(self, skip_channels: int = 8, proj_channels: int = 128, init_cfg=None,
                 **kwargs):
        super().__init__(input_transform='multiple_select', init_cfg=init_cfg, **kwargs)
        if len(self.in_channels) != 3:
            raise ValueError(f'expects the 1/4, 1/8 and 1/16 maps, got {self.in_channels}')
        c4, c8, c16 = self.in_channels
        cfg = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.head4 = ConvModule(c4, skip_channels, 1, **cfg)
        self.head8 = ConvModule(c8, proj_channels, 1, **cfg)
        self.head16 = ConvModule(c16, proj_channels, 1, **cfg)
        self.conv8 = ConvModule(proj_channels, self.channels, 3, padding=1, **cfg)
        self.conv4 = ConvModule(self.channels + skip_channels, self.channels, 3, padding=1, **cfg)

    def init_weights(self):
        """PyTorch's default initialisation (the authors') unless an ``init_cfg`` is given."""
        if self.init_cfg is not None:
            super().init_weights()

    def _up(self, x, like):
        return resize(x, size=like.shape[2:], mode='bilinear', align_corners=self.align_corners)

    def forward(self, inputs):
        x4, x8, x16 = self._transform_inputs(inputs)
        x4, x8, x16 = self.head4(x4), self.head8(x8), self.head16(x16)
        x8 = self.conv8(x8 + self._up(x16, x8))
        x4 = self.conv4(torch.cat([self._up(x8, x4), x4], dim=1))
        return self.cls_seg(x4)
