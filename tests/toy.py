"""Toy modules for tests: a registered one-conv backbone, an in-memory dataset of random
32x32 images whose label is a function of the image (so a model can learn it), and a
segmentor that labels by position (for flip TTA)."""
import numpy as np
import torch
from mmengine.structures import PixelData
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.structures import SegDataSample
from torch import nn

from faceparse_mm.registry import DATASETS, MODELS


@MODELS.register_module(force=True)
class ToyBackbone(nn.Module):
    def __init__(self, in_channels=3, channels=8, init_cfg=None):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1),
                                  nn.BatchNorm2d(channels), nn.ReLU())

    def init_weights(self):
        pass

    def forward(self, x):
        return (self.conv(x),)


@DATASETS.register_module(force=True)
class ToySegDataset(torch.utils.data.Dataset):
    METAINFO = dict(classes=('a', 'b', 'c'), palette=[[0, 0, 0], [255, 0, 0], [0, 255, 0]])

    def __init__(self, num=16, size=32, seed=0, **kwargs):
        self.metainfo = dict(self.METAINFO)
        rng = np.random.default_rng(seed)
        self.images = rng.integers(0, 255, (num, 3, size, size), dtype=np.uint8)
        self.labels = (self.images[:, 0] // 86).astype(np.int64)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        sample = SegDataSample()
        h, w = self.labels[i].shape
        sample.set_metainfo(dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w)))
        sample.gt_sem_seg = PixelData(data=torch.from_numpy(self.labels[i][None]))
        return dict(inputs=torch.from_numpy(self.images[i]), data_samples=sample)


@MODELS.register_module(force=True)
class ToyNaNAtLoss(nn.Module):
    """Cross-entropy that turns NaN from its ``nan_at``-th call on (a diverging run)."""

    def __init__(self, nan_at=3, loss_name='loss_ce', **kwargs):
        super().__init__()
        self.nan_at = nan_at
        self.calls = 0
        self._loss_name = loss_name

    def forward(self, cls_score, label, weight=None, ignore_index=255, **kwargs):
        self.calls += 1
        loss = nn.functional.cross_entropy(cls_score, label, ignore_index=ignore_index)
        return loss * float('nan') if self.calls >= self.nan_at else loss

    @property
    def loss_name(self):
        return self._loss_name


@MODELS.register_module(force=True)
class IdentityBackbone(torch.nn.Module):
    def forward(self, x):
        return [x]


@MODELS.register_module(force=True)
class RightHalfIsLeftEyeHead(BaseDecodeHead):
    def __init__(self, **kwargs):
        super().__init__(in_channels=3, channels=4, num_classes=19, **kwargs)

    def forward(self, inputs):
        x = inputs[0]
        n, _, h, w = x.shape
        logits = torch.zeros(n, 19, h, w)
        right = (torch.arange(w) >= w // 2).float().view(1, 1, w)
        logits[:, 4] = 2 * right - 1
        logits[:, 5] = 1 - 2 * right
        return logits
