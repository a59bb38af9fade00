"""Attentional Class Feature (ACF) module of ACFNet (Zhang, Chen, Li, Hong, Liu, Ma, Han and Ding,
"ACFNet: Attentional Class Feature Network for Semantic Segmentation", ICCV 2019, arXiv
1909.09408).

Features x (N, C_in, H, W) and coarse logits (N, K, H, W) -> (N, C_out, H, W):

- P = softmax of the coarse logits over the K classes (each pixel's class probabilities);
- F = a 1x1 conv-BN-act of x to ``channels`` (512 in the paper);
- class centres (N, K, C): centre_k = sum_i P_k(i) F(i) / (sum_i P_k(i) + eps), the
  P_k-weighted mean of the features over the H x W pixels i (:func:`class_centres`); for a
  one-hot P, the mean feature of each class's pixels;
- class attention (N, C, H, W): A(i) = sum_k P_k(i) centre_k, each pixel mixes the centres with
  its own coarse probabilities (:func:`attend_class_centres`);
- a 1x1 conv-BN-act of A to ``out_channels``.

What the paper specifies (as summarised for the zoo, not checked against its text): a
class-centre block (the features reduced to 512 channels by a 1x1 conv, the centres from the
coarse probabilities), a class-attention block in which each pixel weighs the centres by its
coarse probabilities, and a 1x1 conv on the result. Chosen here where that leaves it open: the
centres are normalised by each class's probability mass sum_i P_k(i) (so they are means,
independent of the image size and of how many pixels a class covers; an absent class gives a
zero centre, not NaN, through ``eps``), the reduction and the output conv are conv-BN-act
``ConvModule`` s, and no dropout. The unofficial code most ports copy (a DANet-style softmax of
"max - energy" over the raw coarse logits times features) is not followed.

Centres and attention are computed in fp32 with autocast off (a K x C matrix product and its
transpose; K is the number of classes, small), then cast back to the features' dtype.
"""
import torch
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule

from faceparse_mm.registry import MODELS

__all__ = ['AttentionalClassFeature', 'attend_class_centres', 'class_centres']


def class_centres(features: torch.Tensor, probs: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Features (N, C, H, W) and class probabilities (N, K, H, W) -> centres (N, K, C), in fp32:
    centre_k = sum_i P_k(i) F(i) / (sum_i P_k(i) + eps) over the H x W pixels i."""
    with torch.autocast(device_type=features.device.type, enabled=False):
        f = features.flatten(2).float()  # (N, C, HW)
        p = probs.flatten(2).float()  # (N, K, HW)
        weighted = torch.bmm(p, f.transpose(1, 2))  # (N, K, C)
        mass = p.sum(dim=2, keepdim=True)  # (N, K, 1): each class's probability mass
        return weighted / (mass + eps)


def attend_class_centres(centres: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
    """Centres (N, K, C) and class probabilities (N, K, H, W) -> (N, C, H, W), in fp32:
    A(i) = sum_k P_k(i) centre_k."""
    n, k, h, w = probs.shape
    with torch.autocast(device_type=probs.device.type, enabled=False):
        out = torch.bmm(centres.float().transpose(1, 2), probs.flatten(2).float())  # (N, C, HW)
    return out.reshape(n, centres.shape[2], h, w)


@MODELS.register_module()
class AttentionalClassFeature(BaseModule):
    """ACF module: ``forward(x, coarse_logits)`` -> (N, out_channels, H, W), any H and W.

    Args:
        in_channels: C_in of x.
        channels: width of the reduced features F and of the centres (512 in the paper).
        out_channels: width of the output 1x1 conv; ``None``: ``channels``.
        eps: added to each class's probability mass before dividing.
        conv_cfg, norm_cfg, act_cfg: of the two 1x1 ``ConvModule`` s.
    """

    def __init__(self, in_channels: int, channels: int = 512, out_channels=None,
                 eps: float = 1e-6, conv_cfg=None, norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU'), init_cfg=None):
        super().__init__(init_cfg)
        out_channels = channels if out_channels is None else out_channels
        self.eps = eps
        convs = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.reduce = ConvModule(in_channels, channels, 1, **convs)
        self.project = ConvModule(channels, out_channels, 1, **convs)

    def class_attention(self, x: torch.Tensor, coarse_logits: torch.Tensor) -> torch.Tensor:
        """The attended class feature A (N, channels, H, W), before the output conv."""
        probs = torch.softmax(coarse_logits.float(), dim=1)  # over the classes
        features = self.reduce(x)
        centres = class_centres(features, probs, self.eps)
        return attend_class_centres(centres, probs).to(features.dtype)

    def forward(self, x: torch.Tensor, coarse_logits: torch.Tensor) -> torch.Tensor:
        return self.project(self.class_attention(x, coarse_logits))
