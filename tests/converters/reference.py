"""Reference outputs of the authors' models, stored as data (``tests/data/reference/*.json``).

Each file was produced once by running the authors' code outside this repository on the CPU:
their model built with the arguments the file records, every tensor of its ``state_dict()`` set
by :func:`formula_state_dict` from the key list the file stores (a closed formula: no random
generator, so the values do not depend on the torch version), eval mode, the input
:func:`formula_input`, and the named outputs sampled on the file's ``stride`` grid. A file records
``repository``, ``commit``, ``class``, ``arguments`` and every ``patches`` entry needed to run
their code on a CPU. The tests pass the same weights through the architecture's converter into
our model and require its outputs within ``RTOL`` of the largest reference output.
"""
from __future__ import annotations

import json
import math
import os
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, 'tests', 'data', 'reference')
#: outputs must agree within this fraction of the largest reference output
RTOL = 1e-4
#: what the comparisons measured in this process (``tools/analysis/fidelity.py`` collects them):
#: the reference each test module loaded first (the one its comparisons are against), and every
#: comparison's relative difference
LOADED: dict[str, str] = {}
MEASURED: list[dict] = []


def formula_state_dict(keys: dict) -> dict:
    """Weights for ``keys`` (name -> shape, in the authors' order) from a closed formula: sines
    scaled to keep activations of order one, BN statistics and affine terms away from the
    identity, ``num_batches_tracked`` 0. Names decide the kind: ``running_var``,
    ``running_mean``, ``bias``, one-dimensional (norm weights), else a weight scaled by its
    fan-in."""
    out = {}
    for i, (key, shape) in enumerate(keys.items()):
        n = math.prod(shape)
        wave = torch.sin(torch.arange(n, dtype=torch.float64) * 0.37 + i).reshape(shape)
        if key.endswith('num_batches_tracked'):
            value = torch.tensor(0)
        elif key.endswith('running_var'):
            value = 1 + 0.5 * wave ** 2
        elif key.endswith('running_mean') or key.endswith('bias'):
            value = 0.1 * wave
        elif len(shape) <= 1:  # norm weights, scalars
            value = 1 + 0.2 * wave
        else:  # conv / linear weight (out, in, ...)
            value = wave * (1.5 / math.sqrt(math.prod(shape[1:])))
        out[key] = value.float() if value.is_floating_point() else value
    return out


def formula_input(shape) -> torch.Tensor:
    """A fixed input of ``shape`` (N, C, H, W), values in [-2, 2]."""
    n = math.prod(shape)
    return (2 * torch.sin(torch.arange(n, dtype=torch.float64) * 0.01)).reshape(shape).float()


def load(name: str) -> dict:
    """The reference file ``name``; the first a test module loads is remembered as its own."""
    LOADED.setdefault(sys._getframe(1).f_globals.get('__name__', '?'), name)
    with open(os.path.join(DATA, f'{name}.json')) as f:
        return json.load(f)


def sample(t: torch.Tensor, stride: int) -> torch.Tensor:
    """The first image of an (N, C, H, W) output on the ``stride`` grid (as stored)."""
    return t[0, :, ::stride, ::stride]


def assert_matches(ours: torch.Tensor, expected, what: str = 'output') -> float:
    """``ours`` within ``RTOL`` of the largest value of ``expected``; returns the relative
    difference."""
    expected = torch.as_tensor(expected, dtype=torch.float32)
    assert ours.shape == expected.shape, f'{what}: shape {tuple(ours.shape)} vs ' \
                                         f'{tuple(expected.shape)}'
    scale = expected.abs().max().item()
    assert scale > 1e-3, f'{what}: the reference is all zeros'
    diff = (ours.float() - expected).abs().max().item() / scale
    MEASURED.append(dict(test=os.environ.get('PYTEST_CURRENT_TEST', '?').split(' ')[0],
                         output=what, relative_difference=diff))
    assert diff <= RTOL, f'{what}: relative difference {diff:.3g} > {RTOL}'
    return diff
