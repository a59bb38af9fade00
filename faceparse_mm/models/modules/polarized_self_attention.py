"""Polarized Self-Attention (Liu, Shao, Zhang, Lv and Zhang, "Polarized Self-Attention: Towards
High-quality Pixel-wise Regression", arXiv 2107.00782, 2021; Neurocomputing 2022).

(N, C, H, W) -> (N, C, H, W), the input rescaled by two gates that keep a high internal
resolution in the dimension they do not collapse:

- channel-only branch: ``Wq`` (1x1, C -> 1) gives one weight per position, softmax over the H x W
  positions; ``Wv`` (1x1, C -> C/2) values pooled by those weights into a (C/2)-vector; ``Wz``
  lifts it to C; sigmoid -> a gate per channel, ``A_ch(x) = sigmoid(...)`` of shape (N, C, 1, 1);
- spatial-only branch: ``Wq`` (1x1, C -> C/2) globally average-pooled, softmax over the C/2
  channels; ``Wv`` (1x1, C -> C/2); their product over channels is one value per position;
  sigmoid -> a gate per position, ``A_sp(x)`` of shape (N, 1, H, W).

``mode='parallel'`` (the paper's PSA_p) returns ``A_ch(x) * x + A_sp(x) * x``;
``mode='sequential'`` (PSA_s) returns ``A_sp(y) * y`` with ``y = A_ch(x) * x``.

Where the authors' code (DeLightCMU/PSA) and the paper differ:

- ``Wz``. The paper: a 1x1 conv C/2 -> C, LayerNorm, sigmoid. The authors' PSA_p: the 1x1 conv
  and no LayerNorm; their PSA_s: a bottleneck C/2 -> C/8 (bias) -> LayerNorm over the C/8
  channels (affine) -> ReLU -> C (bias). The parameter counts the zoo matches are the authors'
  (at C = 512: PSA_p 524,800, PSA_s 443,584), so each mode's default ``Wz`` is the authors'
  layout for that mode (``channel_reduction`` None or 4); the paper's LayerNorm over the C
  channels after ``Wz`` is ``channel_norm`` (no affine terms, so it adds no parameters), on by
  default in parallel mode (the authors' PSA_p lacks it), off in sequential mode (the
  authors' bottleneck normalises inside).
- The spatial-only softmax. The paper applies it to the pooled query over the channels
  (``spatial_softmax='channels'``). The authors' PSA_s, the module their segmentation model
  uses, applies it to each value channel over the H x W positions, before the product
  (``'values'``); their PSA_p applies it to the product, over the positions (``'positions'``).
  The default ``'auto'`` is the authors' code for the mode (``'positions'`` for parallel,
  ``'values'`` for sequential). Both of the authors' variants give a spatial gate that stays
  within O(1 / (H W)) of sigmoid(0) = 1/2 (a softmax over positions sums to 1), the paper's does
  not.
- No conv has a bias except inside the authors' bottleneck, as theirs. Default PyTorch init.

Pure PyTorch, any H x W, batch 1, no BatchNorm.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from faceparse_mm.registry import MODELS

__all__ = ['PolarizedSelfAttention']

_MODES = ('parallel', 'sequential')
_SPATIAL_SOFTMAX = ('channels', 'values', 'positions')
_AUTHORS_SOFTMAX = dict(parallel='positions', sequential='values')
_AUTHORS_REDUCTION = dict(parallel=None, sequential=4)
_PAPER_NORM = dict(parallel=True, sequential=False)


class _ChannelNorm(nn.Module):
    """LayerNorm over the channels of an (N, C, 1, 1) vector, no affine terms (the paper's LN)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, x.shape[1:])


@MODELS.register_module()
class PolarizedSelfAttention(BaseModule):
    """PSA_p / PSA_s.

    Args:
        in_channels: C, input and output channels (the name ResNet/HRNet plug-ins are given).
        mode: 'parallel' (PSA_p) or 'sequential' (PSA_s).
        inter_channels: width of the values and queries (default C // 2, the paper's).
        channel_reduction: None for the paper's ``Wz`` (one 1x1 conv inter -> C), or r for the
            authors' bottleneck inter -> inter // r -> C. 'auto': the authors' per mode
            (None for parallel, 4 for sequential).
        channel_norm: the paper's LayerNorm over C after ``Wz``; 'auto': on in parallel mode,
            off in sequential mode (see the module docstring).
        spatial_softmax: 'channels' (the paper), 'values' (the authors' PSA_s) or 'positions'
            (the authors' PSA_p); 'auto': the authors' for the mode.
    """

    def __init__(self, in_channels: int, mode: str = 'parallel',
                 inter_channels: Optional[int] = None, channel_reduction='auto',
                 channel_norm='auto', spatial_softmax: str = 'auto', init_cfg=None):
        super().__init__(init_cfg)
        if mode not in _MODES:
            raise ValueError(f'PolarizedSelfAttention: mode must be one of {_MODES}, got {mode!r}')
        if spatial_softmax == 'auto':
            spatial_softmax = _AUTHORS_SOFTMAX.get(mode)
        if spatial_softmax not in _SPATIAL_SOFTMAX:
            raise ValueError(f'PolarizedSelfAttention: spatial_softmax must be one of '
                             f'{_SPATIAL_SOFTMAX}, got {spatial_softmax!r}')
        channels = in_channels
        inter = inter_channels or channels // 2
        if channel_reduction == 'auto':
            channel_reduction = _AUTHORS_REDUCTION[mode]
        if channel_norm == 'auto':
            channel_norm = _PAPER_NORM[mode]
        self.mode, self.spatial_softmax = mode, spatial_softmax
        # channel-only branch
        self.ch_query = nn.Conv2d(channels, 1, 1, bias=False)
        self.ch_value = nn.Conv2d(channels, inter, 1, bias=False)
        if channel_reduction is None:
            wz = [nn.Conv2d(inter, channels, 1, bias=False)]
        else:
            mid = inter // channel_reduction
            if mid < 1:
                raise ValueError(f'PolarizedSelfAttention: channel_reduction={channel_reduction} '
                                 f'leaves no channel of {inter}')
            wz = [nn.Conv2d(inter, mid, 1), nn.LayerNorm([mid, 1, 1]), nn.ReLU(inplace=True),
                  nn.Conv2d(mid, channels, 1)]
        if channel_norm:
            wz.append(_ChannelNorm())
        self.ch_up = nn.Sequential(*wz)
        # spatial-only branch
        self.sp_query = nn.Conv2d(channels, inter, 1, bias=False)
        self.sp_value = nn.Conv2d(channels, inter, 1, bias=False)

    def channel_gate(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> the channel-only gate, (N, C, 1, 1), in (0, 1)."""
        weights = self.ch_query(x).flatten(2).softmax(-1)  # (N, 1, HW), over positions
        values = self.ch_value(x).flatten(2)  # (N, inter, HW)
        z = torch.matmul(values, weights.transpose(1, 2)).unsqueeze(-1)  # (N, inter, 1, 1)
        return torch.sigmoid(self.ch_up(z))

    def spatial_gate(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> the spatial-only gate, (N, 1, H, W), in (0, 1)."""
        n, _, h, w = x.shape
        query = self.sp_query(x).mean((2, 3)).unsqueeze(1)  # (N, 1, inter)
        if self.spatial_softmax == 'channels':
            query = query.softmax(-1)
        values = self.sp_value(x).flatten(2)  # (N, inter, HW)
        if self.spatial_softmax == 'values':
            values = values.softmax(-1)
        logits = torch.matmul(query, values)  # (N, 1, HW)
        if self.spatial_softmax == 'positions':
            logits = logits.softmax(-1)
        return torch.sigmoid(logits).view(n, 1, h, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == 'parallel':
            return self.channel_gate(x) * x + self.spatial_gate(x) * x
        y = self.channel_gate(x) * x
        return self.spatial_gate(y) * y
