"""ACFNet head (Zhang, Chen, Li, Hong, Liu, Ma, Han and Ding, "ACFNet: Attentional Class Feature
Network for Semantic Segmentation", ICCV 2019, arXiv 1909.09408): a coarse-to-fine head, an ASPP
base network whose coarse prediction drives an Attentional Class Feature module.

C5 features x (N, C_in, h, w) ->

- ASPP (DeepLab v3): an image-pool branch (global average, 1x1 conv-BN-ReLU, upsampled) and one
  branch per dilation (1x1 for dilation 1, 3x3 otherwise; (1, 12, 24, 36) at output stride 8),
  each to ``channels``, concatenated, a conv-BN-ReLU (``aspp_fuse_kernel``) to ``channels``: the
  base features B (N, channels, h, w);
- coarse logits (N, num_classes, h, w): dropout and a 1x1 classifier of their own on B
  (``conv_coarse``);
- ACF (:class:`faceparse_mm.models.modules.AttentionalClassFeature`): B reduced to
  ``acf_channels`` by a 1x1 conv, class centres from softmax(coarse) over the classes, each
  pixel's mixture of the centres, a 1x1 conv to ``acf_channels``;
- concat [ACF output, B] -> conv-BN-ReLU (``fusion_kernel``) to ``channels`` -> dropout ->
  classifier (``cls_seg``): the final logits (N, num_classes, h, w).

``forward`` returns the final logits in eval mode and (final, coarse) in training mode; ``loss``
and ``predict`` use both / the final one whatever the mode. ``loss_by_feat`` adds
``loss_coarse``: the ``loss_coarse`` config (the protocol's OHEM cross-entropy, with its own
``loss_weight``) on the coarse logits, resized to the label size as ``BaseDecodeHead`` resizes
the final ones, in fp32, label 255 ignored. The coarse probabilities also feed the ACF module, so
the final loss trains the coarse classifier too (no detach: trained end to end).

What the paper specifies (as summarised for the zoo; the widths, kernels and loss weights below
were not checked against the paper's text): a dilated ResNet-101 at output stride 8 with ASPP as
the base network, a coarse segmentation supervised by its own cross-entropy, the ACF module
(reduction to 512, class centres, class attention, 1x1 conv), its output concatenated with the
base features before the final classifier. Chosen here, each an argument: ASPP width
``channels`` = 512 (the ACF reduction width); a 1x1 ASPP projection (``aspp_fuse_kernel=1``, the
DeepLab v3 paper's; mmseg's ``ASPPHead`` uses 3x3, 10.5M more parameters at these widths); the
coarse classifier a single 1x1 conv after the head's dropout; a 3x3 fusion conv
(``fusion_kernel=3``); dropout 0.1 before both classifiers; the coarse loss weight a config value
(1.0, the protocol's, in the zoo's config). The unofficial code (an ECA-ResNet backbone and a
DANet-style energy softmax) is not followed.

The ASPP reuses mmseg's ``ASPPModule`` and the image-pool branch of its ``ASPPHead``. The
image-pool branch has BN on a 1x1 map, so training needs a batch of at least 2 (as in DeepLab v3
and the ACFNet references); prediction runs at batch 1.
"""
import torch
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.aspp_head import ASPPModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import resize
from torch import nn

from faceparse_mm.models.modules.attentional_class_feature import AttentionalClassFeature
from faceparse_mm.registry import MODELS

__all__ = ['ACFHead']

COARSE_LOSS_KEY = 'loss_coarse'


