"""Single-image super-resolution decoder: the SISR branch of DSRL (Wang et al., "Dual
Super-Resolution Learning for Semantic Segmentation", CVPR 2020, section 3.2), a training-only
decoder on the segmentation network's shared encoder that reconstructs the image at twice the
network's input resolution.

Backbone features (a list; C5 = inputs[in_index], (B, in_channels, h, w), and the low-level
C2 = inputs[c1_index], (B, c1_in_channels, h1, w1)) -> (features, image):

- features (B, channels, h1, w1): a DeepLabV3+-style fusion without ASPP: 1x1 conv of C5 to
  ``channels``, bilinear to C2's size, concatenated with a 1x1 conv of C2 to ``c1_channels``,
  two 3x3 convs to ``channels``. These are the SISR features the feature affinity loss compares
  with the segmentation decoder's.
- image (B, out_channels, 2^k h1, 2^k w1): k = len(up_channels) sub-pixel stages (Shi et al.,
  ESPCN, CVPR 2016), each a 3x3 conv to 4 c then a 2x pixel shuffle to c channels, then a 3x3
  conv to ``out_channels`` (no norm, no activation: the target is the normalised image). With C2
  at 1/4 of the input, three stages give twice the input; ``forward(..., out_size=)`` resizes
  to an exact size when they do not meet it (odd inputs).

What the paper specifies: the SISR branch shares the encoder, reconstructs the high-resolution
image under an MSE loss and is dropped at inference; its layers were never published. The
layers and widths here are our choice (decoder input as DeepLabV3+'s, sub-pixel upsampling as
the super-resolution literature does).
"""
from typing import List, Optional, Sequence

import torch
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmseg.models.utils import resize
from torch import nn

from faceparse_mm.registry import MODELS


@MODELS.register_module()
class SISRDecoder(BaseModule):
    """Args:
        in_channels, in_index: C5's channels and place in the backbone outputs.
        c1_in_channels, c1_index, c1_channels: C2's channels, place, and its 1x1 conv's width.
        channels: width of the fused features (the ones compared by the affinity loss).
        up_channels: output width of each 2x sub-pixel stage.
        out_channels: 3 (an RGB image).
        conv_cfg, norm_cfg, act_cfg, align_corners: as mmseg's heads.
    """

    def __init__(self, in_channels: int, c1_in_channels: int, channels: int = 256,
                 c1_channels: int = 48, up_channels: Sequence[int] = (64, 32, 16),
                 out_channels: int = 3, in_index: int = -1, c1_index: int = 0, conv_cfg=None,
                 norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU'),
                 align_corners: bool = False, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.in_index, self.c1_index = in_index, c1_index
        self.channels, self.align_corners = channels, align_corners
        convs = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.reduce = ConvModule(in_channels, channels, 1, **convs)
        self.c1_reduce = ConvModule(c1_in_channels, c1_channels, 1, **convs)
        self.fuse = nn.Sequential(
            ConvModule(channels + c1_channels, channels, 3, padding=1, **convs),
            ConvModule(channels, channels, 3, padding=1, **convs))
        stages, width = [], channels
        for c in up_channels:
            stages += [ConvModule(width, 4 * c, 3, padding=1, **convs), nn.PixelShuffle(2)]
            width = c
        self.upsample = nn.Sequential(*stages)
        self.reconstruct = nn.Conv2d(width, out_channels, 3, padding=1)

    def forward(self, inputs: List[torch.Tensor], out_size: Optional[Sequence[int]] = None):
        """-> (features (B, channels, h1, w1), image (B, out_channels, H, W))."""
        c1 = self.c1_reduce(inputs[self.c1_index])
        x = resize(self.reduce(inputs[self.in_index]), size=c1.shape[2:], mode='bilinear',
                   align_corners=self.align_corners)
        features = self.fuse(torch.cat([x, c1], dim=1))
        image = self.reconstruct(self.upsample(features))
        if out_size is not None and tuple(image.shape[-2:]) != tuple(out_size):
            image = resize(image, size=tuple(out_size), mode='bilinear',
                           align_corners=self.align_corners)
        return features, image


__all__ = ['SISRDecoder']
