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
(its contribution is below ``threshold`` times its output: the authors count such a route as not
run in their real-cost accounting, though their code still computes it). Training computes
every route, as theirs.

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

from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule, build_activation_layer
from mmengine.model import kaiming_init
from mmseg.models.utils import resize
from torch import Tensor, nn

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
