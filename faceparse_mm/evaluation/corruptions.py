"""Image corruptions at five severities, deterministic per image, for the robustness evaluation.

Where a face parser fails in use: sensor noise, camera or subject motion, a missed focus, heavy
JPEG, a dark room, a flat (low-contrast) image, something in front of the face. Each corruption
maps a BGR uint8 image (the test image at label size) and a severity 1..5 to a corrupted image of
the same size, drawn from a generator seeded by the image's name and the corruption
(:func:`corruption_seed`), so a rerun, another machine or another processing order gives the same
pixels. The severity is not in the seed: an image keeps its noise pattern, blur direction and
occluder position at every severity, only stronger, so the severities of one image are ordered.

All are albumentations 2.0 transforms (MIT; ``pip install -e .[robustness]``) with their random
ranges pinned to one value per severity, the image's content the only input:

===============  =================================  =========================================
name             albumentations                      severity 1 .. 5
===============  =================================  =========================================
gaussian_noise   GaussNoise                          std 0.08, 0.12, 0.18, 0.26, 0.38 of 255
motion_blur      MotionBlur (random angle)           streak 3, 5, 7, 9, 12 % of the side
defocus_blur     Defocus                             radius 1.3, 1.8, 2.7, 3.6, 4.5 % of side
jpeg             ImageCompression                    quality 25, 18, 15, 10, 7
low_light        RandomGamma then GaussNoise         gamma 1.5 .. 3.5, noise std 0.01 .. 0.05
contrast         RandomBrightnessContrast            (x - mean) * 0.4, 0.3, 0.2, 0.1, 0.05 + mean
occlusion        CoarseDropout (one square)          side 10, 15, 20, 25, 30 % of the image,
                                                     anywhere, one random colour
===============  =================================  =========================================

Its contrast parameter is a gain about 0 (``x * (1 + c)``, whatever its docstring says), so the
contrast here sets the gain to ``c`` and the brightness offset to ``(1 - c)`` times the image's
mean: ``(x - mean) * c + mean``, ImageNet-C's contrast. The noise, JPEG and contrast levels are
ImageNet-C's (Hendrycks and Dietterich, "Benchmarking Neural Network Robustness to Common
Corruptions and Perturbations", ICLR 2019); its blur radii are given for 224-pixel images and are
scaled here as fractions of the image side, so a 128-pixel demo face and a 512-pixel
CelebAMask-HQ face are blurred alike (on a small image each severity still gets a larger kernel
than the one before, at least one pixel more; albumentations draws the motion streak on whole
pixels, so on a small image two streak lengths may still blur alike). ImageNet-C has no low-light
corruption: here gamma darkening (``x ** gamma`` on [0, 1]) plus the sensor noise it brings out.
ImageNet-C's own code is on the package index too (``imagecorruptions``, last released in 2020;
it installs and runs with this numpy), but albumentations has a transform for each corruption
above, with explicit parameters and a per-call seed, so it is the one dependency.
"""
from __future__ import annotations

import os
import zlib

import numpy as np

# albumentations asks the package index for a newer version at import (a network call with a
# 2 s timeout): not from an evaluation
os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')
import albumentations as A  # noqa: E402

__all__ = ['CORRUPTIONS', 'SEVERITIES', 'corrupt', 'corruption_seed']

SEVERITIES = (1, 2, 3, 4, 5)


def _sizes(fractions, side: int, minimum: int, step: int) -> list[int]:
    """Pixel sizes of the five severities from fractions of the image side: at least
    ``minimum``, each ``step`` above the one before (a small image would round two severities to
    one size), odd when ``step`` is 2 (kernel lengths)."""
    out = []
    for f in fractions:
        v = max(minimum, int(round(f * side)))
        if step == 2 and v % 2 == 0:
            v += 1
        out.append(max(v, out[-1] + step) if out else v)
    return out


def _gaussian_noise(s, side):
    std = (0.08, 0.12, 0.18, 0.26, 0.38)[s - 1]
    return [A.GaussNoise(std_range=(std, std), mean_range=(0, 0), p=1)]


def _motion_blur(s, side):
    k = _sizes((0.03, 0.05, 0.07, 0.09, 0.12), side, minimum=3, step=2)[s - 1]
    # a random direction, the streak centred on each pixel (symmetric): longer at each severity
    return [A.MotionBlur(blur_limit=(k, k), allow_shifted=False, direction_range=(0, 0), p=1)]


def _defocus_blur(s, side):
    radius = _sizes((0.013, 0.018, 0.027, 0.036, 0.045), side, minimum=1, step=1)[s - 1]
    alias = (0.1, 0.5, 0.5, 0.5, 0.5)[s - 1]
    return [A.Defocus(radius=(radius, radius), alias_blur=(alias, alias), p=1)]


def _jpeg(s, side):
    q = (25, 18, 15, 10, 7)[s - 1]
    return [A.ImageCompression(quality_range=(q, q), compression_type='jpeg', p=1)]


def _low_light(s, side):
    gamma = (150, 200, 250, 300, 350)[s - 1]  # percent, as RandomGamma takes it
    std = (0.01, 0.02, 0.03, 0.04, 0.05)[s - 1]
    return [A.RandomGamma(gamma_limit=(gamma, gamma), p=1),
            A.GaussNoise(std_range=(std, std), mean_range=(0, 0), p=1)]


def _contrast(s, side):
    c = (0.4, 0.3, 0.2, 0.1, 0.05)[s - 1]
    # x * c + (1 - c) * mean(x): the offset is brightness_limit times the image's mean
    return [A.RandomBrightnessContrast(brightness_limit=(1 - c, 1 - c),
                                       contrast_limit=(c - 1, c - 1), brightness_by_max=False,
                                       p=1)]


def _occlusion(s, side):
    f = (0.10, 0.15, 0.20, 0.25, 0.30)[s - 1]
    return [A.CoarseDropout(num_holes_range=(1, 1), hole_height_range=(f, f),
                            hole_width_range=(f, f), fill='random_uniform', p=1)]


#: name -> (severity, image side) -> the albumentations transforms of that severity
CORRUPTIONS = dict(gaussian_noise=_gaussian_noise, motion_blur=_motion_blur,
                   defocus_blur=_defocus_blur, jpeg=_jpeg, low_light=_low_light,
                   contrast=_contrast, occlusion=_occlusion)


def corruption_seed(key: str, corruption: str) -> int:
    """The seed of one image's corruption (every severity): a checksum of the two (stable across
    processes and machines, unlike ``hash``)."""
    return zlib.crc32(f'{key}|{corruption}'.encode())


def corrupt(img: np.ndarray, corruption: str, severity: int, key: str = '') -> np.ndarray:
    """``img`` (H, W, 3) uint8 under ``corruption`` at ``severity`` (1..5); the same ``key``
    (the image's name) gives the same pixels every time. Channel order is kept (the transforms
    treat the three channels alike; the contrast mean is the grey level of the image as given)."""
    if corruption not in CORRUPTIONS:
        raise ValueError(f'unknown corruption {corruption!r}; known: {", ".join(CORRUPTIONS)}')
    if severity not in SEVERITIES:
        raise ValueError(f'severity must be one of {SEVERITIES}, got {severity}')
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f'expected an (H, W, 3) uint8 image, got {img.dtype} {img.shape}')
    transforms = CORRUPTIONS[corruption](severity, min(img.shape[:2]))
    pipeline = A.Compose(transforms, seed=corruption_seed(key, corruption))
    return pipeline(image=np.ascontiguousarray(img))['image']
