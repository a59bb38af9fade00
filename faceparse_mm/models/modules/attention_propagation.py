"""TDNet's attention propagation (Hu, Caba Heilbron, Wang, Lin, Sclaroff and Perazzi,
"Temporally Distributed Networks for Fast Video Semantic Segmentation", CVPR 2020).

Each sub-network encodes its feature z (N, C, H, W) into queries, keys and values
(:class:`TemporalEncoding`):

- the current frame: queries (N, H W, d_k) and values (N, C_v, H, W) at full resolution;
- a frame kept for the next frames: queries, keys (N, P, d_k) and values (N, P, C_v) of z
  subsampled by ``memory_stride`` (every s-th row and column, P = ceil(H / s) ceil(W / s)),
  so that what is kept and attended to is s^2 times smaller.

A query q is 1x1 conv C -> d_k, BN, LeakyReLU, 1x1 conv d_k -> d_k (with bias); a key the same
with its own weights; a value one 1x1 conv C -> C_v (with bias). d_k = 64 in TDNet.

:class:`AttentionPropagation` moves values from one frame to the next:
``out = proj(dropout(softmax(Q K^T / sqrt(d_k))) V)`` (N, Q, C_v), the softmax over the source
frame's P positions (each row of the attention sums to one), ``proj`` a linear map C_v -> C_v
with bias, then dropout. TDNet chains it over the previous m - 1 frames, oldest first: the values
propagated into a frame are added to that frame's own values before the next step, and the last
step's queries are the current frame's full-resolution ones.

As the authors' ``Encoding`` and ``Attention`` (feinanshan/TDNet, transformer.py), including the
dropouts (0.1 on the attention and on the output) and the subsampling by a 1x1 max pool of
stride 4 (= taking every 4th pixel). Differences: the first conv of the query and key has no
bias (a BN follows it; the authors keep one, 64 parameters each) and ``proj`` is a linear layer
where the authors apply a 1x1 conv to each position (the same map and parameters).
"""
from __future__ import annotations

import math

import torch
from mmcv.cnn import ConvModule
from torch import nn

from faceparse_mm.registry import MODELS

__all__ = ['AttentionPropagation', 'TemporalEncoding']


def _flatten(x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, H W, C)."""
    return x.flatten(2).transpose(1, 2)


@MODELS.register_module()
class TemporalEncoding(nn.Module):
    """Queries, keys and values of one sub-network's feature.

    Args:
        in_channels: C of the feature.
        key_channels: d_k (TDNet: 64).
        value_channels: C_v (default C).
        memory_stride: s, the subsampling of the frames kept for later ones (TDNet: 4).
        norm_cfg, act_cfg: of the first conv of the query and key (TDNet: BN, LeakyReLU).
    """

    def __init__(self, in_channels: int, key_channels: int = 64,
                 value_channels: int | None = None, memory_stride: int = 4,
                 norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='LeakyReLU', negative_slope=0.01)):
        super().__init__()
        value_channels = in_channels if value_channels is None else value_channels
        if memory_stride < 1:
            raise ValueError(f'memory_stride must be >= 1, got {memory_stride}')
        self.key_channels, self.value_channels = key_channels, value_channels
        self.memory_stride = memory_stride

        def projection():
            return nn.Sequential(
                ConvModule(in_channels, key_channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg),
                nn.Conv2d(key_channels, key_channels, 1))
        self.query = projection()
        self.key = projection()
        self.value = nn.Conv2d(in_channels, value_channels, 1)

    def forward(self, x: torch.Tensor):
        """The current frame: ``(queries (N, H W, d_k), values (N, C_v, H, W))``."""
        return _flatten(self.query(x)), self.value(x)

    def memory(self, x: torch.Tensor, with_query: bool = True):
        """A frame kept for later ones, subsampled: ``(queries or None, keys, values)``, each
        (N, P, .). The oldest kept frame is never a query (``with_query=False``)."""
        s = self.memory_stride
        x = x[..., ::s, ::s]
        query = _flatten(self.query(x)) if with_query else None
        return query, _flatten(self.key(x)), _flatten(self.value(x))


@MODELS.register_module()
class AttentionPropagation(nn.Module):
    """One propagation step from a source frame to a target frame.

    Args:
        channels: C_v of the values.
        key_channels: d_k of the queries and keys.
        attn_drop, proj_drop: dropout on the attention and on the output (TDNet: 0.1, 0.1).
    """

    def __init__(self, channels: int, key_channels: int = 64, attn_drop: float = 0.1,
                 proj_drop: float = 0.1):
        super().__init__()
        self.scale = 1 / math.sqrt(key_channels)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(channels, channels)
        self.proj_drop = nn.Dropout(proj_drop)

    def attention(self, query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
        """(N, Q, d_k), (N, P, d_k) -> (N, Q, P), each row a softmax over the P sources."""
        return torch.softmax(torch.bmm(query, key.transpose(1, 2)) * self.scale, dim=-1)

    def forward(self, key: torch.Tensor, value: torch.Tensor, query: torch.Tensor,
                size=None) -> torch.Tensor:
        """Source keys (N, P, d_k) and values (N, P, C_v), target queries (N, Q, d_k) ->
        (N, Q, C_v), or (N, C_v, H, W) when ``size`` = (H, W) with H W = Q."""
        out = torch.bmm(self.attn_drop(self.attention(query, key)), value)
        out = self.proj_drop(self.proj(out))
        if size is not None:
            out = out.transpose(1, 2).reshape(out.shape[0], -1, *size)
        return out
