"""The soft conditional gate of Dynamic Routing (Li, Song, Chen, Li, Zhang, Wang, Sun, "Learning
Dynamic Routing for Semantic Segmentation", CVPR 2020, section 3.2).

:class:`SoftRoutingGate`: a cell's input (N, C, H, W) -> (N, R) route weights in [0, 1], one per
route the cell may take (keep the scale, go up, go down)::

    x -> 1x1 conv (C -> C / 2) - BN - ReLU -> global average pool -> 1x1 conv with bias (-> R)
      -> max(0, tanh(.))

:func:`soft_gate` is the activation, ``max(0, tanh(x))``: it reaches exactly 0 for every
non-positive input (a closed route, which inference can skip) and never exceeds 1. Its gradient is
0 where the gate is closed, so a closed route (and the conv-BN of its path) learns nothing until
its input reopens it; the authors initialise the last bias to 1.5 (tanh 0.905) so that every
route starts open, and we do the same (``bias_init``).

As the authors' code (``Cell.gate_conv_beta`` in ``dl_lib/modeling/dynamic_arch/dynamic_cell.py``):
the BN sits before the pooling (never on a 1x1 map, so the gate trains at batch 1), the first
convolution is Kaiming-normal initialised with fan-in, the last bias is ``bias_init``. One
departure, ``weight_std=0.01`` (the default): the last conv's weights are drawn from
N(0, 0.01^2), so every route of every image starts open, at about tanh(1.5). The authors draw
them Kaiming-normal (``weight_std=None``, std sqrt(2 / fan_in)): the logit is then 1.5 plus a
data term of standard deviation about 0.6 (fan_in pooled ReLU-of-BN values of about 0.4), so
about 1% of an image's routes start closed and get no gradient (in the L16 space, 149 routes,
4 of 12 seeds start with a route closed for both images of a batch of 2). Zero weights would
open every route too but leave the first conv without gradient until they move. Their optional
"small gate" (the input bilinearly shrunk to 1/4 first), used only by their budget-constrained
variants, is not implemented: the Layer16 model computes the gate at the full resolution of the
cell.
"""
from mmcv.cnn import ConvModule
from mmengine.model import kaiming_init
from torch import nn

__all__ = ['SoftRoutingGate', 'soft_gate']


def soft_gate(x):
    """``max(0, tanh(x))``, elementwise."""
    return x.tanh().clamp(min=0)


class SoftRoutingGate(nn.Module):
    """Args:
        in_channels: C, the width of the cell's input.
        num_routes: R, the number of routes (the length of the output).
        hidden_channels: width of the first 1x1 conv (default C // 2, the authors').
        bias_init: initial bias of the last conv (1.5, the authors').
        weight_std: standard deviation of the last conv's initial weights (0.01: every route
            starts open); None: the authors' Kaiming-normal fan-in draw (see the module
            docstring).
        conv_cfg, norm_cfg, act_cfg: mmcv configs of the first conv.
    """

    def __init__(self, in_channels: int, num_routes: int, hidden_channels: int = None,
                 bias_init: float = 1.5, weight_std: float = 0.01, conv_cfg=None,
                 norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU')):
        super().__init__()
        hidden = hidden_channels or in_channels // 2
        self.num_routes = num_routes
        self.reduce = ConvModule(in_channels, hidden, 1, bias=False, conv_cfg=conv_cfg,
                                 norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.fc = nn.Conv2d(hidden, num_routes, 1, bias=True)
        kaiming_init(self.reduce.conv, mode='fan_in')
        if weight_std is None:
            kaiming_init(self.fc, mode='fan_in', bias=bias_init)
        else:
            nn.init.normal_(self.fc.weight, std=weight_std)
            nn.init.constant_(self.fc.bias, bias_init)

    def logits(self, x):
        """(N, C, H, W) -> (N, R) before :func:`soft_gate`."""
        return self.fc(self.reduce(x).mean((2, 3), keepdim=True)).flatten(1)

    def forward(self, x):
        return soft_gate(self.logits(x))

    def macs(self, h: int, w: int) -> int:
        """Multiply-adds of one image's gate on an (h, w) map (the 1x1 convs; pooling not
        counted)."""
        conv = self.reduce.conv
        return h * w * conv.in_channels * conv.out_channels + self.fc.in_channels * self.num_routes
