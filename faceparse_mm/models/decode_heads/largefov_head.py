"""DeepLab-LargeFOV head (Chen et al., "Semantic Image Segmentation with Deep Convolutional Nets
and Fully Connected CRFs", ICLR 2015).

(N, C_in, H, W) -> fc6: 3x3 conv to 1024, dilation 12, ReLU, dropout 0.5 -> fc7: 1x1 conv to
1024, ReLU, dropout 0.5 -> fc8: 1x1 classifier -> (N, num_classes, H, W). VGG-16's fully
connected layers, made convolutional and thinned: the paper's LargeFOV variant (Table 2:
kernel 3x3, input stride 12, receptive field 224, 20.5M parameters with its VGG-16) is the one
it recommends. No normalisation (``norm_cfg=None``), as the paper. Dropout is element-wise as in
the authors' Caffe model (``nn.Dropout``), not mmseg's channel-wise ``Dropout2d``.

ImageNet init of fc6 and fc7 (``fc_pretrained``): the paper initialises them from VGG-16's fc6
and fc7 by "simple decimation": fc6's 7x7 window is subsampled to 3x3 (every third tap) and
both layers keep every fourth of their 4096 filters (and fc7 the matching input channels), which
gives 1024. fc8 starts from N(0, 0.01), as the paper's classifier.
"""
from typing import Optional

import torch
from mmcv.cnn import ConvModule
from mmengine.logging import print_log
from mmengine.runner import CheckpointLoader
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from torch import nn

from faceparse_mm.errors import UserError
from faceparse_mm.registry import MODELS

__all__ = ['LargeFOVHead', 'decimate_vgg_fc']

VGG_FC6, VGG_FC7 = 'classifier.0', 'classifier.3'  # torchvision's vgg16 keys


def decimate_vgg_fc(state_dict: dict, in_channels: int = 512, channels: int = 1024,
                    kernel: int = 3, window: int = 7) -> dict:
    """fc6/fc7 weights for the LargeFOV head from a VGG-16 classifier (torchvision keys).

    fc6 (F, in_channels * window^2) is read as an (F, in_channels, window, window) conv, its taps
    decimated to ``kernel`` x ``kernel`` (rows and columns 0, 3, 6 for 7 -> 3) and every
    (F / channels)-th filter kept (VGG-16: F = 4096, every fourth); fc7 keeps the same filters
    and, as inputs, fc6's kept ones. Returns ``{'fc6.weight', 'fc6.bias', 'fc7.weight',
    'fc7.bias'}`` in conv shapes.
    """
    missing = [f'{k}.{p}' for k in (VGG_FC6, VGG_FC7) for p in ('weight', 'bias')
               if f'{k}.{p}' not in state_dict]
    if missing:
        raise UserError(f'fc_pretrained: the checkpoint has no {", ".join(missing)} '
                        "(expected torchvision's vgg16 layout)")
    fc6, fc7 = state_dict[f'{VGG_FC6}.weight'], state_dict[f'{VGG_FC7}.weight']
    filters = fc6.shape[0]
    if (fc6.shape[1] != in_channels * window * window or filters % channels
            or tuple(fc7.shape) != (filters, filters)):
        raise UserError(f'fc_pretrained: {VGG_FC6}.weight {tuple(fc6.shape)} and {VGG_FC7}.weight '
                        f'{tuple(fc7.shape)} do not decimate to in_channels={in_channels}, '
                        f'channels={channels} (a {window}x{window} fc6 over in_channels inputs '
                        'with a multiple of channels filters is needed)')
    keep = filters // channels
    taps = torch.arange(0, window, (window - 1) // (kernel - 1))[:kernel]
    fc6 = fc6.reshape(filters, in_channels, window, window)[:, :, taps][:, :, :, taps]
    return {
        'fc6.weight': fc6[::keep].contiguous(),
        'fc6.bias': state_dict[f'{VGG_FC6}.bias'][::keep].clone(),
        'fc7.weight': fc7[::keep, ::keep, None, None].contiguous(),
        'fc7.bias': state_dict[f'{VGG_FC7}.bias'][::keep].clone(),
    }


@MODELS.register_module()
class LargeFOVHead(BaseDecodeHead):
    """Args (beyond ``BaseDecodeHead``'s; the paper: ``channels=1024``, ``dropout_ratio=0.5``,
    ``norm_cfg=None``):

    dilation: fc6's dilation (LargeFOV: 12 at output stride 8).
    kernel_size: fc6's window (LargeFOV: 3).
    fc_pretrained: a VGG-16 checkpoint in torchvision's layout (``'torchvision://vgg16'``) to
        initialise fc6 and fc7 from, by decimation (see :func:`decimate_vgg_fc`).
    """

    def __init__(self, dilation: int = 12, kernel_size: int = 3,
                 fc_pretrained: Optional[str] = None, **kwargs):
        super().__init__(**kwargs)
        self.fc_pretrained = fc_pretrained
        self.fc6 = ConvModule(self.in_channels, self.channels, kernel_size,
                              padding=dilation * (kernel_size // 2), dilation=dilation,
                              conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.fc7 = ConvModule(self.channels, self.channels, 1, conv_cfg=self.conv_cfg,
                              norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        # element-wise dropout after fc6 and fc7 (the latter is BaseDecodeHead's, before fc8)
        self.fc6_dropout = nn.Dropout(self.dropout_ratio) if self.dropout_ratio > 0 else None
        self.dropout = nn.Dropout(self.dropout_ratio) if self.dropout_ratio > 0 else None

    def init_weights(self):
        super().init_weights()
        if self.fc_pretrained is None:
            return
        checkpoint = CheckpointLoader.load_checkpoint(self.fc_pretrained, map_location='cpu')
        state = checkpoint.get('state_dict', checkpoint)
        weights = decimate_vgg_fc(state, self.in_channels, self.channels,
                                  self.fc6.conv.kernel_size[0])
        with torch.no_grad():
            for name, value in weights.items():
                layer, param = name.split('.')
                getattr(getattr(self, layer).conv, param).copy_(value)
        print_log(f'LargeFOVHead: fc6/fc7 initialised from {self.fc_pretrained} by decimation',
                  logger='current')

    def forward(self, inputs):
        x = self._transform_inputs(inputs)
        x = self.fc6(x)
        if self.fc6_dropout is not None:
            x = self.fc6_dropout(x)
        return self.cls_seg(self.fc7(x))
