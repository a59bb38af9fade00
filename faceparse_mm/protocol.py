"""The CelebAMask-HQ protocol, pinned: the values every ``configs/*_celebamask.py`` must have.

The base configs (``configs/_base_/datasets/celebamask_hq.py``,
``configs/_base_/schedules/schedule_80k.py``, ``configs/_base_/default_runtime.py``) set these
values; this module states them a second time on purpose, so that changing the protocol is a
deliberate diff in two places and a config that drifts from it fails ``tests/test_protocol.py``.
``docs/protocol.md`` is generated from here (``tools/analysis/make_leaderboard.py``).

A config that needs a different value (a loss weight or learning rate its paper states) declares
it with a one-line reason, and the protocol table lists it::

    protocol_departures = {'model.auxiliary_head.loss_decode.loss_weight': 'PSPNet: 0.4 (paper)'}

Keys are dotted paths into the config; ``HEADS`` applies to every head (``decode_head`` and each
``auxiliary_head``, see :func:`faceparse_mm.utils.build.iter_heads`).
"""
from __future__ import annotations

import json

from faceparse_mm.datasets.class_table import CELEBAMASK_HQ
from faceparse_mm.utils.build import iter_heads

FLIP_PAIRS = [list(p) for p in CELEBAMASK_HQ['flip_pairs']]
NUM_CLASSES = len(CELEBAMASK_HQ['classes'])
IGNORE_INDEX = 255

TRAIN_PIPELINE = [
    dict(type='LoadFaceAnnotations'),
    dict(type='LoadImageAtLabelSize'),
    dict(type='RandomResize', scale=[512, 512], ratio_range=[0.75, 2.0], keep_ratio=True),
    dict(type='RandomCrop', crop_size=[448, 448]),
    dict(type='FaceRandomFlip', prob=0.5, swap_seg_labels=FLIP_PAIRS),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
TEST_PIPELINE = [
    dict(type='LoadFaceAnnotations'),
    dict(type='LoadImageAtLabelSize'),
    dict(type='PackSegInputs'),
]
TTA_PIPELINE = [
    dict(type='LoadFaceAnnotations'),
    dict(type='LoadImageAtLabelSize'),
    dict(type='TestTimeAug', transforms=[
        [dict(type='FaceRandomFlip', prob=0.0, swap_seg_labels=FLIP_PAIRS),
         dict(type='FaceRandomFlip', prob=1.0, swap_seg_labels=FLIP_PAIRS)],
        [dict(type='PackSegInputs')],
    ]),
]

#: the model side of the protocol, shared with the demo configs: how images and labels reach the
#: network (BGR files -> RGB, ImageNet mean/std in RGB order, label padding ignored), whole-image
#: inference, flip TTA with the left/right swap, the metric
MODEL_SIDE = {
    'default_scope': 'faceparse_mm',
    'model.data_preprocessor.type': 'SegDataPreProcessor',
    'model.data_preprocessor.mean': [123.675, 116.28, 103.53],
    'model.data_preprocessor.std': [58.395, 57.12, 57.375],
    'model.data_preprocessor.bgr_to_rgb': True,
    'model.data_preprocessor.pad_val': 0,
    'model.data_preprocessor.seg_pad_val': IGNORE_INDEX,
    'model.test_cfg.mode': 'whole',
    'tta_model': dict(type='FaceSegTTAModel', flip_pairs=FLIP_PAIRS),
    'tta_pipeline': TTA_PIPELINE,
    'val_evaluator': dict(type='FaceParsingMetric'),
    'test_evaluator': dict(type='FaceParsingMetric'),
}

#: every head: OHEM cross-entropy (threshold 0.7, at least batch x crop^2 / 16 pixels kept),
#: weight 1 on the main and auxiliary outputs, 19 classes, label 255 ignored
HEADS = {
    'num_classes': NUM_CLASSES,
    'loss_decode': dict(type='OhemCrossEntropyLoss', thresh=0.7, min_kept_ratio=1 / 16,
                        loss_weight=1.0),
}

#: the data, schedule and runtime: official split, 512 labels, crop 448, batch 16, SGD 0.01 with
#: 1k warmup and poly 0.9 to 80k iterations, model selection on val mF1
DATA_AND_SCHEDULE = {
    'train_dataloader.batch_size': 16,
    'train_dataloader.sampler': dict(type='InfiniteSampler', shuffle=True),
    'train_dataloader.dataset.type': 'CelebAMaskHQDataset',
    'train_dataloader.dataset.data_root': 'data/CelebAMask-HQ',
    'train_dataloader.dataset.ann_file': 'splits/train.txt',
    'train_dataloader.dataset.pipeline': TRAIN_PIPELINE,
    'val_dataloader.batch_size': 1,
    'val_dataloader.dataset.type': 'CelebAMaskHQDataset',
    'val_dataloader.dataset.data_root': 'data/CelebAMask-HQ',
    'val_dataloader.dataset.ann_file': 'splits/val.txt',
    'val_dataloader.dataset.pipeline': TEST_PIPELINE,
    'test_dataloader.batch_size': 1,
    'test_dataloader.dataset.type': 'CelebAMaskHQDataset',
    'test_dataloader.dataset.data_root': 'data/CelebAMask-HQ',
    'test_dataloader.dataset.ann_file': 'splits/test.txt',
    'test_dataloader.dataset.pipeline': TEST_PIPELINE,
    'optim_wrapper.type': 'OptimWrapper',
    'optim_wrapper.optimizer': dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4),
    'optim_wrapper.clip_grad': None,
    'optim_wrapper.paramwise_cfg': None,
    'param_scheduler': [
        dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=1000),
        dict(type='PolyLR', eta_min=0.0, power=0.9, by_epoch=False, begin=1000, end=80000),
    ],
    'train_cfg': dict(type='IterBasedTrainLoop', max_iters=80000, val_interval=8000),
    'val_cfg': dict(type='ValLoop'),
    'test_cfg': dict(type='TestLoop'),
    'default_hooks.checkpoint.save_best': 'mF1',
    'default_hooks.checkpoint.rule': 'greater',
    'randomness.seed': 0,
    'offline': None,
}

