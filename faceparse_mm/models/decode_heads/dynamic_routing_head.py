"""Dynamic Routing's top-down decoder (Li, Song, Chen, Li, Zhang, Wang, Sun, "Learning Dynamic
Routing for Semantic Segmentation", CVPR 2020, section 3.1; the authors' ``SemSegDecoderHead``,
``dl_lib/modeling/meta_arch/dynamic4seg.py``).

Inputs: the routing space's last-layer maps, finest first (L16: 64 @ 1/4, 128 @ 1/8,
256 @ 1/16, 512 @ 1/32) -> logits (N, num_classes, H/4, W/4) at the finest map's size. From the
coarsest map down, the running map is added to the input of that scale and a 1x1 conv-BN-ReLU
projects the sum to the next finer width (C_s -> C_{s-1}; the finest to ``channels``), then it
is resized bilinearly to the next scale::

    y = P_3(x_3); y = P_2(x_2 + up(y)); y = P_1(x_1 + up(y)); y = P_0(x_0 + up(y))
    logits = 3x3 conv with bias (channels -> num_classes)(y)

The decoder is not part of the routing space (no gates): the authors build it as a separate
head on the backbone's four outputs, and so do we. As theirs: no dropout (``dropout_ratio=0``),
the classifier a 3x3 conv, every conv Kaiming-normal initialised with fan-in and zero bias, at
construction (without ``init_cfg`` :meth:`init_weights` changes nothing: neither mmseg's
``Normal(std=0.01)`` classifier init nor mmcv's fan-out re-draw runs). With L16's widths and 19
classes it has their 188,115 parameters. They upsample by ``scale_factor=2`` and the logits by
4; we resize to the next map's size (the segmentor resizes the logits to the image), the same
where sizes divide by 32.
"""
from mmcv.cnn import ConvModule
from mmengine.model import kaiming_init
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import resize
from torch import nn

from faceparse_mm.registry import MODELS

__all__ = ['DynamicRoutingHead']


@MODELS.register_module()
class DynamicRoutingHead(BaseDecodeHead):
    """Args (besides :class:`BaseDecodeHead`'s): ``in_channels`` and ``in_index`` name the maps
    finest first, each twice the width of the one before (the sum needs C_s / 2 = C_{s-1});
    ``channels`` is the width of the finest projection (the authors': the 1/4 width, 64).
    ``init_cfg``: None, the authors' initialisation (see the module docstring)."""

    def __init__(self, init_cfg=None, **kwargs):
        super().__init__(input_transform='multiple_select', init_cfg=init_cfg, **kwargs)
        widths = [self.channels] + list(self.in_channels[:-1])
        self.projections = nn.ModuleList(
            ConvModule(c_in, c_out, 1, bias=False, conv_cfg=self.conv_cfg,
                       norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
            for c_in, c_out in zip(self.in_channels, widths))
        self.conv_seg = nn.Conv2d(self.channels, self.out_channels, 3, padding=1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                kaiming_init(m, mode='fan_in')

    def init_weights(self):
        """The construction-time initialisation (the authors') unless an ``init_cfg`` is
        given."""
        if self.init_cfg is not None:
            super().init_weights()

    def forward(self, inputs):
        feats = self._transform_inputs(inputs)
        y = None
        for s in reversed(range(len(feats))):
            x = feats[s]
            if y is not None:
                x = x + resize(y, size=x.shape[2:], mode='bilinear',
                               align_corners=self.align_corners)
            y = self.projections[s](x)
        return self.cls_seg(y)
