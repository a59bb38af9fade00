"""RegSeg's backbone (Gao, "Rethinking Dilated Convolution for Real-time Semantic Segmentation",
arXiv 2111.09957, 2021; CVPR workshops 2023): the authors' stem (3x3 conv-BN-ReLU, stride 2, 32
channels) followed by their ``exp48`` body, three stages of D blocks
(:class:`~faceparse_mm.models.modules.DBlock`, group width 16, SE on a quarter of the block input
width) that stop subsampling at 1/16 and widen the field of view with dilation instead.

(N, 3, H, W) -> the outputs of the stages in ``out_indices``: 48, 128 and 320 channels at
strides 4, 8 and 16 (``ceil(H / s)`` for any H and W).

The stage table is data (:attr:`RegSegBackbone.arch_settings`): for each stage, the
``(out_channels, dilations)`` of each block; a stage's first block has stride 2. ``exp48`` is the
authors' ``RegSeg("exp48_decoder26")`` body (``model.py``, ``RegSegBody`` in ``blocks.py``)::

    1/4:  48 (1)
    1/8:  128 (1) x 3
    1/16: 256 (1), (1), (1, 2), (1, 4) x 4, (1, 14) x 6; then 320 (1, 14)

(the first 1/16 block is the strided one; the authors' dilation list starts after it). With the
``RegSegDecoder26Head`` and 19 classes this is their 3,334,951 parameters; the stem and body
alone are 3,160,004.

Initialisation: the paper trains from scratch. Without ``init_cfg``, :meth:`init_weights` leaves
every layer at PyTorch's default initialisation, as the authors' code does (mmcv's
``ConvModule`` would otherwise re-draw the stem with Kaiming-normal); with an ``init_cfg`` (e.g.
``Pretrained``) mmengine's usual initialisation runs.
"""
from typing import Sequence

from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import nn

from faceparse_mm.models.modules.dblock import DBlock
from faceparse_mm.registry import MODELS

__all__ = ['RegSegBackbone']


@MODELS.register_module()
class RegSegBackbone(BaseModule):
    """Stem + D-block stages.

    Args:
        arch: a key of :attr:`arch_settings` (``'exp48'``) or a dict with the same keys
            (``stem_channels``, ``group_width``, ``stages``: per stage a sequence of
            ``(out_channels, dilations)``, one per block).
        in_channels: image channels.
        out_indices: stages whose outputs are returned (0: 1/4, 1: 1/8, 2: 1/16 for exp48).
        se_ratio: SE squeeze width as a fraction of each block's input width (0.25).
        conv_cfg, norm_cfg, act_cfg: mmcv configs for every layer.
        init_cfg: None: PyTorch's default initialisation (the authors'), see the module
            docstring.
    """
    arch_settings = {
        'exp48': dict(
            stem_channels=32,
            group_width=16,
            stages=(
                ((48, (1, )), ),
                ((128, (1, )), ) * 3,
                ((256, (1, )), (256, (1, )), (256, (1, 2))) + ((256, (1, 4)), ) * 4
                + ((256, (1, 14)), ) * 6 + ((320, (1, 14)), ),
            )),
    }

    def __init__(self, arch='exp48', in_channels: int = 3, out_indices: Sequence[int] = (0, 1, 2),
                 se_ratio: float = 0.25, conv_cfg=None, norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU'), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        setting = self.arch_settings[arch] if isinstance(arch, str) else dict(arch)
        stages = tuple(tuple((int(c), tuple(d)) for c, d in stage) for stage in setting['stages'])
        if not set(out_indices) <= set(range(len(stages))):
            raise ValueError(f'out_indices {out_indices} outside stages 0-{len(stages) - 1}')
        self.out_indices = tuple(out_indices)
        self.stem = ConvModule(in_channels, setting['stem_channels'], 3, stride=2, padding=1,
                               conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        width = setting['stem_channels']
        self.stages = nn.ModuleList()
        for stage in stages:
            blocks = []
            for i, (out_channels, dilations) in enumerate(stage):
                blocks.append(DBlock(width, out_channels, dilations, setting['group_width'],
                                     stride=2 if i == 0 else 1, se_ratio=se_ratio,
                                     conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg))
                width = out_channels
            self.stages.append(nn.Sequential(*blocks))
        self.out_channels = tuple(stage[-1][0] for stage in stages)

    def init_weights(self):
        """PyTorch's default initialisation (the authors') unless an ``init_cfg`` is given."""
        if self.init_cfg is not None:
            super().init_weights()

    def forward(self, x):
        x = self.stem(x)
        outs = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
