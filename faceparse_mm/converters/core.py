"""The conversion mechanism shared by every architecture's checkpoint converter.

A :class:`ConversionRules` table says, for one released checkpoint layout:

- ``renames``: ``(regex, replacement)`` pairs applied to each source key, the first that matches
  wins (``re.fullmatch``; the replacement may use groups). A key that no rule matches is an
  unknown key and stops the conversion. ``module.`` (DataParallel / DDP) is stripped first.
- ``fold_bias``: ``(regex, replacement)`` pairs for conv biases that our model does not have
  because the conv is followed by a BatchNorm: ``BN(conv(x) + b)`` equals ``BN'(conv(x))`` with
  ``running_mean' = running_mean - b``, so the bias is folded into the running mean of the BN
  the replacement names (its ``running_mean`` key, after renaming).
- ``unsqueeze``: regexes of (renamed) keys whose source tensor is a Conv1d weight (O, I, 1) (or a
  Linear weight (O, I)) that our model holds as a 1x1 Conv2d weight (O, I, 1, 1), or the
  reverse (a 1x1 conv weight that our model holds as a Linear weight): reshaped to our shape.
- ``optional``: regexes of model keys that a release of this layout may lack (training-only parts,
  e.g. deep-supervision heads that one released checkpoint was trained without). Each pattern is
  all or nothing: when no source key fills any model key it matches, those keys are left out of
  the result (the model keeps its initialisation there); when some are filled, all must be.
- ``aliases``: ``(regex, replacement)`` pairs for source keys that name the same tensor as
  another source key (one module registered under two attribute names, e.g. a query projection
  that is the key projection: ``state_dict()`` lists its tensors under both). The matching key
  is checked to equal the key the replacement names (same shape and values; meta tensors:
  shape only) and is then used up without a place of its own.
- ``unused``: regexes of source keys of parts that the released model holds but never runs at
  inference and that our model does not have (e.g. the ImageNet classifier ``fc`` of a
  segmentation backbone). They are dropped by name, on purpose; every other key still needs a
  place.
- ``model_options``: config options (dotted keys, as ``--cfg-options`` takes them) that the
  released checkpoint's model needs on top of ``model_config``: a release of a wider variant of
  the architecture than the config's default (e.g. ViT-L/16 where the config is ViT-B/16). The
  model the result is checked against is built with them; the converted checkpoint's ``meta``
  records them as ``cfg_options``, to pass to ``tools/test.py --cfg-options``.
- ``signature``: source keys that every checkpoint of this layout has; a checkpoint without them
  is another architecture's and is refused in one line naming the first missing key.
- ``dataset_meta``: the classes and palette of the data the released checkpoint was trained on
  (written into the converted checkpoint's ``meta``, so ``tools/test.py`` refuses a Cityscapes
  checkpoint against a face config instead of scoring it).

:func:`convert` applies a table and checks the result against the model the config builds: every
source tensor used exactly once, every model tensor filled, every shape equal.
"""
from __future__ import annotations

import argparse
import datetime
import os.path as osp
import re
import shlex
from dataclasses import dataclass, field

import torch
from mmengine.config import Config

from faceparse_mm.compat import load_checkpoint
from faceparse_mm.errors import UserError
from faceparse_mm.utils.build import build_segmentor
from faceparse_mm.utils.cli import cli_errors
from faceparse_mm.utils.io import atomic_path

__all__ = ['RULES', 'ConversionRules', 'convert', 'convert_file', 'load_source_state', 'main',
           'reference_state_dict', 'register']

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: every rule table by name (``tools/model_converters/<name>.py``)
RULES: dict[str, ConversionRules] = {}


@dataclass(frozen=True)
class ConversionRules:
    """One released checkpoint layout -> one of our configs (see the module docstring)."""
    name: str
    source_repo: str
    source_model: str
    config: str
    model_config: str
    renames: tuple = ()
    fold_bias: tuple = ()
    unsqueeze: tuple = ()
    optional: tuple = ()
    aliases: tuple = ()
    unused: tuple = ()
    model_options: dict = field(default_factory=dict)
    signature: tuple = ()
    dataset_meta: dict = field(default_factory=dict)
    note: str = ''

    def rename(self, key: str) -> str | None:
        for pattern, replacement in self.renames:
            if re.fullmatch(pattern, key):
                return re.sub(f'^(?:{pattern})$', replacement, key)
        return None

    def alias_of(self, key: str) -> str | None:
        """The source key that ``key`` is another name of, or None."""
        for pattern, replacement in self.aliases:
            if re.fullmatch(pattern, key):
                return re.sub(f'^(?:{pattern})$', replacement, key)
        return None

    def fold_target(self, key: str) -> str | None:
        """The running-mean key a source conv bias folds into, or None."""
        for pattern, replacement in self.fold_bias:
            if re.fullmatch(pattern, key):
                return re.sub(f'^(?:{pattern})$', replacement, key)
        return None


def register(rules: ConversionRules) -> ConversionRules:
    if rules.name in RULES:
        raise KeyError(f'conversion rules {rules.name!r} are registered twice')
    RULES[rules.name] = rules
    return rules


def reference_state_dict(config: str, options: dict | None = None) -> dict:
    """Our model's state dict (random init, nothing downloaded) for ``config`` (relative to the
    repository) with ``options`` (dotted keys) merged."""
    cfg = Config.fromfile(osp.join(ROOT, config))
    if options:
        cfg.merge_from_dict(dict(options))
    return build_segmentor(cfg).state_dict()


