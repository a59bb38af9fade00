"""Context Prior head (Yu et al., "Context Prior for Scene Segmentation", CVPR 2020).

Features x (B, C_in, h, w) -> aggregation (3x3 conv-BN-ReLU to C = ``prior_channels``, then the
sum of two spatially separable depth-wise paths, k x 1 then 1 x k and 1 x k then k x 1, k = 11,
BN-ReLU) = X (B, C, h, w) -> on a fixed (gh, gw) = ``prior_size`` grid of N = gh * gw pixels: a
1x1 conv-BN to N channels, read as prior logits (B, N, N) whose row p is pixel p's channel vector;
P = sigmoid(logits), intra = P X / N, inter = (1 - P) X / N -> each 1x1 conv-BN-ReLU -> concat
[x, intra, inter] -> 3x3 conv-BN-ReLU to ``channels`` -> dropout -> classifier.

``forward`` returns (logits (B, num_classes, h, w), prior logits (B, N, N)) as mmseg's ``DAHead``
returns its extra outputs: ``loss_by_feat`` adds the affinity loss (``loss_prior``, an
``AffinityLoss`` weighted 1.0 as in the paper) between the prior logits and the ideal affinity of
the labels built on the same grid; ``predict`` uses the logits only.

This head follows the authors' code (``decode_head/cp_head.py`` of their mmseg release): with a
dilated ResNet-50, 19 classes and a 64 x 64 prior both models have 49,789,299 inference
parameters. Where it differs:

- The prior grid is a fixed argument, not the feature size. Theirs asserts that the features
  are exactly ``prior_size`` (crop / 8), so one model cannot train on 448 crops and test on 512
  images. Here X is bilinearly resized to the grid for the prior and the contexts, and the
  contexts are resized back to (h, w) before their 1x1 convs; when (h, w) is the grid (512
  images with the 64 x 64 prior) nothing is resized and the computation is theirs.
- The 1x1 conv-BN-ReLU on intra and inter (``intra_conv``/``inter_conv``) and the BN on the prior
  logits are in their code, not in the paper's figure; they are kept (they are in the count).
- inter = (1 - P) X / N is computed as mean(X) - P X / N (the same number, one N x N x C matrix
  product instead of two).
- Their ideal affinity squeezes the batch axis away at batch 1; :func:`ideal_affinity` does not.
"""
import torch
from mmcv.cnn import ConvModule, build_activation_layer, build_norm_layer
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import resize
from torch import nn
from torch.nn.modules.utils import _pair

from faceparse_mm.models.losses.affinity_loss import ideal_affinity
from faceparse_mm.registry import MODELS


