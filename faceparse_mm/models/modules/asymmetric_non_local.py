"""Asymmetric non-local blocks of ANN (Zhu, Xu, Bai, Huang and Bai, "Asymmetric Non-local Neural
Networks for Semantic Segmentation", ICCV 2019, arXiv 1908.07678).

A non-local block whose keys and values are not every position of the map but a few pooled
anchors: each of the key and value maps is average-pooled to s x s for every scale s (adaptive
pooling, scales (1, 3, 6, 8) by default), flattened and concatenated, so there are
S = sum(s^2) anchors (110) whatever the input size. Every query position attends over them:

    A = softmax(Q K^T / sqrt(key_channels))  (over the S anchors),  context = A V,

and the context, back on the query's H x W grid, goes through an output projection W (1x1 conv
with bias, value_channels -> out_channels). Two blocks:

- :class:`AsymmetricPyramidNonLocal` (APNB): x (N, C, H, W) -> (N, out_channels, H, W). Query and
  key share one projection (1x1 conv + BN + ReLU); value is a plain 1x1 conv with bias; the
  output is a 1x1 conv + BN + ReLU over concat(W(context), x), then Dropout2d.
- :class:`AsymmetricFusionNonLocal` (AFNB): low (N, C_low, h, w) and high (N, C_high, H, W) ->
  (N, out_channels, H, W). Queries come from the high-level map, keys and values from the
  low-level one (projections as APNB's, but query and key separate); the output is a 1x1 conv +
  BN + activation over concat(W(context), high), then Dropout2d. The two maps may differ in
  size: only the anchors of the low map are used.

W starts at zero (weights and bias), so that each block starts as its fusion conv over
concat(0, x): the attention branch contributes nothing until W learns. The zeros are set by
:meth:`init_weights` (as mmseg's ResNet zeroes its last BN per block with ``zero_init_residual``)
and set again after any ``init_cfg`` or enclosing model's initialiser has run, so a segmentor's
``init_weights()`` (the runner calls it before training) leaves W at zero. A block that is only
constructed keeps PyTorch's default W: with W = 0 no gradient reaches the query, key and value
projections in the first step (they start training from the second), which a one-step gradient
check of a freshly built model would report.

Follows the authors' code (MendelXu/ANN: their ``APNB`` and ``AFNB``) except:

- The authors' AFNB fuses with conv + BN + Dropout2d, without the ReLU that the paper's figure
  and the APNB have; ``fusion_act_cfg`` (default ReLU, the paper's) selects it; ``None`` gives
  the authors' block.
- The 1x1 convs followed by a BN have no bias here (mmcv's ``ConvModule``): the BN cancels it. The
  authors' APNB(512, 512, 256, 256) has 920,576 parameters, this one 768 fewer (the query-key
  and fusion biases); their AFNB(1024, 2048, 2048, 256, 256) 9,971,456, this one 2,560 fewer.
- The authors' ``scale`` option (max-pooling the query map before attention) is 1 in their
  models and is not reproduced; W's output width is ``out_channels`` and APNB's fusion conv reads
  out_channels + in_channels channels (the authors write 2 * in_channels, the same when
  out_channels = in_channels, as in their model).

Q K^T and the softmax are computed in float32 (safe under autocast); the context is cast back.
"""
from typing import Sequence

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import nn

from faceparse_mm.registry import MODELS

__all__ = ['AsymmetricFusionNonLocal', 'AsymmetricPyramidNonLocal', 'anchor_attention',
           'num_anchors', 'pyramid_sample']


def num_anchors(scales: Sequence[int]) -> int:
    """Number of anchors the pyramid sampling gives: sum(s^2) over the scales."""
    return sum(s * s for s in scales)


