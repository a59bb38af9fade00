"""SR-Net decode head (Li, Li, You, Zhang, Cheng, Yang, Tong and Lin, "Towards Efficient Scene
Understanding via Squeeze Reasoning", IEEE TIP 2021, arXiv 2011.03308).

C5 features (N, in_channels, H, W) -> logits (N, num_classes, H, W): a 1x1 conv with bias (no norm)
to ``channels``, the channel reasoning block
(:class:`~faceparse_mm.models.modules.ChannelReasoningModule`), a 3x3 conv + BN + ReLU, dropout
and the classifier. This is the authors' ``ModuleHead(2048, 512, module=ChannelReasonModule(512,
256))`` of ``network/srnet.py`` (lxtGH/SFSegNets), 3,815,587 parameters with 19 classes, with
one difference: the authors' 3x3 conv also has a bias, which the BatchNorm right after it
cancels (it changes no output and gets no gradient); it is left out here, so this head has 512
parameters fewer (3,815,075). ``squeeze_mean`` selects the reasoning block's squeeze: a mean
over H x W (True) or the authors' sum (False, what the zoo's SR-Net config uses); the block's
docstring says why, and why, with the authors' groups, its GroupNorm turns the node vector's
rescaling into a per-channel on/off switch (``reason_norm_groups`` changes that).
"""
import torch
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead

from faceparse_mm.models.modules.channel_reasoning import ChannelReasoningModule
from faceparse_mm.registry import MODELS

__all__ = ['SqueezeReasoningHead']


@MODELS.register_module()
class SqueezeReasoningHead(BaseDecodeHead):
    """SR-Net head.

    Args:
        reason_channels: projection width of the reasoning block (the authors' 256 for 512).
        num_nodes: graph nodes of the reasoning block (the authors' 32).
        reason_groups: groups of the block's output conv (default reason_channels).
        reason_norm_groups: groups of the block's GroupNorm (default reason_groups).
        squeeze_mean: average the squeeze over H x W (True) or sum it as the authors do.
        **kwargs: :class:`BaseDecodeHead` arguments (``in_channels``, ``channels``, ...).
    """

    def __init__(self, reason_channels: int = 256, num_nodes: int = 32, reason_groups=None,
                 reason_norm_groups=None, squeeze_mean: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.in_proj = ConvModule(self.in_channels, self.channels, 1, conv_cfg=self.conv_cfg,
                                  norm_cfg=None, act_cfg=None)
        self.reasoning = ChannelReasoningModule(
            self.channels, reason_channels, num_nodes=num_nodes, groups=reason_groups,
            norm_groups=reason_norm_groups, squeeze_mean=squeeze_mean, norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)
        self.bottleneck = ConvModule(self.channels, self.channels, 3, padding=1,
                                     conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                                     act_cfg=self.act_cfg)

    def forward(self, inputs) -> torch.Tensor:
        x = self._transform_inputs(inputs)
        x = self.reasoning(self.in_proj(x))
        return self.cls_seg(self.bottleneck(x))
