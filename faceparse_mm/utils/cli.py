"""Helpers shared by the command-line tools: config loading with checked overrides, and one-line
errors for the mistakes users make (missing file, unknown ``type=``, misspelt option key, unsafe
checkpoint) instead of a traceback wall. Set ``FACEPARSE_DEBUG=1`` to get the traceback."""
from __future__ import annotations

import contextlib
import os
import os.path as osp
import pickle
import sys

from mmengine.config import Config, ConfigDict

from faceparse_mm.compat import load_checkpoint, unsafe_checkpoint_message
from faceparse_mm.errors import FaceDataError, FaceParseError, UserError
from faceparse_mm.registry import DATASETS, MODELS, TRANSFORMS

from .build import iter_heads
from .io import write_text_atomic

__all__ = ['UserError', 'check_cfg_options', 'check_types', 'check_num_classes', 'load_config',
           'default_work_dir', 'cli_errors']


def _missing_key(cfg, dotted: str) -> str | None:
    """Return the first prefix of ``dotted`` that does not exist in ``cfg``, or None."""
    node = cfg._cfg_dict if isinstance(cfg, Config) else cfg
    walked = []
    for part in dotted.split('.'):
        walked.append(part)
        if isinstance(node, (dict, ConfigDict)):
            if part not in node:
                return '.'.join(walked)
            node = node[part]
        elif isinstance(node, (list, tuple)):
            if not part.isdigit() or int(part) >= len(node):
                return '.'.join(walked)
            node = node[int(part)]
        else:
            return '.'.join(walked)
    return None


def check_cfg_options(cfg: Config, options: dict | None) -> None:
    """Refuse ``--cfg-options`` keys that the config does not have: a typo must not silently
    create a new, unused key."""
    for key in options or {}:
        missing = _missing_key(cfg, key)
        if missing is not None:
            parent = missing.rpartition('.')[0]
            node = cfg._cfg_dict
            for part in parent.split('.') if parent else []:
                node = node[int(part)] if isinstance(node, (list, tuple)) else node[part]
            if isinstance(node, (dict, ConfigDict)):
                have = sorted(node.keys())
            elif isinstance(node, (list, tuple)):
                have = f'{len(node)} items'
            else:
                have = type(node).__name__
            raise UserError(f'--cfg-options key {key!r} does not exist in the config '
                            f'({missing!r} is missing; {parent or "the top level"} has: {have})')


