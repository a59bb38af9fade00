"""Building a config's segmentor the way tests, benchmarks, converters and CPU runs need it.

- :func:`iter_heads`: every head of a model config (``decode_head`` and ``auxiliary_head``, each a
  dict or a list, as in cascades such as OCRNet), with its dotted place in the config.
- :func:`offline_model_cfg`: a model config that builds without downloading anything: every
  ``Pretrained`` weight initialiser and every ``pretrained=`` path removed (other initialisers,
  Kaiming and the like, stay), and SyncBN as BN (SyncBN needs CUDA and a process group).
- :func:`build_segmentor`: a config file or object -> the segmentor, offline by default.

Configs opt into offline building with a top-level ``offline = True`` (the demo dataset config
sets it: no ImageNet weights for the demo); ``tools/train.py`` and ``tools/test.py`` then build
exactly what :func:`build_segmentor` builds.
"""
from __future__ import annotations

import copy
from typing import Iterator

from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope

from faceparse_mm.registry import MODELS

TTA_TYPES = ('SegTTAModel', 'FaceSegTTAModel')


def _plain(node):
    return node.to_dict() if isinstance(node, ConfigDict) else node


def iter_heads(model_cfg) -> Iterator[tuple[str, dict]]:
    """Yield ``(place, head_cfg)`` for every head of ``model_cfg``: each key ending in ``_head``
    (``decode_head``, ``auxiliary_head``), a dict or a list of dicts; a TTA wrapper's ``module``
    is looked through. ``place`` is the dotted key (``model.decode_head.1``)."""
    model_cfg = model_cfg or {}
    prefix = 'model'
    if model_cfg.get('type') in TTA_TYPES:
        model_cfg, prefix = model_cfg.get('module') or {}, 'model.module'
    for key, value in model_cfg.items():
        if not key.endswith('_head') or value is None:
            continue
        if isinstance(value, dict):
            yield f'{prefix}.{key}', value
        elif isinstance(value, (list, tuple)):
            for i, head in enumerate(value):
                if isinstance(head, dict):
                    yield f'{prefix}.{key}.{i}', head


def replace_norm(node, old: str, new: str) -> int:
    """Replace ``type=old`` by ``type=new`` in every ``norm_cfg`` under ``node`` (in place);
    returns how many were replaced."""
    count = 0
    if isinstance(node, dict):
        for key, value in node.items():
            if key == 'norm_cfg' and isinstance(value, dict) and value.get('type') == old:
                value['type'] = new
                count += 1
            else:
                count += replace_norm(value, old, new)
    elif isinstance(node, (list, tuple)):
        for value in node:
            count += replace_norm(value, old, new)
    return count


def _is_pretrained(init) -> bool:
    return isinstance(init, dict) and init.get('type') == 'Pretrained'


def strip_pretrained(node) -> int:
    """Remove every ``Pretrained`` initialiser (an ``*init_cfg`` that is one, or one entry of an
    ``*init_cfg`` list) and set every ``pretrained=`` or ``*_pretrained=`` (a module's own
    checkpoint argument, e.g. ``LargeFOVHead(fc_pretrained=...)``) to None, in place; returns
    how many."""
    count = 0
    if isinstance(node, dict):
        for key in list(node):
            value = node[key]
            if key.endswith('init_cfg'):
                if _is_pretrained(value):
                    node[key] = None
                    count += 1
                elif isinstance(value, (list, tuple)):
                    kept = [v for v in value if not _is_pretrained(v)]
                    count += len(value) - len(kept)
                    node[key] = kept or None
            elif (key == 'pretrained' or key.endswith('_pretrained')) and value is not None:
                node[key] = None
                count += 1
            else:
                count += strip_pretrained(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            count += strip_pretrained(value)
    return count


def offline_model_cfg(model_cfg) -> dict:
    """A copy of ``model_cfg`` (dict or ConfigDict) that builds on a CPU without downloads."""
    cfg = copy.deepcopy(_plain(model_cfg))
    strip_pretrained(cfg)
    replace_norm(cfg, 'SyncBN', 'BN')
    return cfg


def build_segmentor(config, offline: bool = True, init_weights: bool = False):
    """Build the segmentor of ``config`` (a path or a :class:`Config`) in the config's scope.

    ``offline``: as :func:`offline_model_cfg` (nothing downloaded, BN instead of SyncBN).
    ``init_weights``: run the model's ``init_weights()`` (its own initialisers)."""
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    init_default_scope(cfg.get('default_scope', 'faceparse_mm'))
    model_cfg = offline_model_cfg(cfg.model) if offline else _plain(cfg.model)
    model = MODELS.build(ConfigDict(model_cfg))
    if init_weights:
        model.init_weights()
    return model


def training_only_modules(model) -> list[str]:
    """Names of the segmentor's submodules that only training runs: ``auxiliary_head`` and
    whatever the segmentor lists in a ``training_only`` attribute (e.g. a super-resolution
    branch used only for an auxiliary loss)."""
    names = ['auxiliary_head'] + [n for n in getattr(model, 'training_only', ())
                                  if n != 'auxiliary_head']
    return [n for n in names if getattr(model, n, None) is not None]


def count_params(model) -> tuple[int, int]:
    """(all parameters, inference parameters): the second leaves out
    :func:`training_only_modules`."""
    total = sum(p.numel() for p in model.parameters())
    train_only = {id(p): p.numel() for n in training_only_modules(model)
                  for p in getattr(model, n).parameters()}
    return total, total - sum(train_only.values())
