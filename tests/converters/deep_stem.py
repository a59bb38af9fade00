"""Pieces of a user config's model for the reference tests of the dilated deep-stem ResNet models
(SR-Net, SPNet, ANN), whose whole networks are too large for formula weights in a CPU test: the
backbone up to layer1 at full width (where the stem widths and the stem pool differ), the heads
at a narrow width, and the authors' whole released layout converted on the meta device."""
from __future__ import annotations

import copy

import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope
from torch import nn

from faceparse_mm.converters import convert
from faceparse_mm.registry import MODELS
from faceparse_mm.utils.build import build_segmentor, offline_model_cfg
from tests.converters.reference import formula_input, formula_state_dict


def model_cfg(config: str) -> dict:
    """The config's model as a plain dict that builds on a CPU (BN, nothing downloaded)."""
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'faceparse_mm'))
    return offline_model_cfg(cfg.model)


def stem_and_layer1(backbone: dict) -> nn.Module:
    """The config's ResNet cut after its first stage: the same stem, stem pool and layer1
    (plug-ins included); multi-grid only ever concerns the last stage of the full network."""
    cfg = copy.deepcopy(backbone)
    cfg.update(num_stages=1, out_indices=(0,), strides=cfg['strides'][:1],
               dilations=cfg['dilations'][:1], multi_grid=None)
    for plugin in cfg.get('plugins') or ():
        if plugin.get('stages') is not None:
            plugin['stages'] = plugin['stages'][:1]
    return MODELS.build(ConfigDict(cfg))


def narrowed(head: dict, **widths) -> nn.Module:
    """The config's head with only its widths replaced."""
    return MODELS.build(ConfigDict(copy.deepcopy(head), **widths))


def converted(rules, ref: dict, shared=(), **parts: nn.Module) -> nn.Module:
    """``parts`` (named as in the segmentor: backbone, decode_head, auxiliary_head) in one module,
    loaded with the formula weights of ``ref['keys']`` converted by ``rules``; eval mode.

    ``shared``: (name, same) prefix pairs of one module of the authors' registered under two
    names. The formula gives each name its own values and their model held the later name's
    (``same``) under both, so ``name``'s entries take ``same``'s values here too."""
    model = nn.Module()
    for name, part in parts.items():
        model.add_module(name, part)
    source = formula_state_dict({k: tuple(s) for k, s in ref['keys'].items()})
    for name, same in shared:
        source.update({k: source[same + k[len(name):]] for k in source if k.startswith(name)})
    model.load_state_dict(convert(source, rules, model.state_dict()), strict=True)
    return model.eval()


def inputs(ref: dict) -> dict:
    return {name: formula_input(shape) for name, shape in ref['input_shape'].items()}


def full_layout(rules, ref: dict, config: str) -> nn.Module:
    """The user config's whole model on the meta device after converting every key of the
    authors' released layout (``ref['checkpoint_keys']``) into it: shapes and names only."""
    with torch.device('meta'):
        model = build_segmentor(config)
    source = {k: torch.empty(s, device='meta') for k, s in ref['checkpoint_keys'].items()}
    out = convert(source, rules, model.state_dict())
    assert set(out) == set(model.state_dict())
    return model