def _types(node, where):
    """Yield (dotted place, type name) for every ``type='Name'`` under ``node`` except inside
    ``*init_cfg`` (weight initialisers) and TTA ``transforms`` lists (nested pipelines)."""
    if isinstance(node, dict):
        if isinstance(node.get('type'), str):
            yield f'{where}.type', node['type']
        for key, value in node.items():
            if not key.endswith('init_cfg') and key not in ('transforms', 'type'):
                yield from _types(value, f'{where}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _types(value, f'{where}.{i}')


def check_types(cfg: Config) -> None:
    """Every ``type=`` in the model, datasets and pipelines must be registered; checked before the
    Runner starts so that a typo gives one line, not a failure minutes into a run."""
    checks = [('model', MODELS)]
    for split in ('train', 'val', 'test'):
        dataset = cfg.get(f'{split}_dataloader', None) or {}
        dataset = dataset.get('dataset', None) or {}
        if isinstance(dataset.get('type'), str):
            checks.append((f'{split}_dataloader.dataset', None))
    for root, registry in checks:
        node = cfg
        for part in root.split('.'):
            node = node[part]
        for place, name in _types(node, root):
            if registry is not None:
                reg = registry
            elif '.pipeline.' in place:
                reg = TRANSFORMS
            elif place == f'{root}.type':
                reg = DATASETS
            else:
                continue
            if reg.get(name) is None:
                raise UserError(f'unknown type in config: {place}={name!r} is not registered in '
                                f'faceparse_mm or mmseg (registry {reg.name!r})')


def check_num_classes(cfg: Config) -> None:
    """Every head's ``num_classes`` must equal the number of classes of the datasets."""
    heads = list(iter_heads(cfg.get('model', None)))
    for split in ('train', 'val', 'test'):
        dataset = (cfg.get(f'{split}_dataloader', None) or {}).get('dataset', None) or {}
        classes = dataset_classes(cfg, split)
        if not classes:
            continue
        for place, head in heads:
            if isinstance(head, dict) and 'num_classes' in head and \
                    head['num_classes'] != len(classes):
                raise UserError(f'{place}.num_classes={head["num_classes"]} but '
                                f'{split}_dataloader.dataset ({dataset.get("type")}) has '
                                f'{len(classes)} classes')


def dataset_classes(cfg: Config, split: str = 'test') -> tuple | None:
    """The class names of ``{split}_dataloader.dataset``: its ``metainfo`` or its type's."""
    dataset = (cfg.get(f'{split}_dataloader', None) or {}).get('dataset', None) or {}
    cls = DATASETS.get(dataset.get('type')) if isinstance(dataset.get('type'), str) else None
    classes = (dataset.get('metainfo') or {}).get('classes') or (
        getattr(cls, 'METAINFO', {}) or {}).get('classes')
    return tuple(classes) if classes else None


def check_checkpoint_classes(cfg: Config, checkpoint: str) -> str | None:
    """A checkpoint names the classes it was trained on (``meta.dataset_meta.classes``, stored by
    mmengine at save time and by our converters); they must be the classes the config evaluates,
    in the same order. Raises :class:`UserError` when they differ; returns a note when the
    checkpoint does not say (e.g. a third-party file), else None."""
    state = load_checkpoint(checkpoint)
    meta = state.get('meta') if isinstance(state, dict) else None
    trained = ((meta or {}).get('dataset_meta') or {}).get('classes')
    expected = dataset_classes(cfg)
    if trained is None or expected is None:
        return (f'{checkpoint} does not name the classes it was trained on '
                f'(no meta.dataset_meta.classes): their order cannot be checked')
    if tuple(trained) != expected:
        differ = [f'{i}: {a!r} vs {b!r}' for i, (a, b) in enumerate(zip(trained, expected))
                  if a != b]
        raise UserError(f'checkpoint {checkpoint} was trained on {len(trained)} classes that are '
                        f'not the {len(expected)} classes the config evaluates (checkpoint vs '
                        f'config: {", ".join(differ[:5]) or "different counts"})')
    return None


def load_config(path: str, cfg_options: dict | None = None) -> Config:
    """Load a config file, merge checked ``--cfg-options`` into it, check its ``type=`` names."""
    if not osp.isfile(path):
        raise UserError(f'config file not found: {path}')
    cfg = Config.fromfile(path)
    if cfg_options:
        check_cfg_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    check_types(cfg)
    check_num_classes(cfg)
    return cfg


def default_work_dir(config_path: str) -> str:
    return osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def _one_line(err: BaseException, checkpoint: str | None = None) -> str:
    if isinstance(err, FaceDataError):
        # raised in a DataLoader worker, the message carries the worker's traceback: keep the
        # original one-line message (the last line)
        last = [line for line in str(err).splitlines() if line.strip()][-1]
        return last.split('FaceDataError: ', 1)[-1]
    if isinstance(err, (FaceParseError, FloatingPointError)):
        return str(err)
    if isinstance(err, pickle.UnpicklingError):
        return unsafe_checkpoint_message(checkpoint or 'the checkpoint', err)
    if isinstance(err, KeyError) and 'registry' in str(err):
        # mmengine: "'Foo is not in the mmseg::model registry. Please check ...'", possibly
        # wrapped in "class `EncoderDecoder` in ...: ..." by each enclosing build.
        msg = str(err).strip('"\'')
        msg = msg.split('. Please check')[0].replace("'", '').replace('"', '')
        return f'unknown type in config: {msg}'
    if isinstance(err, FileNotFoundError):
        return f'file not found: {err.filename or err}'
    return f'{type(err).__name__}: {err} (set FACEPARSE_DEBUG=1 for the traceback)'


@contextlib.contextmanager
def cli_errors(checkpoint: str | None = None):
    """Turn user errors into one line on stderr and exit status 2. ``checkpoint`` names the file
    in the message when a checkpoint is refused."""
    try:
        yield
    except (FaceParseError, KeyError, FileNotFoundError, pickle.UnpicklingError,
            FloatingPointError) as err:
        if os.environ.get('FACEPARSE_DEBUG') or (
                isinstance(err, KeyError) and 'registry' not in str(err)):
            raise
        line = _one_line(err, checkpoint)
        if not _leave_for_launcher(line):
            print(f'error: {line}', file=sys.stderr)
        sys.exit(2)


def _leave_for_launcher(line: str) -> bool:
    """Under ``tools/dist_run.sh`` (torchrun), leave the one-line error in the launcher's
    ``FACEPARSE_ERROR_DIR`` as ``rank<RANK>.txt`` instead of printing it: the launcher prints the
    lowest rank's message once, after torchrun's report. False when not launched so."""
    folder, rank = os.environ.get('FACEPARSE_ERROR_DIR'), os.environ.get('RANK')
    if not folder or rank is None or not osp.isdir(folder):
        return False
    write_text_atomic(osp.join(folder, f'rank{int(rank)}.txt'), line + '\n')
    return True