def convert(state_dict: dict, rules: ConversionRules, reference: dict | None = None) -> dict:
    """``state_dict`` (the authors' keys) -> our keys by ``rules``, checked against
    ``reference`` (our model's state dict; by default the model of ``rules.model_config``)."""
    keys = {k[len('module.'):] if k.startswith('module.') else k: v
            for k, v in state_dict.items()}
    missing_signature = [k for k in rules.signature if k not in keys]
    if missing_signature:
        raise UserError(f'not a {rules.name} checkpoint ({rules.source_model}): it has no '
                        f'{missing_signature[0]!r}')
    if reference is None:
        reference = reference_state_dict(rules.model_config, rules.model_options)
    out, unknown, twice, folds, problems = {}, [], [], {}, []
    for key, value in keys.items():
        if any(re.fullmatch(pattern, key) for pattern in rules.unused):
            continue
        same = rules.alias_of(key)
        if same is not None:
            other = keys.get(same)
            if other is None or other.shape != value.shape or not (
                    value.is_meta or torch.equal(value, other)):
                problems.append(f'{key} is not the same tensor as {same}')
            continue
        target = rules.fold_target(key)
        if target is not None:
            folds[target] = (key, value)
            continue
        new = rules.rename(key)
        if new is None:
            unknown.append(key)
            continue
        if new in out:
            twice.append(new)
        if any(re.fullmatch(p, new) for p in rules.unsqueeze) and new in reference:
            value = value.reshape(reference[new].shape) if (
                value.numel() == reference[new].numel()) else value
        out[new] = value
    for target, (key, bias) in sorted(folds.items()):
        if target not in out:
            problems.append(f'{key} folds into {target}, which no source key fills')
        elif out[target].shape != bias.shape:
            problems.append(f'{key} {tuple(bias.shape)} cannot fold into {target} '
                            f'{tuple(out[target].shape)}')
        else:
            out[target] = out[target] - bias
    if unknown:
        problems.append(f'unknown source keys: {sorted(unknown)}')
    if twice:
        problems.append(f'model keys filled twice: {sorted(set(twice))}')
    missing = set(reference) - set(out)
    for pattern in rules.optional:
        matched = {k for k in reference if re.fullmatch(pattern, k)}
        if not matched & set(out):
            missing -= matched
    missing = sorted(missing)
    extra = sorted(set(out) - set(reference))
    shapes = sorted(f'{k}: {tuple(out[k].shape)} vs {tuple(reference[k].shape)}'
                    for k in set(out) & set(reference) if out[k].shape != reference[k].shape)
    if missing:
        problems.append(f'model keys with no source: {missing}')
    if extra:
        problems.append(f'source keys with no place in the model: {extra}')
    if shapes:
        problems.append(f'shape mismatches: {shapes}')
    if problems:
        raise UserError('cannot convert: ' + '; '.join(problems))
    return out


def load_source_state(path: str) -> dict:
    """The state dict of a released checkpoint file: a plain state dict, or one under
    ``state_dict`` / ``model`` (mmcv, detectron2 layouts). Loaded with ``weights_only=True``."""
    if not osp.isfile(path):
        raise UserError(f'checkpoint file not found: {path}')
    state = load_checkpoint(path)
    for wrapper in ('state_dict', 'model'):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
            break
    if not isinstance(state, dict) or not state or not all(
            isinstance(v, torch.Tensor) for v in state.values()):
        raise UserError(f'{path} is not a state dict (a dict of tensors)')
    return state


def convert_file(src: str, dst: str, rules: ConversionRules, script: str = '') -> int:
    """Convert the checkpoint file ``src`` into ``dst`` (written atomically, with ``meta``: the
    source, the config it is for and the source's ``dataset_meta``). Returns the tensor count."""
    converted = convert(load_source_state(src), rules)
    meta = dict(source=osp.basename(src), source_repo=rules.source_repo,
                source_model=rules.source_model, num_tensors=len(converted),
                converted_by=script or rules.name, config=rules.config,
                date=datetime.datetime.now().isoformat(timespec='seconds'),
                dataset_meta=dict(rules.dataset_meta))
    if rules.model_options:
        meta['cfg_options'] = dict(rules.model_options)
    with atomic_path(dst) as tmp:
        torch.save({'meta': meta, 'state_dict': converted}, tmp)
    return len(converted)


def main(name: str, argv=None, script: str = '') -> None:
    """The command line of one rule table: ``SRC DST``."""
    rules = RULES[name]
    parser = argparse.ArgumentParser(
        description=f'Convert {rules.source_model} ({rules.source_repo}) for {rules.config}.'
        + (f' {rules.note}' if rules.note else ''))
    parser.add_argument('src', help='the released checkpoint')
    parser.add_argument('dst', help='output checkpoint for ' + rules.config)
    args = parser.parse_args(argv)
    with cli_errors(checkpoint=args.src):
        count = convert_file(args.src, args.dst, rules, script)
    options = ' '.join(shlex.quote(f'{k}={v}'.replace(' ', ''))
                       for k, v in rules.model_options.items())
    print(f'{count} tensors -> {args.dst} (for {rules.config}'
          + (f' with --cfg-options {options}' if options else '') + ')')
