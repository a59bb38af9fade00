"""Dynamic Routing's routing space (Li, Song, Chen, Li, Zhang, Wang, Sun, "Learning Dynamic
Routing for Semantic Segmentation", CVPR 2020): a stem to 1/4, then ``num_layers`` layers of
:class:`~faceparse_mm.models.modules.RoutingCell` s over ``num_scales`` scales, every cell
choosing, per image, how much of its output goes to the same scale, the finer one and the
coarser one (soft gates, ``max(0, tanh)``); a cell whose gates are all closed is skipped at
inference.

(N, 3, H, W) -> the last layer's ``num_scales`` maps, ``base_channels * 2**s`` channels at
stride ``4 * 2**s`` (L16: 64 @ 1/4, 128 @ 1/8, 256 @ 1/16, 512 @ 1/32; sizes ``ceil(h / 2**s)``
of the stem's (h, w)).

Layout, as the authors' ``DynamicNetwork`` (``dl_lib/modeling/dynamic_arch/dynamic_backbone.py``,
``playground/Dynamic/Seg.Layer16``)::

    stem: 3x3 conv-BN-ReLU, stride 2, no padding (64); depthwise 3x3 + 1x1-BN-ReLU (64);
          depthwise 3x3 stride 2 + 1x1-BN-ReLU (64)                          -> 1/4
    cell 0: one cell at 1/4 on the stem output (keep and down routes)
    layer l = 0 .. L-1: min(l + 2, S) cells, at 1/4 .. 1/2^(min(l+2,S)+1); the input of the
          cell at scale s is the sum of what reaches it: the down route of scale s - 1, the keep
          route of scale s and the up route of scale s + 1 of the layer before (those that
          exist); a cell has an up route unless s = 0 and a down route unless s = S - 1, and the
          last layer's cells only keep.

With L = 16, S = 4 that is the authors' ``CELL_NUM_LIST = [2, 3, 4] + [4] * 13`` and their
``allow_up`` / ``allow_down`` / ``[dim_up, dim_keep, dim_down]`` tables (``wiring`` holds it, a test
compares it with their rules); 62 cells. With the :class:`DynamicRoutingHead` and 19 classes the
model has the authors' 17,784,968 parameters, 2,523,125 of them in the gates.

Cost (MACs of the convolutions, see :mod:`~faceparse_mm.models.modules.routing_cell`): every
forward leaves :attr:`last_cost`: ``expected`` (N,) the paper's expected cost of the routing
space (the sum of the nodes' costs, differentiable in the gates; the budget loss's
C_expected), ``full`` the cost of the space with every gate open at this input size (C_max),
``executed`` the MACs this forward really ran on the images (stem, gates, cells and routes,
whole batch), ``constant`` the MACs of what it computed from the parameters alone (below),
``cells`` and ``cells_run`` (cells whose operation ran on the images). In eval mode with
``skip_closed`` a cell whose gates are all below ``gate_threshold``, or that receives nothing,
runs nothing on the images.

Skipping is exact: it computes what the computation without skipping (``skip_closed=False``,
the training computation, theirs and ours) computes. A closed route contributes zero there (a
gate of exactly 0 times its output; a gate in (0, ``gate_threshold``), rare, is dropped with a
contribution below the threshold times its output). A cell that every route into it closes
receives a zero map there, and its output on it is not zero (BN offsets through the ReLUs,
reaching the decoder): it is computed from the cell's parameters
(:meth:`RoutingCell.forward_zero`, on a map of at most 3 x 3), and a cell whose every input is
such a constant runs once, on one image, for the batch. Both are counted in ``constant``, not
in ``executed``: they do not depend on the image (an export would fold them; this module
recomputes them at every forward).

Where we depart from the authors' code:

- C_max: they divide by a constant (``FLOPS_ALL = 26300`` MFLOPs), about the all-open cost of
  the space at their 768 x 768 training crop in their counting (26,892 MFLOPs: MACs plus BN and
  ReLU counts), and fix every cell's cost at that size when the model is built. We count MACs of
  the input's real sizes and divide by the all-open cost at the same size, computed in the same
  forward: the ratio is size-free and in [0, 1].
- Cell 0's own operation counts in the expected cost, as the paper's formula counts every node
  (their code leaves it out, ``cal_flops=False``, and counts only its routes).
- The up route resizes to the finer scale's size instead of ``scale_factor=2`` (any input size;
  the same where sizes divide by 32).
- Inference drops what is closed, as the paper describes it (a zero gate drops its path): a route
  whose gate is closed for every image is not computed, and a cell that then receives nothing
  is not run on the images (its output on a zero map comes from its parameters, see above).
  The authors' code still computes the closed routes of a cell that runs (times 0) and drops
  only cells whose gates are all closed (summed over the batch); a cell fed by nothing but the
  up / down routes of such cells is dropped too (its output zero, or a float 0 that their
  decoder cannot take), where their training computes it on a zero map. We compute their
  training function at inference (tests/converters/test_dynamic_routing.py: their inference
  shortcut is 0.09% of the largest logit away from it on formula weights).

Initialisation: every convolution Kaiming-normal with fan-in, BN weight 1 and bias 0, the gates'
last bias 1.5 (the authors'), at construction, with one departure: the gates' last conv
weights are drawn with std 0.01 (``gate_weight_std``), so that every route starts open for every
image, where the authors' Kaiming draw (``None``) leaves about 1% of routes closed, without
gradient, from the first step (:mod:`~faceparse_mm.models.modules.routing_gate`). The
paper trains from scratch; without an ``init_cfg`` :meth:`init_weights` changes nothing (mmcv's
``ConvModule`` would otherwise re-draw the convs with fan-out).
"""
from __future__ import annotations