PROTOCOL = {**MODEL_SIDE, **DATA_AND_SCHEDULE}
MISSING = '<missing>'


def _plain(value):
    """JSON-comparable: tuples as lists, ConfigDicts as dicts."""
    if hasattr(value, 'to_dict'):
        value = value.to_dict()
    return json.loads(json.dumps(value, default=str))


def lookup(cfg, dotted: str):
    """The value at ``dotted`` in ``cfg`` (dict-like, lists by index), or :data:`MISSING`."""
    node = cfg
    for part in dotted.split('.'):
        if isinstance(node, dict) or hasattr(node, 'keys'):
            if part not in node:
                return MISSING
            node = node[part]
        elif isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return MISSING
    return node


def expected_values(cfg, demo: bool = False) -> dict:
    """{dotted key: protocol value} for this config (its heads included). ``demo``: only the
    model side (the demo configs use generated faces and a CPU schedule)."""
    values = dict(MODEL_SIDE if demo else PROTOCOL)
    for place, _ in iter_heads(cfg.get('model')):
        for key, value in HEADS.items():
            values[f'{place}.{key}'] = value
    return values


def _compare(key, expected, actual, out):
    """Dicts are compared key by key (a missing or an extra key is a departure at its own dotted
    key); everything else as a whole value."""
    if isinstance(expected, dict) and isinstance(_plain(actual), dict):
        actual = _plain(actual)
        for sub in sorted(set(expected) | set(actual)):
            _compare(f'{key}.{sub}', expected.get(sub, MISSING), actual.get(sub, MISSING), out)
    elif not (actual == MISSING and expected is None) and _plain(actual) != _plain(expected):
        out[key] = (expected, actual)


def departures(cfg, demo: bool = False) -> dict:
    """{dotted key: (protocol value, this config's value)} for every key where they differ (a
    missing key counts as a departure, except where the protocol value is None)."""
    out = {}
    for key, expected in expected_values(cfg, demo).items():
        _compare(key, expected, lookup(cfg, key), out)
    return out


def check(cfg, demo: bool = False) -> list[str]:
    """Problems with ``cfg`` against the protocol: undeclared departures, declared ones without a
    reason, and declared ones that do not depart (stale). [] when it follows the protocol."""
    declared = dict(cfg.get('protocol_departures') or {})
    found = departures(cfg, demo)
    problems = [f'{key} = {_plain(actual)!r}, the protocol has {_plain(expected)!r} '
                f'(declare it in protocol_departures with a reason, or restore it)'
                for key, (expected, actual) in found.items() if key not in declared]
    problems += [f'protocol_departures[{key!r}] has no reason'
                 for key, reason in declared.items() if not str(reason or '').strip()]
    problems += [f'protocol_departures[{key!r}] is declared but the config follows the protocol '
                 f'there' for key in declared if key not in found]
    return problems


def _cell(value) -> str:
    text = json.dumps(_plain(value))
    return text.replace('|', '\\|')


def render_table(configs: dict) -> str:
    """docs/protocol.md: every pinned value, then each config's declared departures.
    ``configs``: {config path: loaded Config}."""
    lines = ['# The protocol', '',
             'Generated by `tools/analysis/make_leaderboard.py` from `faceparse_mm/protocol.py`; '
             'do not edit by hand. Every `configs/*_celebamask.py` has these values, checked by '
             '`tests/test_protocol.py`; the demo configs share the model side. A config that '
             'departs from a value declares it in `protocol_departures` with its reason, and it '
             'is listed at the end.', '',
             '## Model side (every config, demo included)', '',
             '| key | value |', '|---|---|']
    lines += [f'| `{k}` | `{_cell(v)}` |' for k, v in MODEL_SIDE.items()]
    lines += ['', '## Every head (`decode_head`, each `auxiliary_head`)', '',
              '| key | value |', '|---|---|']
    lines += [f'| `{k}` | `{_cell(v)}` |' for k, v in HEADS.items()]
    lines += ['', '## Data, schedule, runtime (full configs)', '', '| key | value |', '|---|---|']
    lines += [f'| `{k}` | `{_cell(v)}` |' for k, v in DATA_AND_SCHEDULE.items()]
    lines += ['', '## Declared departures', '']
    rows = [(path, key, _plain(lookup(cfg, key)), reason)
            for path, cfg in sorted(configs.items())
            for key, reason in (cfg.get('protocol_departures') or {}).items()]
    if rows:
        lines += ['| config | key | value | reason |', '|---|---|---|---|']
        lines += [f'| `{p}` | `{k}` | `{_cell(v)}` | {r} |' for p, k, v, r in rows]
    else:
        lines += ['None: every config follows the protocol exactly.']
    return '\n'.join(lines) + '\n'
