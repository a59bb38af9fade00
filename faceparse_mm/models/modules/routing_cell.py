"""The cell of Dynamic Routing's routing space (Li, Song, Chen, Li, Zhang, Wang, Sun, "Learning
Dynamic Routing for Semantic Segmentation", CVPR 2020, section 3.1-3.2).

:class:`RoutingCell`: the summed input of one node (N, C, H, W) -> up to three outputs, one per
route it may take, each weighted by its gate (:class:`~.routing_gate.SoftRoutingGate`, computed
from the same input)::

    h = SepConv3x3(x) + x                        (the cell: separable 3x3 + identity)
    r = ReLU(h)
    keep: g_keep * r                             (N, C, H, W)
    up:   g_up * resize(1x1 conv-BN-ReLU(r))     (N, C / 2, 2H, 2W): to the finer scale
    down: g_down * 1x1 conv-BN-ReLU, stride 2(r) (N, 2C, ceil(H / 2), ceil(W / 2)): coarser

SepConv3x3 is DARTS's ``sep_conv_3x3`` as the authors write it: depthwise 3x3, pointwise
1x1-BN-ReLU, depthwise 3x3, pointwise 1x1-BN (no norm or bias on the depthwise convs). An image
whose gates are all closed (sum below ``threshold``) passes its input on unchanged: keep = x, up =
down = 0 (the authors' ``gate_mask`` residual).

Inference really skips (``skip_closed=True``, which the backbone passes in eval mode): a cell
whose gates are all closed for every image of the batch runs no convolution after its gate
(keep = x; no up or down output); a route whose gate is closed for every image is not computed
(its contribution is below ``threshold`` times its output, zero for a gate at exactly 0: the
authors count such a route as not run in their real-cost accounting, though their code still
computes it). Training computes every route, as theirs. A cell that nothing reaches (every
route into it closed) is not run on the images either: :meth:`RoutingCell.forward_zero` gives
what it computes on the zero map that training feeds it (its BN offsets, borders included),
from its parameters alone, so skipping computes the trained function.

Cost, in multiply-adds (MACs) of the convolutions (BN, activations, pooling and resizing not
counted), per image: ``op_macs`` for the cell, ``route_macs`` for the up and down routes (keep is
free). The forward returns, with the outputs, the *expected* cost of each image, the paper's
differentiable node cost ``max(gates) * C(cell) + sum_r g_r * C(route_r)``, and the MACs it
actually ran (gate included). :func:`conv_macs` counts one conv.

The authors upsample by ``scale_factor=2`` (their inputs are padded to a multiple of 32); we
resize to the finer scale's size (``up_size``), the same map where the sizes divide, any size
otherwise. Every convolution of the cell and its routes is Kaiming-normal initialised with fan-in
(the authors').
"""
from __future__ import annotations

from typing import NamedTuple, Optional, Sequence

import torch
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule, build_activation_layer
from mmengine.model import kaiming_init
from mmseg.models.utils import resize
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

from .routing_gate import SoftRoutingGate

__all__ = ['CellOutput', 'RoutingCell', 'conv_macs']


