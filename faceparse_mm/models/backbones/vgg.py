"""DeepLab's dilated VGG-16 (Chen et al., "Semantic Image Segmentation with Deep Convolutional
Nets and Fully Connected CRFs", ICLR 2015).

(N, 3, H, W) -> the output of each of the five stages (conv blocks + their pool): 64, 128, 256,
512, 512 channels at strides 2, 4, 8, 8, 8. The 13 convolutions of VGG-16 (Simonyan and
Zisserman, ICLR 2015) keep their layout and names (``features.0`` ... ``features.28``, as
torchvision's ``vgg16``), so ImageNet weights load with
``init_cfg=dict(type='Pretrained', checkpoint='torchvision://vgg16')``. What DeepLab changes
(the "hole" algorithm, Sec. 3.1): pool4 and pool5 become 3x3 windows with stride 1, so the
network stops subsampling at output stride 8, and the conv5 layers are dilated by 2 to keep
their receptive field. The authors' released network definition also uses 3x3 windows with
stride 2 and padding 1 for pool1-3 (torchvision's VGG uses 2x2 windows): we follow the authors
(``pool_kernel=3``); it keeps every odd size exact (ceil(H / 8)) and has no parameters, so the
weights load either way. No normalisation layers, as VGG-16.
"""
from typing import Sequence

from mmcv.cnn import make_vgg_layer
from mmengine.model import BaseModule
from torch import nn

from faceparse_mm.registry import MODELS

__all__ = ['DeepLabVGG16']


@MODELS.register_module()
class DeepLabVGG16(BaseModule):
    """VGG-16 features with DeepLab's stride-1 pool4/pool5 and dilated conv5.

    Args:
        out_indices: stages (0-4) whose outputs are returned.
        conv5_dilation: dilation of the three conv5 layers (DeepLab: 2).
        pool_kernel: window of every max pool (DeepLab: 3, padding 1); 2 gives torchvision's
            2x2 / stride 2 for pool1-3 (pool4 and pool5 stay stride 1 with a 3x3 window).
        init_cfg: e.g. ``dict(type='Pretrained', checkpoint='torchvision://vgg16')``.
    """
    stage_blocks = (2, 2, 3, 3, 3)
    stage_channels = (64, 128, 256, 512, 512)
    strided_stages = 3  # pool1-3 subsample by 2; pool4, pool5 keep the size

    def __init__(self, out_indices: Sequence[int] = (4, ), conv5_dilation: int = 2,
                 pool_kernel: int = 3, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if pool_kernel not in (2, 3):
            raise ValueError(f'pool_kernel must be 2 or 3, got {pool_kernel}')
        if not out_indices or not set(out_indices) <= set(range(5)):
            raise ValueError(f'out_indices must be stages 0-4, got {out_indices}')
        self.out_indices = tuple(out_indices)
        layers, self.stage_ends = [], []
        in_channels = 3
        for i, (blocks, channels) in enumerate(zip(self.stage_blocks, self.stage_channels)):
            stage = make_vgg_layer(in_channels, channels, blocks,
                                   dilation=conv5_dilation if i == 4 else 1)
            if i < self.strided_stages:
                stage[-1] = nn.MaxPool2d(pool_kernel, stride=2,
                                         padding=(pool_kernel - 1) // 2)
            else:
                stage[-1] = nn.MaxPool2d(3, stride=1, padding=1)
            layers += stage
            self.stage_ends.append(len(layers))
            in_channels = channels
        self.features = nn.Sequential(*layers)

    def forward(self, x):
        outs, start = [], 0
        for i, end in enumerate(self.stage_ends):
            for layer in self.features[start:end]:
                x = layer(x)
            if i in self.out_indices:
                outs.append(x)
            start = end
        return tuple(outs)