class ContextPriorAggregation(nn.Module):
    """The paper's Aggregation Module: (B, C_in, H, W) -> (B, C, H, W), a 3x3 conv-BN-act to C,
    then act(BN(path_a + path_b)) with path_a = depth-wise k x 1 then 1 x k and path_b = 1 x k
    then k x 1 (each depth-wise conv with a bias, no norm, as in the authors' code): a k x k
    receptive field at the cost of 4 k weights per channel."""

    def __init__(self, in_channels: int, channels: int, kernel_size: int = 11, conv_cfg=None,
                 norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU')):
        super().__init__()
        self.reduce = ConvModule(in_channels, channels, 3, padding=1, conv_cfg=conv_cfg,
                                 norm_cfg=norm_cfg, act_cfg=act_cfg)
        half = kernel_size // 2

        def depthwise(kernel, padding):
            return ConvModule(channels, channels, kernel, padding=padding, groups=channels,
                              conv_cfg=conv_cfg, norm_cfg=None, act_cfg=None)

        column, row = ((kernel_size, 1), (half, 0)), ((1, kernel_size), (0, half))
        self.path_a = nn.Sequential(depthwise(*column), depthwise(*row))
        self.path_b = nn.Sequential(depthwise(*row), depthwise(*column))
        self.norm = build_norm_layer(norm_cfg, channels)[1]
        self.act = build_activation_layer(act_cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.reduce(x)
        return self.act(self.norm(self.path_a(x) + self.path_b(x)))


@MODELS.register_module()
class ContextPriorHead(BaseDecodeHead):
    """Args (besides ``BaseDecodeHead``'s): ``prior_channels`` (C of the aggregated features,
    512 in the paper), ``prior_size`` (the prior grid, int or (gh, gw); 64 in the authors'
    config; the prior conv has C x gh * gw weights), ``aggregation_kernel`` (k, 11),
    ``loss_prior`` (the affinity loss config, weight 1.0 in the paper)."""

    def __init__(self, prior_channels: int = 512, prior_size=64, aggregation_kernel: int = 11,
                 loss_prior=dict(type='AffinityLoss', loss_weight=1.0), **kwargs):
        super().__init__(**kwargs)
        self.prior_channels = prior_channels
        self.prior_size = _pair(prior_size)
        num_cells = self.prior_size[0] * self.prior_size[1]
        convs = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg)
        self.aggregation = ContextPriorAggregation(self.in_channels, prior_channels,
                                                   aggregation_kernel, act_cfg=self.act_cfg,
                                                   **convs)
        self.prior_conv = ConvModule(prior_channels, num_cells, 1, act_cfg=None, **convs)
        self.intra_conv = ConvModule(prior_channels, prior_channels, 1, act_cfg=self.act_cfg,
                                     **convs)
        self.inter_conv = ConvModule(prior_channels, prior_channels, 1, act_cfg=self.act_cfg,
                                     **convs)
        self.bottleneck = ConvModule(self.in_channels + 2 * prior_channels, self.channels, 3,
                                     padding=1, act_cfg=self.act_cfg, **convs)
        self.loss_prior = MODELS.build(loss_prior)

    def _resize(self, x: torch.Tensor, size) -> torch.Tensor:
        if tuple(x.shape[-2:]) == tuple(size):
            return x
        return resize(x, size=tuple(size), mode='bilinear', align_corners=self.align_corners)

    def prior_logits(self, value: torch.Tensor) -> torch.Tensor:
        """Aggregated features on the grid (B, C, gh, gw) -> prior logits (B, N, N), row p = the
        prior conv's N channels at pixel p (row-major)."""
        return self.prior_conv(value).flatten(2).transpose(1, 2)

    @staticmethod
    def contexts(prior: torch.Tensor, value: torch.Tensor):
        """P (B, N, N) in [0, 1] and X (B, C, gh, gw) -> (intra, inter), each (B, C, gh, gw):
        P X / N and (1 - P) X / N, the latter as mean(X) - P X / N."""
        b, c, gh, gw = value.shape
        features = value.flatten(2).transpose(1, 2)  # (B, N, C)
        intra = torch.bmm(prior.to(features.dtype), features) / (gh * gw)
        inter = features.mean(1, keepdim=True) - intra
        return tuple(t.transpose(1, 2).reshape(b, c, gh, gw) for t in (intra, inter))

    def forward(self, inputs):
        """-> (logits (B, num_classes, h, w), prior logits (B, N, N))."""
        x = self._transform_inputs(inputs)
        value = self._resize(self.aggregation(x), self.prior_size)
        logits = self.prior_logits(value)
        intra, inter = self.contexts(torch.sigmoid(logits), value)
        size = x.shape[-2:]
        intra = self.intra_conv(self._resize(intra, size))
        inter = self.inter_conv(self._resize(inter, size))
        out = self.bottleneck(torch.cat([x, intra, inter], dim=1))
        return self.cls_seg(out), logits

    def predict(self, inputs, batch_img_metas, test_cfg):
        return self.predict_by_feat(self.forward(inputs)[0], batch_img_metas)

    def loss_by_feat(self, seg_logits, batch_data_samples) -> dict:
        logits, prior_logits = seg_logits
        losses = super().loss_by_feat(logits, batch_data_samples)
        target = ideal_affinity(self._stack_batch_gt(batch_data_samples), self.prior_size)
        losses[self.loss_prior.loss_name] = self.loss_prior(prior_logits, target)
        return losses


__all__ = ['ContextPriorAggregation', 'ContextPriorHead']
