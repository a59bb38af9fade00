"""Fully connected CRF post-processing (Krähenbühl and Koltun, "Efficient Inference in Fully
Connected CRFs with Gaussian Edge Potentials", NIPS 2011), as DeepLab v1 applies it to its
network's output (Chen et al., ICLR 2015, Sec. 4).

:class:`DenseCRFModel` wraps a segmentor (or a TTA model) at test time: the wrapped model's
softmax is the unary term, then mean-field inference with a Gaussian smoothness kernel
(``pos_w``, ``pos_xy_std``) and a bilateral appearance kernel on the image colours
(``bi_w``, ``bi_xy_std``, ``bi_rgb_std``) gives new per-pixel marginals; they replace the sample's
``seg_logits`` (as log-probabilities) and ``pred_sem_seg``. The defaults are DeepLab-LargeFOV's
released settings (cross-validated on PASCAL VOC; 10 iterations): retune them on a face
validation split before reading much into a CRF row. CPU only (the inference is the C++ code
of the ``pydensecrf2`` package, an optional dependency: ``pip install pydensecrf2``).

Never part of the protocol numbers: ``tools/test.py CONFIG CHECKPOINT --crf`` turns it on and
labels the run (``test_time`` column of the results).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.structures import PixelData

from faceparse_mm.errors import UserError
from faceparse_mm.registry import MODEL_WRAPPERS, MODELS

__all__ = ['DenseCRFModel', 'dense_crf']


def _densecrf():
    try:
        import pydensecrf.densecrf as dcrf
    except ImportError as exc:
        raise UserError('--crf needs the dense CRF package: pip install pydensecrf2') from exc
    return dcrf


def dense_crf(probs: np.ndarray, image: np.ndarray, iterations: int = 10, pos_w: float = 3.0,
              pos_xy_std: float = 3.0, bi_w: float = 4.0, bi_xy_std: float = 121.0,
              bi_rgb_std: float = 5.0) -> np.ndarray:
    """Mean-field marginals (C, H, W) of the fully connected CRF.

    Args:
        probs: (C, H, W) class probabilities (each pixel's sum 1): the unary is -log(probs).
        image: (H, W, 3) uint8 RGB image of the same size (the bilateral kernel's colours).
    """
    if probs.ndim != 3 or image.shape != (probs.shape[1], probs.shape[2], 3):
        raise ValueError(f'dense_crf: probs (C, H, W) and image (H, W, 3) of one size, got '
                         f'{probs.shape} and {image.shape}')
    dcrf = _densecrf()
    classes, height, width = probs.shape
    crf = dcrf.DenseCRF2D(width, height, classes)
    unary = -np.log(np.clip(probs, 1e-8, 1.0)).reshape(classes, -1)
    crf.setUnaryEnergy(np.ascontiguousarray(unary, dtype=np.float32))
    crf.addPairwiseGaussian(sxy=pos_xy_std, compat=pos_w)
    crf.addPairwiseBilateral(sxy=bi_xy_std, srgb=bi_rgb_std,
                             rgbim=np.ascontiguousarray(image, dtype=np.uint8), compat=bi_w)
    return np.asarray(crf.inference(iterations), dtype=np.float32).reshape(classes, height, width)


# a wrapper for the Runner too: it loads a segmentor's checkpoint into ``module``, as for TTA
@MODEL_WRAPPERS.register_module()
@MODELS.register_module()
class DenseCRFModel(BaseModel):
    """Test-time wrapper: a segmentor's predictions refined by :func:`dense_crf`.

    Args:
        module: the segmentor config or module (not a TTA model: mmseg's keeps the merged
            probabilities only as its argmax).
        iterations, pos_w, pos_xy_std, bi_w, bi_xy_std, bi_rgb_std: see :func:`dense_crf`.

    The image is the test pipeline's (BGR, as loaded), taken before normalisation and resized
    to the logits' size.
    """

    def __init__(self, module, iterations: int = 10, pos_w: float = 3.0,
                 pos_xy_std: float = 3.0, bi_w: float = 4.0, bi_xy_std: float = 121.0,
                 bi_rgb_std: float = 5.0, data_preprocessor=None):
        super().__init__()
        self.module = MODELS.build(module) if isinstance(module, dict) else module
        self.crf_cfg = dict(iterations=iterations, pos_w=pos_w, pos_xy_std=pos_xy_std,
                            bi_w=bi_w, bi_xy_std=bi_xy_std, bi_rgb_std=bi_rgb_std)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return self.module(inputs, data_samples, mode)

    def train_step(self, data, optim_wrapper):
        raise NotImplementedError('DenseCRFModel is for testing only')

    def val_step(self, data):
        return self.test_step(data)

    def test_step(self, data):
        _densecrf()  # fail before the network runs, not after
        samples = self.module.test_step(data)
        for image, sample in zip(data['inputs'], samples):
            logits = sample.seg_logits.data.float()
            probs = logits.softmax(dim=0)
            rgb = image.flip(0).float()[None]  # BGR -> RGB, (1, 3, h, w)
            if rgb.shape[-2:] != logits.shape[-2:]:
                rgb = F.interpolate(rgb, size=logits.shape[-2:], mode='bilinear',
                                    align_corners=False)
            rgb = rgb[0].round().clamp(0, 255).byte().permute(1, 2, 0).cpu().numpy()
            refined = torch.from_numpy(dense_crf(probs.cpu().numpy(), rgb, **self.crf_cfg))
            sample.seg_logits = PixelData(data=refined.clamp_min(1e-8).log().to(logits.device))
            sample.pred_sem_seg = PixelData(data=refined.argmax(0, keepdim=True).to(
                logits.device))
        return samples