import torch
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from mmengine.model import BaseModule, kaiming_init
from torch import nn

from faceparse_mm.models.modules.routing_cell import RoutingCell, conv_macs
from faceparse_mm.registry import MODELS

__all__ = ['DynamicRoutingBackbone']


@MODELS.register_module()
class DynamicRoutingBackbone(BaseModule):
    """Args:
        in_channels: image channels.
        stem_channels: width of the stem's first two layers (64).
        base_channels: width at 1/4 (64); scale s has ``base_channels * 2**s``.
        num_layers: L, layers of the routing space after cell 0 (16).
        num_scales: S, scales 1/4 .. 1/2^(S+1) (4: down to 1/32).
        gate_bias: initial bias of every gate's last conv (1.5).
        gate_weight_std: std of every gate's last conv's initial weights (0.01: every route
            starts open); None: the authors' Kaiming draw (see the module docstring).
        gate_threshold: a gate below it is closed; a cell whose gates sum below it is skipped.
        skip_closed: in eval mode, skip closed cells and routes (False: compute everything, the
            training computation).
        conv_cfg, norm_cfg, act_cfg: mmcv configs of every layer.
        align_corners: of the up routes' bilinear resize.
        init_cfg: None: the authors' initialisation, see the module docstring.
    """

    def __init__(self, in_channels: int = 3, stem_channels: int = 64, base_channels: int = 64,
                 num_layers: int = 16, num_scales: int = 4, gate_bias: float = 1.5,
                 gate_weight_std: float = 0.01, gate_threshold: float = 1e-4,
                 skip_closed: bool = True, conv_cfg=None,
                 norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU'), align_corners=False,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if num_scales < 2 or num_layers < 1:
            raise ValueError(f'needs 2+ scales and 1+ layers, got {num_scales}, {num_layers}')
        self.num_layers, self.num_scales = num_layers, num_scales
        self.skip_closed = skip_closed
        self.out_channels = tuple(base_channels * 2 ** s for s in range(num_scales))
        cfg = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        sep = dict(padding=1, dw_norm_cfg=None, dw_act_cfg=None, bias=False, **cfg)
        self.stem = nn.Sequential(
            ConvModule(in_channels, stem_channels, 3, stride=2, padding=0, bias=False, **cfg),
            DepthwiseSeparableConvModule(stem_channels, stem_channels, 3, **sep),
            DepthwiseSeparableConvModule(stem_channels, base_channels, 3, stride=2, **sep))
        for m in self.stem.modules():
            if isinstance(m, nn.Conv2d):
                kaiming_init(m, mode='fan_in')
        cell = dict(gate_bias=gate_bias, gate_weight_std=gate_weight_std,
                    threshold=gate_threshold, align_corners=align_corners, **cfg)
        self.init_cell = RoutingCell(base_channels, allow_up=False, allow_down=True, **cell)
        self.layers = nn.ModuleList()
        # wiring[l][s]: the (route, scale) of layer l - 1 (cell 0 for l = 0) summed into cell s
        self.wiring = []
        width = 1  # cells in the layer before
        for layer in range(num_layers):
            cells, sources = nn.ModuleList(), []
            count = min(layer + 2, num_scales)
            last = layer == num_layers - 1
            for s in range(count):
                cells.append(RoutingCell(self.out_channels[s], allow_up=s > 0 and not last,
                                         allow_down=s < num_scales - 1 and not last, **cell))
                src = [('down', s - 1)] if s > 0 else []
                src += [('keep', s)] if s < width else []
                src += [('up', s + 1)] if s + 1 < width else []
                sources.append(tuple(src))
            self.layers.append(cells)
            self.wiring.append(tuple(sources))
            width = count
        self.last_cost = None

    def init_weights(self):
        """The construction-time initialisation (the authors') unless an ``init_cfg`` is
        given."""
        if self.init_cfg is not None:
            super().init_weights()

    def scale_sizes(self, stem_hw):
        """(h, w) of every scale for a stem output of ``stem_hw``: halved with ceil (the down
        routes' 1x1 stride-2 convs)."""
        sizes = [tuple(int(v) for v in stem_hw)]
        for _ in range(1, self.num_scales):
            sizes.append(tuple(-(-v // 2) for v in sizes[-1]))
        return sizes

    def forward(self, x):
        n = x.shape[0]
        skip = self.skip_closed and not self.training
        executed = 0
        for m in self.stem:
            x = m(x)
            executed += n * sum(conv_macs(c, x.shape[-2:]) for c in m.modules()
                                if isinstance(c, nn.Conv2d))
        sizes = self.scale_sizes(x.shape[-2:])
        expected = x.new_zeros(n, dtype=torch.float32)
        full, cells, cells_run, constant = 0, 0, 0, 0

        def run(cell, parts, s):
            """``parts``: the (map, static) pairs that reach the cell (static: the same for
            every image, a constant of the parameters). Returns (CellOutput, static)."""
            nonlocal expected, full, cells, cells_run, executed, constant
            full += cell.full_macs(*sizes[s])
            cells += 1
            up_size = sizes[s - 1] if s > 0 else None
            if not parts:  # nothing reaches it (every route into it closed): its output on
                # the zero map that the training computation gives it
                out = cell.forward_zero(n, *sizes[s], up_size=up_size, like=x)
                expected = expected + out.expected
                constant += out.executed
                return out, True
            inp = sum((p for p, _ in parts[1:]), parts[0][0])
            if all(static for _, static in parts):  # the same for every image: run on one
                out = cell(inp[:1], up_size=up_size, skip_closed=skip)
                constant += out.executed
                out = out._replace(**{
                    k: getattr(out, k).expand(n, *getattr(out, k).shape[1:])
                    for k in ('keep', 'up', 'down', 'gates', 'expected')
                    if getattr(out, k) is not None})
                expected = expected + out.expected
                return out, True
            out = cell(inp, up_size=up_size, skip_closed=skip)
            expected = expected + out.expected
            executed += out.executed
            cells_run += int(out.ran)
            return out, False

        prev = [run(self.init_cell, [(x, False)], 0)]
        for cells_of_layer, sources in zip(self.layers, self.wiring):
            outs = []
            for s, (cell, src) in enumerate(zip(cells_of_layer, sources)):
                parts = [(getattr(prev[j][0], route), prev[j][1]) for route, j in src]
                outs.append(run(cell, [(p, st) for p, st in parts if p is not None], s))
            prev = outs
        feats = tuple(
            out.keep if out.keep is not None else x.new_zeros(n, c, *sizes[s])
            for s, ((out, _), c) in enumerate(zip(prev, self.out_channels)))
        self.last_cost = dict(expected=expected if self.training else expected.detach(),
                              full=full, executed=executed, constant=constant, cells=cells,
                              cells_run=cells_run)
        return feats
