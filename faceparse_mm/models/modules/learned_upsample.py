"""Learned upsampling that starts as bilinear interpolation: the upsampling stage of DSRL's
semantic segmentation super-resolution branch (Wang et al., "Dual Super-Resolution Learning for
Semantic Segmentation", CVPR 2020, section 3.2), here on the class scores.

(B, C, H, W) -> (B, C, s H, s W) for an even factor s: a transposed convolution C -> C (kernel 2s,
stride s) on the input padded by one replicated pixel. Its weights start as the bilinear kernel on
the diagonal (channel c from channel c only) and no bias, which makes the output at
initialisation exactly ``F.interpolate(x, scale_factor=s, mode='bilinear',
align_corners=False)``, borders included (the replicated pixel stands in for the edge clamp);
training may then mix the channels near their boundaries (the learned upsampling of Long et al.,
FCN, CVPR 2015). C * C * 4 s^2 + C parameters (5,795 for 19 classes at s = 2).

What the paper specifies: an extra upsampling module appended to the segmentation decoder so that
the prediction is at twice the input's resolution; its layers here are our choice.
"""
import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn


def bilinear_kernel(scale: int) -> torch.Tensor:
    """The 1-D kernel (2 s,) of bilinear upsampling by ``scale`` (align_corners=False)."""
    centre = (2 * scale - 1) / 2
    return 1 - (torch.arange(2 * scale, dtype=torch.float32) - centre).abs() / scale


class LearnedUpsample(BaseModule):
    """Args: ``channels`` (C, in and out), ``scale_factor`` (s, even)."""

    def __init__(self, channels: int, scale_factor: int = 2, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if scale_factor < 2 or scale_factor % 2:
            raise ValueError(f'scale_factor must be even, got {scale_factor}')
        self.channels, self.scale_factor = channels, scale_factor
        # padding s / 2 aligns the kernel with align_corners=False; + s for the replicated pixel
        self.deconv = nn.ConvTranspose2d(channels, channels, 2 * scale_factor,
                                         stride=scale_factor,
                                         padding=scale_factor // 2 + scale_factor)
        self.reset_to_bilinear()

    def reset_to_bilinear(self) -> None:
        k = bilinear_kernel(self.scale_factor)
        with torch.no_grad():
            self.deconv.weight.zero_()
            idx = torch.arange(self.channels)
            self.deconv.weight[idx, idx] = k[:, None] * k[None, :]
            self.deconv.bias.zero_()

    def init_weights(self) -> None:
        super().init_weights()
        self.reset_to_bilinear()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.deconv(F.pad(x, (1, 1, 1, 1), mode='replicate'))


__all__ = ['LearnedUpsample', 'bilinear_kernel']