def conv_macs(conv: nn.Conv2d, out_hw: Sequence[int]) -> int:
    """Multiply-adds of one image through ``conv`` whose output is (h, w) = ``out_hw`` (bias not
    counted: the convention of mmengine's and fvcore's counters)."""
    kh, kw = conv.kernel_size
    return (int(out_hw[0]) * int(out_hw[1]) * conv.out_channels * (conv.in_channels // conv.groups)
            * kh * kw)


def _module_macs(module: nn.Module, out_hw) -> int:
    """All convs of ``module``, each with output size ``out_hw``."""
    return sum(conv_macs(m, out_hw) for m in module.modules() if isinstance(m, nn.Conv2d))


class CellOutput(NamedTuple):
    """What one node passes on: the routed maps (None: not computed, i.e. zero), its gates, the
    expected cost of each image (MACs, differentiable in the gates), the MACs it ran for the
    whole batch, and whether the cell's operation ran."""
    keep: Optional[Tensor]
    up: Optional[Tensor]
    down: Optional[Tensor]
    gates: Tensor
    expected: Tensor
    executed: int
    ran: bool


class RoutingCell(nn.Module):
    """Args:
        channels: C, the width at this cell's scale (input, cell and keep output).
        allow_up: has the route to the finer scale (C / 2 channels out).
        allow_down: has the route to the coarser scale (2C channels out).
        gate_bias: initial bias of the gate's last conv (1.5, the authors').
        gate_weight_std: std of the gate's last conv's initial weights (0.01; None: the
            authors' Kaiming draw; see :class:`~.routing_gate.SoftRoutingGate`).
        threshold: a gate below it is closed (1e-4, the authors').
        conv_cfg, norm_cfg, act_cfg: mmcv configs of every conv-BN-activation.
        align_corners: of the up route's bilinear resize.

    ``routes`` names the routes in the gate's order: keep, then up, then down (the authors').
    """

    def __init__(self, channels: int, allow_up: bool, allow_down: bool, gate_bias: float = 1.5,
                 gate_weight_std: float = 0.01, threshold: float = 1e-4, conv_cfg=None,
                 norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU'),
                 align_corners: bool = False):
        super().__init__()
        self.channels = channels
        self.threshold = threshold
        self.align_corners = align_corners
        self.routes = ('keep', ) + ('up', ) * bool(allow_up) + ('down', ) * bool(allow_down)
        cfg = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        self.gate = SoftRoutingGate(channels, len(self.routes), bias_init=gate_bias,
                                    weight_std=gate_weight_std, act_cfg=act_cfg, **cfg)
        sep = dict(padding=1, dw_norm_cfg=None, dw_act_cfg=None, bias=False, **cfg)
        self.op = nn.Sequential(
            DepthwiseSeparableConvModule(channels, channels, 3, act_cfg=act_cfg, **sep),
            DepthwiseSeparableConvModule(channels, channels, 3, act_cfg=None, **sep))
        self.act = build_activation_layer(act_cfg)
        self.up = (ConvModule(channels, channels // 2, 1, bias=False, act_cfg=act_cfg, **cfg)
                   if allow_up else None)
        self.down = (ConvModule(channels, 2 * channels, 1, stride=2, bias=False, act_cfg=act_cfg,
                                **cfg) if allow_down else None)
        for m in (self.op, self.up, self.down):
            for conv in (m.modules() if m is not None else ()):
                if isinstance(conv, nn.Conv2d):
                    kaiming_init(conv, mode='fan_in')

    # ------------------------------------------------------------------ cost

    def op_macs(self, h: int, w: int) -> int:
        """MACs of one image through the separable 3x3 on an (h, w) map."""
        return _module_macs(self.op, (h, w))

    def route_macs(self, h: int, w: int) -> dict:
        """{route: MACs of one image} for an (h, w) input; keep is free."""
        out = {'keep': 0}
        if self.up is not None:
            out['up'] = _module_macs(self.up, (h, w))
        if self.down is not None:
            out['down'] = _module_macs(self.down, (-(-h // 2), -(-w // 2)))
        return out

    def full_macs(self, h: int, w: int) -> int:
        """MACs of one image with every gate open (cell and routes, the gate excluded)."""
        return self.op_macs(h, w) + sum(self.route_macs(h, w).values())

    def expected_cost(self, gates: Tensor, h: int, w: int) -> Tensor:
        """(N, R) gates -> (N,) expected MACs, in fp32: ``max(g) * C(cell) + sum g_r C(route_r)``
        (the paper's node cost; its gradient reaches every gate)."""
        g = gates.float()
        routes = self.route_macs(h, w)
        cost = g.max(dim=1).values * self.op_macs(h, w)
        for k, name in enumerate(self.routes):
            cost = cost + g[:, k] * routes[name]
        return cost

    # ------------------------------------------------------------------ forward

    def forward(self, x: Tensor, up_size: Sequence[int] | None = None,
                skip_closed: bool = False) -> CellOutput:
        """``x`` (N, C, H, W); ``up_size`` the finer scale's (H, W) for the up route (default
        2H, 2W); ``skip_closed``: skip what is closed (inference)."""
        n, _, h, w = x.shape
        gates = self.gate(x)
        expected = self.expected_cost(gates, h, w)
        executed = n * self.gate.macs(h, w)
        closed = gates.sum(dim=1) < self.threshold
        if skip_closed and bool(closed.all()):
            return CellOutput(x, None, None, gates, expected, executed, False)
        r = self.act(self.op(x) + x)
        executed += n * self.op_macs(h, w)
        route_macs = self.route_macs(h, w)
        out = {}
        for k, name in enumerate(self.routes):
            g = gates[:, k]
            if skip_closed and bool((g < self.threshold).all()):
                out[name] = None
                continue
            g = g.view(n, 1, 1, 1).to(r.dtype)
            if name == 'keep':
                out[name] = g * r
            elif name == 'up':
                size = tuple(up_size) if up_size is not None else (2 * h, 2 * w)
                out[name] = g * resize(self.up(r), size=size, mode='bilinear',
                                       align_corners=self.align_corners)
            else:
                out[name] = g * self.down(r)
            executed += n * route_macs[name]
        if not skip_closed or bool(closed.any()):
            # an image whose gates are all closed passes its input on (the authors' gate_mask)
            passed = closed.view(n, 1, 1, 1).to(x.dtype) * x
            out['keep'] = passed if out['keep'] is None else out['keep'] + passed
        return CellOutput(out['keep'], out.get('up'), out.get('down'), gates, expected, executed,
                          True)

    def _pointwise_norms(self) -> bool:
        """Whether every norm of the cell acts on each pixel alone (BatchNorm in eval mode with
        running statistics, as every config here), so that a map's values at a pixel depend
        only on the values around it, never on the map's size."""
        for m in self.modules():
            if isinstance(m, _BatchNorm):
                if m.training or m.running_mean is None:
                    return False
            elif isinstance(m, (nn.GroupNorm, nn.LayerNorm, _InstanceNorm)):
                return False
        return True

    def forward_zero(self, n: int, h: int, w: int, up_size: Sequence[int] | None = None,
                     like: Tensor | None = None) -> CellOutput:
        """What :meth:`forward` with ``skip_closed`` returns for a zero input (n, C, h, w) (a
        cell that nothing reaches at inference: the training computation runs it on the zero
        sum of its closed inputs), computed from the parameters without running on the map.

        On zeros, the first separable conv gives one value per channel (BN offsets through the
        ReLU) and the second one's zero-padded 3x3 depthwise conv turns that constant map into
        nine values: by whether a pixel is in the first, a middle or the last row and column.
        With per-pixel norms the cell therefore runs on a zero map of ``min(h, 3) x min(w, 3)``
        (the gate's pooled constant, ``r`` and the routes' 1x1 convs), and the result is
        expanded to (h, w) by that row / column class (the up route resized after, the stride-2
        down route sampled at even positions); otherwise on a full zero map of one image. The
        result is a constant of the parameters (an export would fold it): ``executed`` holds
        the MACs of the convolutions this computation ran (on the small map), which the
        backbone reports apart (``constant``), not as run on the images. ``like``: a tensor
        whose dtype and device the outputs take."""
        like = like if like is not None else self.gate.fc.weight
        compact = self._pointwise_norms()
        hc, wc = (min(h, 3), min(w, 3)) if compact else (h, w)
        z = like.new_zeros(1, self.channels, hc, wc)
        gates = self.gate(z).expand(n, -1)
        expected = self.expected_cost(gates, h, w)
        macs = self.gate.macs(hc, wc)
        if bool(gates[0].sum() < self.threshold):  # closed: passes its (zero) input on
            return CellOutput(None, None, None, gates, expected, macs, False)
        macs += self.op_macs(hc, wc)
        rows, cols = _classes(h, hc, z.device), _classes(w, wc, z.device)

        def full(t, rows=rows, cols=cols):  # one image's map from its row / column classes
            return t[:, :, rows][:, :, :, cols]

        r = self.act(self.op(z) + z)
        out = {}
        for k, name in enumerate(self.routes):
            g = gates[0, k]
            if bool(g < self.threshold):
                continue
            if name == 'keep':
                out[name] = g * full(r)
            elif name == 'up':
                size = tuple(up_size) if up_size is not None else (2 * h, 2 * w)
                out[name] = g * resize(full(self.up(r)), size=size, mode='bilinear',
                                       align_corners=self.align_corners)
                macs += _module_macs(self.up, (hc, wc))
            elif compact:  # the 1x1 stride-2 conv samples even rows / columns
                twice = r.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
                out[name] = g * full(self.down(twice), rows[::2], cols[::2])
                macs += _module_macs(self.down, (hc, wc))
            else:
                out[name] = g * self.down(r)
                macs += self.route_macs(hc, wc)['down']
        out = {k: v.expand(n, -1, -1, -1) for k, v in out.items()}
        return CellOutput(out.get('keep'), out.get('up'), out.get('down'), gates, expected, macs,
                          False)


def _classes(size: int, compact: int, device) -> Tensor:
    """Index of each of ``size`` positions into a compact axis: itself when not compacted, else
    0 (first), 1 (middle) or 2 (last)."""
    if compact == size:
        return torch.arange(size, device=device)
    return torch.tensor([0] + [1] * (size - 2) + [2], device=device)
