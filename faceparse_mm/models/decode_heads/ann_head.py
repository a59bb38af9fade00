"""ANN decode head (Zhu, Xu, Bai, Huang and Bai, "Asymmetric Non-local Neural Networks for
Semantic Segmentation", ICCV 2019, arXiv 1908.07678).

C4 (N, 1024, h, w) and C5 (N, 2048, H, W) -> logits (N, num_classes, H, W): the asymmetric fusion
non-local block (:class:`~faceparse_mm.models.modules.AsymmetricFusionNonLocal`, queries from C5,
keys and values from C4's pyramid anchors, fused with C5) to ``fusion_channels``, a 3x3 conv + BN +
ReLU to ``channels``, the asymmetric pyramid non-local block
(:class:`~faceparse_mm.models.modules.AsymmetricPyramidNonLocal`, ``channels`` -> ``channels``)
and the classifier. This is the authors' ``asymmetric_non_local_network`` (MendelXu/ANN):
``AFNB(1024, 2048, 2048, 256, 256, dropout=0.05)``, ``Conv2d(2048, 512, 3)`` + BNReLU,
``APNB(512, 512, 256, 256, dropout=0.05)``, a 1x1 classifier with bias; 20,340,499 parameters with
19 classes. Here 3,840 fewer (20,336,659): the biases of the convs that a BN follows (the AFNB's
query, key and fusion convs, 256 + 256 + 2,048; the 3x3 conv, 512; the APNB's query-key and fusion
convs, 256 + 512), which the BN cancels (mmcv's ``ConvModule`` leaves them out).

The APNB ends in Dropout2d (0.05, the authors'), right before the classifier; the authors apply
no further dropout there, so ``dropout_ratio`` (BaseDecodeHead's dropout before ``conv_seg``)
defaults to 0 here. The AFNB's fusion conv has a ReLU after its BN by default (the paper); the
authors' code has none (``fusion_act_cfg=None``). The blocks' output projections start at zero
after ``init_weights()`` (see the blocks' docstring).
"""
from typing import Sequence

import torch
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead

from faceparse_mm.models.modules.asymmetric_non_local import (
    AsymmetricFusionNonLocal,
    AsymmetricPyramidNonLocal,
)
from faceparse_mm.registry import MODELS

__all__ = ['AsymmetricNonLocalHead']


@MODELS.register_module()
class AsymmetricNonLocalHead(BaseDecodeHead):
    """ANN head. ``in_channels`` and ``in_index`` name the low-level and the high-level map, in
    that order (C4, C5: (1024, 2048), (2, 3)); ``channels`` is the width after the AFNB's 3x3
    conv, of the APNB and of the classifier's input (512).

    Args:
        fusion_channels: output width of the AFNB (the authors' 2048).
        key_channels: query / key width of both blocks (the authors' 256).
        value_channels: value width of both blocks (the authors' 256).
        pool_scales: anchor pooling sizes of both blocks (the paper's (1, 3, 6, 8)).
        block_dropout_ratio: Dropout2d at the end of each block (the authors' 0.05).
        fusion_act_cfg: activation after the AFNB's fusion BN; ``'default'``: ``act_cfg`` (the
            paper); ``None``: none (the authors' code).
        dropout_ratio: BaseDecodeHead's dropout before the classifier (0: the APNB's is the
            last, as the authors').
        **kwargs: :class:`BaseDecodeHead` arguments.
    """

    def __init__(self, fusion_channels: int = 2048, key_channels: int = 256,
                 value_channels: int = 256, pool_scales: Sequence[int] = (1, 3, 6, 8),
                 block_dropout_ratio: float = 0.05, fusion_act_cfg='default',
                 dropout_ratio: float = 0.0, input_transform: str = 'multiple_select',
                 **kwargs):
        if input_transform != 'multiple_select':
            raise ValueError(f"reads two maps: input_transform='multiple_select', "
                             f'got {input_transform!r}')
        super().__init__(input_transform=input_transform, dropout_ratio=dropout_ratio,
                         **kwargs)
        if len(self.in_channels) != 2:
            raise ValueError(f'expects the low- and the high-level map, got {self.in_channels}')
        low_channels, high_channels = self.in_channels
        cfg = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.fusion = AsymmetricFusionNonLocal(
            low_channels, high_channels, fusion_channels, key_channels, value_channels,
            scales=pool_scales, dropout_ratio=block_dropout_ratio,
            fusion_act_cfg=fusion_act_cfg, **cfg)
        self.bottleneck = ConvModule(fusion_channels, self.channels, 3, padding=1, **cfg)
        self.context = AsymmetricPyramidNonLocal(
            self.channels, self.channels, key_channels, value_channels, scales=pool_scales,
            dropout_ratio=block_dropout_ratio, **cfg)

    def forward(self, inputs) -> torch.Tensor:
        low, high = self._transform_inputs(inputs)
        x = self.bottleneck(self.fusion(low, high))
        return self.cls_seg(self.context(x))
