"""Any zoo config on another dataset: the same config with its dataset base swapped and every
dataset-dependent value of the model following.

Every user config inherits one dataset base, ``configs/_base_/datasets/celebamask_hq.py`` (the
full configs) or ``celebamask_hq_demo.py`` (the demo configs). :func:`derive_config` rebuilds a
config as if it inherited ``{dataset}.py`` (or ``{dataset}_demo.py``) from the same folder
instead, so no architecture needs a hand-written config per dataset:

1. Each key that the old dataset base sets (pipelines, dataloaders, evaluators, ``tta_model``,
   ``flip_pairs``, ...) takes the new base's value, unless the config changed it from the old
   base: that change is kept where the two bases agree on the value, and is an error naming the
   key where they do not (the config overrides something that depends on the dataset, which
   has no rule to translate it). Keys only the new base sets are added, keys only the old base
   set are removed (a three-way merge, like a rebase).
2. Outside those keys (the model, and helper dicts a config keeps at the top level), every
   ``num_classes`` equal to the old dataset's class count becomes the new count: the decode head
   (or each head of a cascade) and every auxiliary head, whatever their nesting. Every
   ``flip_pairs`` / ``swap_seg_labels`` equal to the old dataset's pairs becomes the new
   dataset's; other pairs, and any ``class_weight``, are an error naming the key (per-class
   values cannot be translated).
3. ``derived_from`` (the source config) and ``dataset_label`` (the new base's) say what the
   config is; the results files key a row by its source config and dataset
   (``tools/analysis/collect_results.py``).

The result is checked like every config that the tools load (registered ``type=`` names, each
head's ``num_classes`` against the dataset) and :func:`write_derived_config` writes it as one flat
file (mmengine's ``pretty_text``), atomically, which ``tools/train.py`` and ``tools/test.py`` run
unchanged. Class counts and flip pairs are the dataset types' ``METAINFO``.
"""
from __future__ import annotations

import ast
import copy
import os
import os.path as osp

from mmengine.config import Config

from faceparse_mm.errors import UserError
from faceparse_mm.registry import DATASETS

from .cli import check_num_classes, check_types
from .io import write_text_atomic

__all__ = ['base_files', 'dataset_base', 'target_base', 'derived_name', 'derive_config',
           'write_derived_config']

_ABSENT = object()
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def base_files(path: str) -> list[str]:
    """The files ``path`` names in ``_base_`` (a string or a list), as absolute paths."""
    with open(path) as f:
        tree = ast.parse(f.read(), filename=path)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == '_base_' for t in node.targets):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                raise UserError(f'{path}: _base_ is not a literal string or list') from None
            names = [value] if isinstance(value, str) else list(value)
            return [osp.abspath(osp.join(osp.dirname(path), n)) for n in names]
    return []


def dataset_base(path: str) -> str:
    """The dataset base ``path`` inherits (the nearest file in a ``_base_/datasets/`` folder,
    breadth first through its ``_base_`` chain)."""
    queue, seen = [osp.abspath(path)], set()
    while queue:
        current = queue.pop(0)
        if current in seen:
            continue
        seen.add(current)
        for base in base_files(current):
            if osp.basename(osp.dirname(base)) == 'datasets':
                return base
            queue.append(base)
    raise UserError(f'{path} inherits no dataset base (a file in configs/_base_/datasets/): '
                    f'there is nothing to swap')


def target_base(old_base: str, dataset: str) -> str:
    """``{dataset}.py`` (or ``{dataset}_demo.py`` for a demo base) next to ``old_base``."""
    folder = osp.dirname(old_base)
    suffix = '_demo' if osp.splitext(osp.basename(old_base))[0].endswith('_demo') else ''
    new = osp.join(folder, f'{dataset}{suffix}.py')
    if not osp.isfile(new):
        have = sorted(osp.splitext(n)[0] for n in os.listdir(folder)
                      if n.endswith('.py') and not n.endswith('_demo.py'))
        raise UserError(f'no dataset base {new} for --dataset {dataset!r} (datasets in '
                        f'{folder}: {", ".join(have)})')
    return new


def derived_name(config: str, dataset: str) -> str:
    """``NAME_celebamask.py`` -> ``NAME_{dataset}.py``; ``NAME_demo.py`` ->
    ``NAME_{dataset}_demo.py``; any other ``X.py`` -> ``X_{dataset}.py``."""
    stem = osp.splitext(osp.basename(config))[0]
    if stem.endswith('_celebamask'):
        return f'{stem[:-len("_celebamask")]}_{dataset}.py'
    if stem.endswith('_demo'):
        return f'{stem[:-len("_demo")]}_{dataset}_demo.py'
    return f'{stem}_{dataset}.py'


def _repo_relative(path: str) -> str:
    """``path`` relative to the repository when it lies inside it (how the results files name
    configs), else as given."""
    rel = osp.relpath(osp.abspath(path), REPO_ROOT)
    return path if rel.startswith('..') else rel


def _plain(cfg) -> dict:
    return copy.deepcopy(cfg._cfg_dict.to_dict())


