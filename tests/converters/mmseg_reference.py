"""Models for the reference tests of the architectures whose authors' implementation is
mmsegmentation itself (PSPNet, FCN-HRNet, OCRNet, SETR; ``tests/data/reference/<name>.json``,
produced once by mmseg 1.2.2's own configs): the user config narrowed by the reference's
``options`` and loaded through the rule table, and the user config's whole model on the meta
device, whose state dict layout must be the one of mmseg's released checkpoint."""
from __future__ import annotations

import hashlib
from contextlib import contextmanager
from unittest import mock

import torch
from mmengine.config import Config

from faceparse_mm.converters import convert
from faceparse_mm.utils.build import build_segmentor
from tests.converters.reference import formula_input, formula_state_dict, sample


def _tuples(value):
    return tuple(value) if isinstance(value, list) else value


def narrowed_model(config: str, rules, ref: dict):
    """``config`` with ``ref['arguments']['options']`` merged, loaded with the formula weights of
    ``ref['keys']`` converted by ``rules``; eval mode."""
    cfg = Config.fromfile(config)
    cfg.merge_from_dict({k: _tuples(v) for k, v in ref['arguments']['options'].items()})
    model = build_segmentor(cfg).eval()
    source = formula_state_dict({k: tuple(s) for k, s in ref['keys'].items()})
    model.load_state_dict(convert(source, rules, model.state_dict()), strict=True)
    return model


def outputs(model, ref: dict) -> dict:
    """The segmentor's ``main`` output (``encode_decode``) and its features on the formula
    input, sampled as stored."""
    x = formula_input(ref['input_shape'])
    height, width = x.shape[2:]
    meta = dict(img_shape=(height, width), ori_shape=(height, width), pad_shape=(height, width))
    with torch.no_grad():
        main = model.encode_decode(x, [meta])
        feats = model.extract_feat(x)
    return sample(main, ref['stride']), feats


@contextmanager
def _meta_device():
    """The meta device, where mmseg's ViT computes its drop-path rates on the CPU (it calls
    ``.item()`` on them)."""
    linspace = torch.linspace
    with mock.patch.object(torch, 'linspace',
                           lambda *a, **k: linspace(*a, **dict(k, device='cpu'))):
        with torch.device('meta'):
            yield


def full_model(config: str, options: dict | None = None):
    """The config's whole model (with ``options``) on the meta device: names and shapes only."""
    cfg = Config.fromfile(config)
    if options:
        cfg.merge_from_dict(dict(options))
    with _meta_device():
        return build_segmentor(cfg)


def layout_digest(state_dict: dict) -> str:
    """sha256 of a state dict's layout as the reference files store it: one line per tensor in
    order, its name, a space and its shape as ints joined by ``x``."""
    layout = '\n'.join(f"{k} {'x'.join(map(str, v.shape))}" for k, v in state_dict.items())
    return hashlib.sha256(layout.encode()).hexdigest()


def released_layout_converts(config: str, rules, ref: dict):
    """The user config's whole model (with the rules' ``model_options``) has the state dict layout
    of mmseg's released checkpoint (``ref['checkpoint_layout_sha256']``), and the rule table
    converts that layout into it, every tensor used once. Returns the model."""
    model = full_model(config, rules.model_options)
    state = model.state_dict()
    assert len(state) == ref['checkpoint_num_keys']
    assert layout_digest(state) == ref['checkpoint_layout_sha256']
    source = {k: torch.empty(v.shape, device='meta') for k, v in state.items()}
    assert set(convert(source, rules, state)) == set(state)
    return model


def layout(ref: dict) -> dict:
    """The narrowed layout of a reference file as meta tensors (names and shapes)."""
    return {k: torch.empty(tuple(s), device='meta') for k, s in ref['keys'].items()}
