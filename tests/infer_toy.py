"""A trained-looking checkpoint of the tiny 19-class parser in ``tests/data/infer_toy_config.py``
(random weights and BN statistics, so that its labels vary over an image) and generated faces,
for the tests of the inference API and tools."""
import os

import numpy as np
import torch

from faceparse_mm.datasets import CELEBAMASK_HQ
from faceparse_mm.datasets.synthetic import render_face
from faceparse_mm.registry import MODELS
from faceparse_mm.utils.build import build_segmentor
from tests.models.randomise import randomise
from tests.toy import ToyBackbone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, 'tests', 'data', 'infer_toy_config.py')
INPUT_SIZE = (64, 64)  # the config's test dataset synthetic.mask_size
#: the same parser with a backbone whose graph freezes the traced input size
FROZEN_CONFIG = os.path.join(ROOT, 'tests', 'data', 'infer_toy_frozen_config.py')


@MODELS.register_module(force=True)
class ToyFrozenSizeBackbone(ToyBackbone):
    """``ToyBackbone`` that reads its input size as Python ints (a mask of ones of that size):
    traced for ONNX, the size becomes a constant and the graph fails at any other size."""

    def forward(self, x):
        (feat,) = super().forward(x)
        return (feat * torch.ones(1, 1, int(x.shape[2]), int(x.shape[3])),)


def write_checkpoint(path, palette=None, with_meta=True, seed=0, config=CONFIG):
    """Save the toy parser with random weights as a checkpoint; its ``meta.dataset_meta`` names
    the CelebAMask-HQ classes and ``palette`` (default the dataset's), unless not ``with_meta``."""
    model = randomise(build_segmentor(config), seed=seed)
    state = {'state_dict': model.state_dict()}
    if with_meta:
        state['meta'] = {'dataset_meta': dict(
            classes=list(CELEBAMASK_HQ['classes']),
            palette=[list(c) for c in (palette or CELEBAMASK_HQ['palette'])])}
    torch.save(state, path)
    return str(path)


def faces(num, size=96, seed=0):
    """``num`` generated faces as BGR uint8 (size, size, 3) arrays."""
    rng = np.random.default_rng(seed)
    rgb = [render_face(rng, image_size=size, mask_size=size // 2)[0] for _ in range(num)]
    return [np.ascontiguousarray(img[..., ::-1]) for img in rgb]