@MODELS.register_module()
class ACFHead(BaseDecodeHead):
    """Args (besides ``BaseDecodeHead``'s; ``channels`` is the ASPP and fusion width, 512):
    ``dilations`` (ASPP rates, (1, 12, 24, 36) at output stride 8), ``acf_channels`` (the ACF
    module's reduction and output width, 512 in the paper), ``aspp_fuse_kernel`` (1),
    ``fusion_kernel`` (3), ``loss_coarse`` (the coarse output's loss config, with its weight;
    its entry is ``loss_coarse``)."""

    def __init__(self, dilations=(1, 12, 24, 36), acf_channels: int = 512,
                 aspp_fuse_kernel: int = 1, fusion_kernel: int = 3,
                 loss_coarse=dict(type='OhemCrossEntropyLoss', thresh=0.7,
                                  min_kept_ratio=1 / 16, loss_weight=1.0),
                 init_cfg=dict(type='Normal', std=0.01,
                               override=[dict(name='conv_seg'), dict(name='conv_coarse')]),
                 **kwargs):
        super().__init__(init_cfg=init_cfg, **kwargs)
        assert isinstance(dilations, (list, tuple)) and len(dilations) > 0
        self.dilations = tuple(dilations)
        convs = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.image_pool = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), ConvModule(self.in_channels, self.channels, 1, **convs))
        self.aspp_modules = ASPPModule(self.dilations, self.in_channels, self.channels, **convs)
        self.aspp_fuse = ConvModule((len(self.dilations) + 1) * self.channels, self.channels,
                                    aspp_fuse_kernel, padding=aspp_fuse_kernel // 2, **convs)
        self.conv_coarse = nn.Conv2d(self.channels, self.num_classes, 1)
        self.acf = AttentionalClassFeature(self.channels, acf_channels, acf_channels, **convs)
        self.fusion = ConvModule(acf_channels + self.channels, self.channels, fusion_kernel,
                                 padding=fusion_kernel // 2, **convs)
        self.loss_coarse = MODELS.build(loss_coarse)

    def aspp(self, x: torch.Tensor) -> torch.Tensor:
        """C5 (N, C_in, h, w) -> the base features B (N, channels, h, w)."""
        pooled = resize(self.image_pool(x), size=x.shape[2:], mode='bilinear',
                        align_corners=self.align_corners)
        return self.aspp_fuse(torch.cat([pooled, *self.aspp_modules(x)], dim=1))

    def coarse_seg(self, base: torch.Tensor) -> torch.Tensor:
        """B -> coarse logits (N, num_classes, h, w)."""
        if self.dropout is not None:
            base = self.dropout(base)
        return self.conv_coarse(base)

    def forward_both(self, inputs):
        """-> (final logits, coarse logits), each (N, num_classes, h, w)."""
        base = self.aspp(self._transform_inputs(inputs))
        coarse = self.coarse_seg(base)
        fused = self.fusion(torch.cat([self.acf(base, coarse), base], dim=1))
        return self.cls_seg(fused), coarse

    def forward(self, inputs):
        """Final logits in eval mode; (final, coarse) in training mode."""
        logits, coarse = self.forward_both(inputs)
        return (logits, coarse) if self.training else logits

    def loss(self, inputs, batch_data_samples, train_cfg) -> dict:
        return self.loss_by_feat(self.forward_both(inputs), batch_data_samples)

    def predict(self, inputs, batch_img_metas, test_cfg):
        return self.predict_by_feat(self.forward_both(inputs)[0], batch_img_metas)

    def loss_by_feat(self, seg_logits, batch_data_samples) -> dict:
        """``seg_logits``: (final, coarse). The final logits' entries of ``BaseDecodeHead``
        (``loss_decode``, ``acc_seg``) plus ``loss_coarse``, all in fp32."""
        logits, coarse = seg_logits
        losses = super().loss_by_feat(logits.float(), batch_data_samples)
        label = self._stack_batch_gt(batch_data_samples)
        coarse = resize(coarse.float(), size=label.shape[2:], mode='bilinear',
                        align_corners=self.align_corners)
        with torch.autocast(device_type=coarse.device.type, enabled=False):
            losses[COARSE_LOSS_KEY] = self.loss_coarse(coarse, label.squeeze(1),
                                                       ignore_index=self.ignore_index)
        return losses
