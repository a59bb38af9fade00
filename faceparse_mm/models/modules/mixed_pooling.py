"""Mixed pooling module (MPM) of Hou et al., "Strip Pooling: Rethinking Spatial Pooling for Scene
Parsing", CVPR 2020 (section 3.3).

(N, C, H, W) -> (N, C, H, W), any H and W. Two 1x1 conv + BN + ReLU reduce x to C/4 twice.
Short-range path: a 3x3 conv + BN on the reduced map, plus the map average-pooled to 20x20 and to
12x12, each 3x3 conv + BN and bilinearly resized back; the three are summed, ReLU, 3x3 conv + BN +
ReLU. Long-range path: the row means (H x 1) through a 3x1 conv + BN and the column means (1 x W)
through a 1x3 conv + BN, expanded back and summed, ReLU, 3x3 conv + BN + ReLU. The two paths are
concatenated, a 1x1 conv + BN restores C, and the output is ReLU(x + that).

Follows the authors' code (``StripPooling`` in ``models/customize.py``): the two paths have their
own 1x1 reductions, the pooled branches use adaptive average pooling (so a map smaller than
20x20 works: the pool then repeats pixels), and convs before a sum carry BN but no activation.
The authors interpolate the strips back bilinearly; expanding them is the same thing, exactly.
"""
import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from torch import nn

from faceparse_mm.registry import MODELS

__all__ = ['MixedPooling']


@MODELS.register_module()
class MixedPooling(nn.Module):
    """MPM; see the module docstring.

    Args:
        in_channels: C (input and output).
        pool_sizes: output sizes of the two square pools of the short-range path.
        reduction: the paths run at ``in_channels // reduction`` channels.
        align_corners: of the bilinear resize of the pooled maps (True in the authors' code).
    """

    def __init__(self, in_channels: int, pool_sizes=(20, 12), reduction: int = 4,
                 conv_cfg=None, norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU'),
                 align_corners: bool = False):
        super().__init__()
        mid = in_channels // reduction
        self.pool_sizes = tuple(pool_sizes)
        self.align_corners = align_corners

        def cbr(cin, cout, kernel, padding, act=True):
            return ConvModule(cin, cout, kernel, padding=padding, conv_cfg=conv_cfg,
                              norm_cfg=norm_cfg, act_cfg=act_cfg if act else None)

        self.reduce_short = cbr(in_channels, mid, 1, 0)
        self.reduce_long = cbr(in_channels, mid, 1, 0)
        self.local = cbr(mid, mid, 3, 1, act=False)
        self.pooled = nn.ModuleList(cbr(mid, mid, 3, 1, act=False) for _ in self.pool_sizes)
        self.conv_rows = cbr(mid, mid, (3, 1), (1, 0), act=False)  # on the H x 1 row means
        self.conv_cols = cbr(mid, mid, (1, 3), (0, 1), act=False)  # on the 1 x W column means
        self.fuse_short = cbr(mid, mid, 3, 1)
        self.fuse_long = cbr(mid, mid, 3, 1)
        self.project = cbr(2 * mid, in_channels, 1, 0, act=False)
        self.relu = nn.ReLU()

    def short_range(self, x: torch.Tensor) -> torch.Tensor:
        """The reduced map's 3x3 context plus its 20x20 and 12x12 pooled context."""
        feat = self.reduce_short(x)
        out = self.local(feat)
        for size, conv in zip(self.pool_sizes, self.pooled):
            pooled = conv(F.adaptive_avg_pool2d(feat, size))
            out = out + F.interpolate(pooled, size=feat.shape[2:], mode='bilinear',
                                      align_corners=self.align_corners)
        return self.fuse_short(self.relu(out))

    def long_range(self, x: torch.Tensor) -> torch.Tensor:
        """Whole-row and whole-column context (strip pooling, no gate)."""
        feat = self.reduce_long(x)
        rows = self.conv_rows(feat.mean(dim=3, keepdim=True))  # (N, C', H, 1)
        cols = self.conv_cols(feat.mean(dim=2, keepdim=True))  # (N, C', 1, W)
        return self.fuse_long(self.relu(rows + cols))  # the sum broadcasts to H x W

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.project(torch.cat([self.short_range(x), self.long_range(x)], dim=1))
        return self.relu(x + out)
