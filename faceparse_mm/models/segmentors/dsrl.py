"""Dual Super-Resolution Learning (Wang et al., "Dual Super-Resolution Learning for Semantic
Segmentation", CVPR 2020).

The network sees the image at 1 / s of the label resolution (s = ``scale_factor`` = 2: 256 for
the protocol's 512 labels) and predicts labels at the full resolution. Images (B, 3, H, W), as
the data preprocessor leaves them (normalised, padded), are downsampled inside the segmentor to
(B, 3, H / s, W / s) (``downsample_mode``, area: the mean of each s x s block), so the dataset,
the labels and the metric stay the protocol's. Three things train:

- SSSR, semantic segmentation super-resolution: the segmentation decoder (``decode_head``, its
  logits bilinearly resized to the network's input, H / s) followed by an upsampling stage to
  (B, num_classes, H, W), supervised by the full-resolution labels with the head's loss.
- SISR, single-image super-resolution (``sisr_decoder``, training only): a second decoder on the
  same backbone features reconstructs the full-resolution image (B, 3, H, W); ``loss_sr`` (MSE,
  w_sr) against the images as the preprocessor gave them, i.e. normalised exactly as the
  network's input, before the downsampling (batch padding included: 0, the mean colour, in the
  input and the target alike).
- FA, feature affinity (``loss_fa``, w_fa): the decoder's features (the classifier's input,
  before its dropout), passed through ``feature_transform`` (training only), against the SISR
  features at the same size: the L1 distance of their normalised pairwise similarity matrices
  (:class:`~faceparse_mm.models.losses.FeatureAffinityLoss`, on features average-pooled so that
  the matrices fit in memory).

Loss = the head's loss (the protocol's OHEM CE) + the auxiliary heads' + w_sr MSE + w_fa FA.
At inference only SSSR runs (``encode_decode``, ``predict``, ``_forward``): ``sisr_decoder`` and
``feature_transform`` are listed in ``training_only``, are never called there, and the inference
parameter count leaves them out. What the half-resolution input buys: predicting 512 labels
costs about a quarter of the same network run on the 512 image. With the dilated ResNet-50
DeepLabV3+ of ``configs/dsrl-deeplabv3plus-r50-d8_celebamask.py`` and 512 images (mmengine's
counter as ``tools/analysis/benchmark.py`` runs it, MACs): 44.5 G (the network at 256: 44.2 G,
plus the downsampling and the SSSR stage) against 176.6 G for mmseg's DeepLabV3+ on the 512
image, 3.97 times as much (4.00 between that network at 512 and at 256).

What the paper specifies and what is chosen here:

- The paper: SSSR appends an extra upsampling module to the segmentation decoder so that the
  prediction is at 2x the input; SISR shares the encoder, reconstructs the 2x image with an MSE
  loss and is removed at inference; FA compares the two branches' normalised pairwise
  similarity matrices (L1), on subsampled features, after a feature transform module on the
  segmentation side; loss weights w_sr = 0.1, w_fa = 1.0 (the values reported for the paper,
  not checked against its text here, nor are the transform and the subsampling). The authors
  released only an ESPNetv2 model, without the SISR branch or the FA loss; an unofficial
  DeepLabv3+ port makes the SSSR stage a plain bilinear upsampling.
- Chosen: the SSSR stage is :class:`~faceparse_mm.models.modules.LearnedUpsample` on the class
  scores (a transposed conv initialised as exact bilinear 2x upsampling; 5,795 parameters with 19
  classes, the only parameters added to the base model at inference); ``learned_upsample=False``
  makes it the port's plain bilinear resize. The SISR decoder's layers are
  :class:`~faceparse_mm.models.decode_heads.SISRDecoder`'s. The feature transform is a 1x1
  ConvModule (conv-BN-ReLU) from the decoder's width to the SISR features' width. FA uses
  cosine similarities on features average-pooled by ``loss_fa.pool_stride``.

The decode head must return its logits as one tensor (mmseg's ``DepthwiseSeparableASPPHead``
does) and classify with ``cls_seg`` (every ``BaseDecodeHead``): its classifier input is read with
a forward pre-hook on its dropout (or on ``conv_seg`` when it has none).
"""
from __future__ import annotations

import contextlib
import math
from typing import List

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmseg.models.segmentors.encoder_decoder import EncoderDecoder
from mmseg.models.utils import resize
from mmseg.utils import add_prefix

from faceparse_mm.models.modules.learned_upsample import LearnedUpsample
from faceparse_mm.registry import MODELS

__all__ = ['DSRL']


@contextlib.contextmanager
def _classifier_input(head, enabled: bool = True):
    """Within the block, ``seen['features']`` is the input of ``head``'s classifier (before its
    dropout) in the last forward."""
    seen = {'features': None}
    if not enabled:
        yield seen
        return
    first = head.dropout if getattr(head, 'dropout', None) is not None else head.conv_seg

    def hook(module, args):
        seen['features'] = args[0]

    handle = first.register_forward_pre_hook(hook)
    try:
        yield seen
    finally:
        handle.remove()