def pyramid_sample(x: torch.Tensor, scales: Sequence[int]) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, sum(s^2)): adaptive average pooling to s x s for every scale,
    each flattened row-major, concatenated in the order of ``scales``."""
    n, c = x.shape[:2]
    return torch.cat([F.adaptive_avg_pool2d(x, s).view(n, c, s * s) for s in scales], 2)


def anchor_attention(query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
    """query (N, K, H, W), key anchors (N, K, S) -> attention (N, H * W, S): softmax over the S
    anchors of Q K^T / sqrt(K), in float32; every row sums to one."""
    q = query.flatten(2).transpose(1, 2).float()
    sim = torch.bmm(q, key.float()) * query.size(1) ** -0.5
    return sim.softmax(dim=-1)


def _context(attention: torch.Tensor, value: torch.Tensor, size) -> torch.Tensor:
    """attention (N, H * W, S), value anchors (N, V, S) -> context (N, V, H, W)."""
    ctx = torch.bmm(value.float(), attention.transpose(1, 2))
    return ctx.view(*value.shape[:2], *size).to(value.dtype)


class _ZeroOutputProjection(BaseModule):
    """A block with an output projection ``self.out_proj`` that starts at zero."""

    def _zero_out_proj(self):
        with torch.no_grad():
            self.out_proj.weight.zero_()
            self.out_proj.bias.zero_()

    def init_weights(self):
        """The block's (and any ``init_cfg``'s) initialisation, then W (weights, bias) = 0."""
        super().init_weights()
        self._zero_out_proj()


@MODELS.register_module()
class AsymmetricPyramidNonLocal(_ZeroOutputProjection):
    """APNB: self-attention of every position over the pyramid-pooled anchors of the same map.

    Args:
        in_channels: C of the input.
        out_channels: channels of W's output and of the block's output.
        key_channels: width of the shared query / key projection (the authors' 256).
        value_channels: width of the value projection (the authors' 256).
        scales: pooling sizes of the anchors (the paper's (1, 3, 6, 8): 110 anchors).
        dropout_ratio: Dropout2d after the fusion conv (the authors' 0.05).
        conv_cfg, norm_cfg, act_cfg: of the query / key projection and the fusion conv.
    """

    def __init__(self, in_channels: int, out_channels: int, key_channels: int,
                 value_channels: int, scales: Sequence[int] = (1, 3, 6, 8),
                 dropout_ratio: float = 0.05, conv_cfg=None, norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU'), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.scales = tuple(scales)
        cfg = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        # one projection for both queries and keys (the paper's and the authors' APNB)
        self.query_key = ConvModule(in_channels, key_channels, 1, **cfg)
        self.value = nn.Conv2d(in_channels, value_channels, 1)
        self.out_proj = nn.Conv2d(value_channels, out_channels, 1)
        self.fusion = ConvModule(out_channels + in_channels, out_channels, 1, **cfg)
        self.dropout = nn.Dropout2d(dropout_ratio) if dropout_ratio > 0 else nn.Identity()

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, H * W, S) attention of every position over the anchors."""
        qk = self.query_key(x)
        return anchor_attention(qk, pyramid_sample(qk, self.scales))

    def context(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> W(A V), (N, out_channels, H, W): the attention branch."""
        value = pyramid_sample(self.value(x), self.scales)
        return self.out_proj(_context(self.attention(x), value, x.shape[2:]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.fusion(torch.cat([self.context(x), x], 1)))


@MODELS.register_module()
class AsymmetricFusionNonLocal(_ZeroOutputProjection):
    """AFNB: the high-level map's positions attend over the low-level map's pyramid anchors.

    Args:
        low_channels: channels of the low-level map (keys, values; the authors' C4, 1024).
        high_channels: channels of the high-level map (queries, fused; the authors' C5, 2048).
        out_channels: channels of W's output and of the block's output (the authors' 2048).
        key_channels: width of the query and the key projections (the authors' 256).
        value_channels: width of the value projection (the authors' 256).
        scales: pooling sizes of the anchors (the paper's (1, 3, 6, 8): 110 anchors).
        dropout_ratio: Dropout2d after the fusion conv (the authors' 0.05).
        conv_cfg, norm_cfg, act_cfg: of the projections and the fusion conv.
        fusion_act_cfg: activation after the fusion conv's BN; ``'default'``: ``act_cfg`` (the
            paper's ConvBNReLU); ``None``: none (the authors' code).
    """

    def __init__(self, low_channels: int, high_channels: int, out_channels: int,
                 key_channels: int, value_channels: int, scales: Sequence[int] = (1, 3, 6, 8),
                 dropout_ratio: float = 0.05, conv_cfg=None, norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU'), fusion_act_cfg='default', init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.scales = tuple(scales)
        cfg = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.query = ConvModule(high_channels, key_channels, 1, **cfg)
        self.key = ConvModule(low_channels, key_channels, 1, **cfg)
        self.value = nn.Conv2d(low_channels, value_channels, 1)
        self.out_proj = nn.Conv2d(value_channels, out_channels, 1)
        if fusion_act_cfg == 'default':
            fusion_act_cfg = act_cfg
        self.fusion = ConvModule(out_channels + high_channels, out_channels, 1,
                                 conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=fusion_act_cfg)
        self.dropout = nn.Dropout2d(dropout_ratio) if dropout_ratio > 0 else nn.Identity()

    def attention(self, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
        """-> (N, H * W, S): attention of every high-map position over the low map's anchors."""
        return anchor_attention(self.query(high), pyramid_sample(self.key(low), self.scales))

    def context(self, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
        """-> W(A V), (N, out_channels, H, W) on the high map's grid: the attention branch."""
        value = pyramid_sample(self.value(low), self.scales)
        return self.out_proj(_context(self.attention(low, high), value, high.shape[2:]))

    def forward(self, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.fusion(torch.cat([self.context(low, high), high], 1)))
