"""Flow Alignment Module (Li, You, Zhu, Zhao, Yang, Yang, Tan and Tong, "Semantic Flow for Fast
and Accurate Scene Parsing", ECCV 2020).

A fine map (N, C, H, W) and a coarse map (N, C, h, w) -> the coarse map warped to (N, C, H, W)
along a learned "semantic flow" (N, 2, H, W): both maps are reduced to ``channels`` (C / 2 in
SFNet) by 1x1 convs without bias, the reduced coarse map is bilinearly upsampled to H x W, a 3x3
conv without bias predicts the flow from their concatenation (coarse first), and the ORIGINAL
coarse map (all C channels, not the reduced one) is sampled bilinearly at base grid + flow.
The caller adds the result to the fine map (the SFNet FPN does).

Follows the authors' ``AlignedModule`` (network/nn/operators.py, lxtGH/SFSegNets), whose
submodule names (``down_h``, ``down_l``, ``flow_make``) are kept so that their weights map one
to one. The grid is written out axis by axis (:func:`flow_warp`): ``grid_sample`` reads the last
grid axis as (x, y), so channel 0 of the flow is the displacement along the width and channel 1
along the height, each divided by the output width / height before it is added to the [-1, 1] grid,
as the authors. (A widely copied snippet of this module names its base-grid variables the other way
round and compensates in the concatenation order; renaming the variables alone swaps x and y, which
only shows on non-square maps.) A flow value d along x moves the sampling point by d / W in
normalised coordinates, i.e. d (w - 1) / (2 W) coarse pixels with ``align_corners=True``: a positive
flow makes each output pixel read the input further right (x) or further down (y), zeros outside.
The grid and the sampling are computed in fp32 (sub-pixel positions need it under autocast).
``align_corners=True`` (the authors') uses the base grid ``linspace(-1, 1)`` on each axis, so a zero
flow is exactly ``F.interpolate(..., mode='bilinear', align_corners=True)``; ``align_corners=False``
uses the output pixel centres, so that with ``padding_mode='border'`` a zero flow is bilinear
upsampling with ``align_corners=False`` (the outermost half pixel reads outside the input, which the
default zero padding, the authors', darkens); the authors' code has neither mode.
"""
import torch
import torch.nn.functional as F
from mmcv.cnn import build_conv_layer
from torch import nn

from faceparse_mm.registry import MODELS

__all__ = ['FlowAlignmentModule', 'flow_warp']


def _axis(size: int, align_corners: bool, like: torch.Tensor) -> torch.Tensor:
    """Normalised coordinates of ``size`` output positions along one axis: -1 .. 1 (corners),
    or the pixel centres (2 i + 1) / size - 1."""
    coords = torch.linspace(-1.0, 1.0, size, dtype=like.dtype, device=like.device)
    if not align_corners:
        coords = coords * (size - 1) / size
    return coords


def flow_warp(x: torch.Tensor, flow: torch.Tensor, align_corners: bool = True,
              padding_mode: str = 'zeros') -> torch.Tensor:
    """Sample ``x`` (N, C, h, w) bilinearly at base grid + ``flow`` (N, 2, H, W) -> (N, C, H, W).

    ``flow[:, 0]`` moves along the width (x), ``flow[:, 1]`` along the height (y), in units of
    the normalised grid times the output width / height (see the module docstring);
    ``padding_mode``: what is read outside ``x`` (``grid_sample``'s)."""
    height, width = flow.shape[-2:]
    flow = flow.float()
    ys = _axis(height, align_corners, flow)
    xs = _axis(width, align_corners, flow)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing='ij')  # each (H, W)
    base = torch.stack((grid_x, grid_y), dim=-1)  # (H, W, 2), (x, y) as grid_sample reads it
    scale = flow.new_tensor([width, height])
    grid = base.unsqueeze(0) + flow.permute(0, 2, 3, 1) / scale
    out = F.grid_sample(x.float(), grid, mode='bilinear', padding_mode=padding_mode,
                        align_corners=align_corners)
    return out.to(x.dtype)


@MODELS.register_module()
class FlowAlignmentModule(nn.Module):
    """FAM: warp a coarse map onto a fine one along a predicted semantic flow.

    Args:
        in_channels: channels of both maps (the coarse map keeps them after warping).
        channels: width of the two 1x1 reductions (``in_channels // 2`` if None, as SFNet).
        kernel_size: of the flow conv (3 in SFNet).
        conv_cfg: mmcv conv config of the three convs.
        align_corners: of the upsampling and of the warp (True as the authors).
        padding_mode: what the warp reads outside the coarse map (zeros as the authors).
    """

    def __init__(self, in_channels: int, channels=None, kernel_size: int = 3, conv_cfg=None,
                 align_corners: bool = True, padding_mode: str = 'zeros'):
        super().__init__()
        channels = channels or in_channels // 2
        self.align_corners = align_corners
        self.padding_mode = padding_mode
        self.down_h = build_conv_layer(conv_cfg, in_channels, channels, 1, bias=False)
        self.down_l = build_conv_layer(conv_cfg, in_channels, channels, 1, bias=False)
        self.flow_make = build_conv_layer(conv_cfg, 2 * channels, 2, kernel_size,
                                          padding=kernel_size // 2, bias=False)

    def predict_flow(self, fine: torch.Tensor, coarse: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W), (N, C, h, w) -> flow (N, 2, H, W), channel 0 along x, 1 along y."""
        high = F.interpolate(self.down_h(coarse), size=fine.shape[-2:], mode='bilinear',
                             align_corners=self.align_corners)
        return self.flow_make(torch.cat([high, self.down_l(fine)], dim=1))

    def forward(self, fine: torch.Tensor, coarse: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W), (N, C, h, w) -> the coarse map warped to (N, C, H, W)."""
        return flow_warp(coarse, self.predict_flow(fine, coarse), self.align_corners,
                         self.padding_mode)