@MODELS.register_module()
class DSRL(EncoderDecoder):
    """Args (besides ``EncoderDecoder``'s):
        sisr_decoder: the SISR decoder config (training only), e.g. ``SISRDecoder``; its
            ``forward(features, out_size)`` returns (features, image).
        loss_sr: the reconstruction loss config (``MSELoss``, weight w_sr).
        loss_fa: the feature affinity loss config (``FeatureAffinityLoss``, weight w_fa).
        feature_transform: ``ConvModule`` arguments (kernel, norm, activation) of the transform
            from the decoder's ``channels`` to the SISR decoder's ``channels`` (training only);
            None: the affinity compares the decoder's features directly.
        scale_factor: s, label resolution / network input resolution (2 in the paper).
        learned_upsample: the SSSR stage is a ``LearnedUpsample`` (True) or a bilinear resize.
        downsample_mode: ``F.interpolate`` mode of the image downsampling ('area', 'bilinear').
    """

    training_only = ('auxiliary_head', 'sisr_decoder', 'feature_transform')

    def __init__(self, backbone, decode_head, sisr_decoder,
                 loss_sr=dict(type='MSELoss', loss_weight=0.1),
                 loss_fa=dict(type='FeatureAffinityLoss', pool_stride=2, loss_weight=1.0),
                 feature_transform=dict(kernel_size=1, norm_cfg=dict(type='BN'),
                                        act_cfg=dict(type='ReLU')),
                 scale_factor: int = 2, learned_upsample: bool = True,
                 downsample_mode: str = 'area', **kwargs):
        super().__init__(backbone=backbone, decode_head=decode_head, **kwargs)
        if scale_factor < 1:
            raise ValueError(f'scale_factor must be >= 1, got {scale_factor}')
        self.scale_factor = scale_factor
        self.downsample_mode = downsample_mode
        self.sssr_upsample = (LearnedUpsample(self.decode_head.num_classes, scale_factor)
                              if learned_upsample and scale_factor > 1 else None)
        self.sisr_decoder = MODELS.build(sisr_decoder)
        if feature_transform is not None:
            ftm = dict(feature_transform)
            kernel = ftm.pop('kernel_size', 1)
            self.feature_transform = ConvModule(self.decode_head.channels,
                                                self.sisr_decoder.channels, kernel,
                                                padding=kernel // 2, **ftm)
        else:
            self.feature_transform = None
        self.loss_sr = MODELS.build(loss_sr)
        self.loss_fa = MODELS.build(loss_fa)

    # ------------------------------------------------------------------------------------------
    # SSSR: what inference runs

    def downsample(self, inputs: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) -> (B, 3, ceil(H / s), ceil(W / s)): the network's input."""
        if self.scale_factor == 1:
            return inputs
        size = tuple(math.ceil(d / self.scale_factor) for d in inputs.shape[-2:])
        align = None if self.downsample_mode in ('area', 'nearest') else self.align_corners
        return F.interpolate(inputs, size=size, mode=self.downsample_mode, align_corners=align)

    def upsample_logits(self, logits: torch.Tensor, low_size, out_size) -> torch.Tensor:
        """The decoder's logits -> (B, num_classes, *out_size): bilinear to the network's input
        size ``low_size``, then the SSSR stage (s x), then resized if it misses ``out_size``."""
        logits = resize(logits, size=tuple(low_size), mode='bilinear',
                        align_corners=self.align_corners)
        if self.sssr_upsample is not None:
            logits = self.sssr_upsample(logits)
        if tuple(logits.shape[-2:]) != tuple(out_size):
            logits = resize(logits, size=tuple(out_size), mode='bilinear',
                            align_corners=self.align_corners)
        return logits

    def _sssr(self, inputs: torch.Tensor, capture: bool = False):
        """Full-resolution images -> (SSSR logits at the images' size, backbone features of the
        downsampled images, the decoder's classifier input or None)."""
        low = self.downsample(inputs)
        feats = self.extract_feat(low)
        with _classifier_input(self.decode_head, capture) as seen:
            logits = self.decode_head.forward(feats)
        if not isinstance(logits, torch.Tensor):
            raise TypeError('DSRL needs a decode head whose forward returns one logits tensor, '
                            f'got {type(logits).__name__}')
        return self.upsample_logits(logits, low.shape[-2:], inputs.shape[-2:]), feats, \
            seen['features']

    def encode_decode(self, inputs: torch.Tensor, batch_img_metas: List[dict]) -> torch.Tensor:
        """Full-resolution images (B, 3, H, W) -> SSSR logits (B, num_classes, H, W); the network
        runs on the images downsampled by s."""
        return self._sssr(inputs)[0]

    def _forward(self, inputs: torch.Tensor, data_samples=None) -> torch.Tensor:
        return self._sssr(inputs)[0]

    # ------------------------------------------------------------------------------------------
    # training: SSSR + SISR + FA

    def loss(self, inputs: torch.Tensor, data_samples) -> dict:
        """Images and labels at the full resolution (labels at the images' padded size)."""
        logits, feats, seg_features = self._sssr(inputs, capture=True)
        losses = add_prefix(self.decode_head.loss_by_feat(logits, data_samples), 'decode')
        if self.with_auxiliary_head:
            losses.update(self._auxiliary_head_forward_train(feats, data_samples))
        sr_features, image = self.sisr_decoder(feats, out_size=inputs.shape[-2:])
        losses[f'sisr.{self.loss_sr.loss_name}'] = self.loss_sr(image, inputs)
        if self.feature_transform is not None:
            seg_features = self.feature_transform(seg_features)
        if sr_features.shape[-2:] != seg_features.shape[-2:]:
            sr_features = resize(sr_features, size=seg_features.shape[-2:], mode='bilinear',
                                 align_corners=self.align_corners)
        losses[f'fa.{self.loss_fa.loss_name}'] = self.loss_fa(seg_features, sr_features)
        return losses

    def reconstruct(self, inputs: torch.Tensor) -> torch.Tensor:
        """Full-resolution images -> the SISR branch's reconstruction (B, 3, H, W), for looking
        at it (not part of inference)."""
        feats = self.extract_feat(self.downsample(inputs))
        return self.sisr_decoder(feats, out_size=inputs.shape[-2:])[1]
