"""Channel reasoning block of SR-Net (Li, Li, You, Zhang, Cheng, Yang, Tong and Lin, "Towards
Efficient Scene Understanding via Squeeze Reasoning", IEEE TIP 2021, arXiv 2011.03308).

x (N, C, H, W) -> (N, C, H, W). Two 1x1 projections phi, g (C -> K) are squeezed into a K-vector by
per-channel dot products over the H x W positions; the vector is read as a graph of ``num_nodes``
nodes with K / num_nodes features each and refined by a graph convolution over the nodes (plus
identity) and one over the features; the refined K-vector rescales the channels of a third 1x1
projection theta (C -> K), a grouped 1x1 conv maps it back to C channels, GroupNorm, residual.

Follows the authors' code (``ChannelReasonModule`` in ``network/nn/operators.py`` of
lxtGH/SFSegNets; ``ChannelReasonModule(512, 256)`` is this block with ``in_channels=512,
channels=256``: 395,920 parameters), with one option:

- ``squeeze_mean``: the squeeze as a mean over H x W instead of the authors' sum. Their dot
  product sums over the H x W positions, so the squeezed vector (and what the graph's BatchNorm
  sees) grows in proportion to the input area: a model trained on crops meets vectors
  (512 / 448)^2 = 1.3 times larger on whole test images, which its running statistics have never
  seen. Dividing by H x W removes that dependence and changes no parameter. The zoo's SR-Net
  config sets ``squeeze_mean=False``, the authors' sum (their released weights assume it).

Details kept from the authors' code: one dot product per projected channel (their ``groups``
argument must equal ``channels`` for the node reshape to work, so it is not a separate option
here); squeezed entry ``k`` is node ``k % num_nodes``, feature ``k // num_nodes``, while the
refined graph is flattened back node-major (entry ``n * F + f`` rescales channel ``n * F + f`` of
theta). That mismatch is a fixed channel permutation, which learnt projections absorb; it is kept
so that the authors' weights mean the same thing here. The node graph convolution is
conv -> BN -> ReLU, then + identity; the feature one is conv -> BN -> ReLU (no identity); the
rescaling vector is not squashed (no sigmoid); the grouped 1x1 conv and the GroupNorm both have
``groups`` (default ``channels``) groups; no activation after the residual. The graph is kept as
an (N, nodes, features, 1) map so that its 1x1 convs and norms are ordinary ``ConvModule`` s (the
authors' ``Conv1d`` / ``BatchNorm1d`` have the same parameters).

A consequence of the authors' grouping, kept by default: with ``groups = channels`` every
GroupNorm group holds the outputs of one gated channel, so the norm divides that channel's scale
s back out. It passes s / sqrt(s^2 + eps / var): a soft on/off switch per channel and image (the
ReLU's zeros switch channels off), not a rescaling by s. ``norm_groups`` (default ``groups``) sets
the GroupNorm's groups alone; fewer groups keep the relative scales of the channels that a group
spans. The parameter count does not depend on it.
"""
import torch
from mmcv.cnn import ConvModule, build_norm_layer
from mmengine.model import BaseModule
from torch import nn

from faceparse_mm.registry import MODELS

__all__ = ['ChannelReasoningModule']


@MODELS.register_module()
class ChannelReasoningModule(BaseModule):
    """Squeeze a feature map into a node vector, reason over it, rescale channels, add back.

    Args:
        in_channels: C, channels of the input and the output.
        channels: K, channels of the three projections and length of the squeezed vector.
        num_nodes: graph nodes; ``channels`` must be a multiple (node features K / num_nodes).
        groups: groups of the output 1x1 conv (default ``channels``).
        norm_groups: groups of the GroupNorm (default ``groups``, as the authors).
        squeeze_mean: average the dot products over H x W (True) or sum them (the authors').
        norm_cfg, act_cfg: norm and activation of the two graph convolutions.
    """

    def __init__(self, in_channels: int, channels: int, num_nodes: int = 32, groups=None,
                 norm_groups=None, squeeze_mean: bool = True, norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU'), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if channels % num_nodes:
            raise ValueError(f'channels ({channels}) must be a multiple of num_nodes '
                             f'({num_nodes})')
        self.groups = channels if groups is None else groups
        self.num_nodes = num_nodes
        self.node_features = channels // num_nodes
        self.squeeze_mean = squeeze_mean
        self.theta = nn.Conv2d(in_channels, channels, 1, bias=False)
        self.phi = nn.Conv2d(in_channels, channels, 1, bias=False)
        self.g = nn.Conv2d(in_channels, channels, 1, bias=False)
        # graph convolution over the nodes (adjacency) and over the node features (state update)
        self.node_conv = ConvModule(num_nodes, num_nodes, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.feature_conv = ConvModule(self.node_features, self.node_features, 1,
                                       norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.expand = nn.Conv2d(channels, in_channels, 1, groups=self.groups, bias=False)
        self.norm_groups = self.groups if norm_groups is None else norm_groups
        self.norm = build_norm_layer(dict(type='GN', num_groups=self.norm_groups), in_channels)[1]

    def squeeze(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, K): per-channel dot products of phi(x) and g(x) over H x W
        (divided by H x W when ``squeeze_mean``), in float32."""
        prod = self.phi(x).float() * self.g(x).float()
        vec = prod.mean((2, 3)) if self.squeeze_mean else prod.sum((2, 3))
        return vec.to(x.dtype)

    def reason(self, vec: torch.Tensor) -> torch.Tensor:
        """(N, K) squeezed vector -> (N, K) rescaling vector (the graph flattened node-major)."""
        n = vec.size(0)
        # entry k = f * num_nodes + node -> (N, nodes, features)
        nodes = vec.view(n, self.node_features, self.num_nodes).transpose(1, 2)
        z = self.node_conv(nodes.unsqueeze(-1)).squeeze(-1) + nodes
        z = self.feature_conv(z.transpose(1, 2).unsqueeze(-1)).squeeze(-1).transpose(1, 2)
        return z.reshape(n, -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.reason(self.squeeze(x))
        out = self.expand(self.theta(x) * scale[:, :, None, None])
        return self.norm(out) + x