def _rebase(value, old, new, place: str, conflicts: list):
    """Three-way merge of one value: ``old`` and ``new`` are the two dataset bases', ``value``
    the config's (``_ABSENT`` where a side has no such key)."""
    if value == old:
        return new  # the config kept the old base's value: take the new base's
    if all(isinstance(v, dict) for v in (value, old, new)):
        out = {}
        for key in list(value) + [k for k in new if k not in value]:
            merged = _rebase(value.get(key, _ABSENT), old.get(key, _ABSENT),
                             new.get(key, _ABSENT), f'{place}.{key}', conflicts)
            if merged is not _ABSENT:
                out[key] = merged
        return out
    if old == new or value == new:
        return value  # the config's own change to something both datasets share
    conflicts.append(place)
    return value


def _meta(cfg_dict: dict, where: str) -> tuple[int, list]:
    """(class count, flip pairs) of the test dataset type of ``cfg_dict``."""
    dataset = ((cfg_dict.get('test_dataloader') or {}).get('dataset') or {})
    cls = DATASETS.get(dataset.get('type')) if isinstance(dataset.get('type'), str) else None
    meta = dict(getattr(cls, 'METAINFO', None) or {})
    meta.update(dataset.get('metainfo') or {})
    if not meta.get('classes'):
        raise UserError(f'{where}: test_dataloader.dataset ({dataset.get("type")}) names no '
                        f'classes (METAINFO or metainfo)')
    return len(meta['classes']), [list(p) for p in meta.get('flip_pairs') or ()]


def _follow_dataset(node, place: str, old: tuple, new: tuple, errors: list):
    """Step 2 of the module docstring, in place under ``node`` (a dict or a list)."""
    (old_n, old_pairs), (new_n, new_pairs) = old, new
    if isinstance(node, dict):
        for key, value in node.items():
            where = f'{place}.{key}' if place else key
            if key == 'num_classes' and value == old_n:
                node[key] = new_n
            elif key in ('flip_pairs', 'swap_seg_labels') and value is not None:
                if [list(p) for p in value] == old_pairs:
                    node[key] = [tuple(p) for p in new_pairs]
                else:
                    errors.append(f'{where}={value!r} (not the dataset\'s flip pairs '
                                  f'{old_pairs})')
            elif key == 'class_weight' and value is not None:
                errors.append(f'{where} (per-class weights of the old dataset)')
            else:
                _follow_dataset(value, where, old, new, errors)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            _follow_dataset(value, f'{place}.{i}', old, new, errors)


def derive_config(config: str, dataset: str) -> Config:
    """``config`` (a path) rebuilt on ``configs/_base_/datasets/{dataset}[_demo].py`` (see the
    module docstring). Raises :class:`UserError` naming the key it cannot translate."""
    if not osp.isfile(config):
        raise UserError(f'config file not found: {config}')
    old_base = dataset_base(config)
    new_base = target_base(old_base, dataset)
    source = Config.fromfile(config)
    cfg, old, new = _plain(source), _plain(Config.fromfile(old_base)), \
        _plain(Config.fromfile(new_base))
    if new.get('derivable') is False:
        raise UserError(f'{new_base} says derivable = False: configs are not moved onto it '
                        f'(a video dataset needs a video model)')
    conflicts = []
    for key in list(old) + [k for k in new if k not in old]:
        merged = _rebase(cfg.get(key, _ABSENT), old.get(key, _ABSENT), new.get(key, _ABSENT),
                         key, conflicts)
        if merged is _ABSENT:
            cfg.pop(key, None)
        else:
            cfg[key] = merged
    if conflicts:
        raise UserError(f'{config} overrides {", ".join(conflicts)}, which the dataset bases '
                        f'{osp.basename(old_base)} and {osp.basename(new_base)} set differently: '
                        f'it cannot be derived for {dataset!r} automatically')
    old_meta, new_meta = _meta(old, old_base), _meta(cfg, new_base)
    outside = {k: v for k, v in cfg.items() if k not in new}  # the model and the helpers
    errors = []
    _follow_dataset(outside, '', old_meta, new_meta, errors)
    cfg.update(outside)
    if errors:
        raise UserError(f'{config}: cannot derive for {dataset!r}: {"; ".join(errors)}')
    cfg['derived_from'] = _repo_relative(config)
    cfg['dataset_label'] = new.get('dataset_label') or dataset
    derived = Config(cfg)
    check_types(derived)
    check_num_classes(derived)
    return derived


def write_derived_config(config: str, dataset: str, out_dir: str) -> str:
    """Derive ``config`` for ``dataset`` and write it to ``out_dir/derived_name(...)``
    atomically; returns the path."""
    derived = derive_config(config, dataset)
    path = osp.join(out_dir, derived_name(config, dataset))
    header = (f'# Generated by tools/derive_config.py from {derived.derived_from} with '
              f'--dataset {dataset}; do not edit.\n')
    write_text_atomic(path, header + derived.pretty_text)
    return path
