"""The zoo contract, checked for every architecture found in ``configs/*_celebamask.py`` (no list
to maintain): names and files, the full config builds offline and predicts (1, 19, H, W), the demo
config takes a training step that reaches every weight, and the inference parameter count equals
the one recorded in ``tests/data/zoo_params.json`` (so a change to a model's size is a visible
diff). Sizes: eval at the architecture's ``min_input_size`` (a top-level key of its model base,
default 64), training at that size too, batch 2, on the CPU.

To record the count of a new architecture, run
``python tests/test_zoo_contract.py --write NAME`` and review the diff.
"""
import ast
import csv
import functools
import glob
import json
import os
import re
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from faceparse_mm.utils.build import build_segmentor, count_params, iter_heads  # noqa: E402

PARAMS_FILE = os.path.join(ROOT, 'tests', 'data', 'zoo_params.json')
NAMES = sorted(os.path.basename(p)[:-len('_celebamask.py')]
               for p in glob.glob(os.path.join(ROOT, 'configs', '*_celebamask.py')))
NUM_CLASSES = 19
DEMO_BACKBONE = '../_base_/models/demo-backbone-r18-d8.py'
DEFAULT_MIN_INPUT = 64
# keys that belong to the dataset, schedule and runtime bases, never to a model base
NOT_MODEL_KEYS = {'train_dataloader', 'val_dataloader', 'test_dataloader', 'val_evaluator',
                  'test_evaluator', 'train_pipeline', 'test_pipeline', 'tta_pipeline', 'tta_model',
                  'optim_wrapper', 'optimizer', 'param_scheduler', 'train_cfg', 'val_cfg',
                  'test_cfg', 'default_hooks', 'custom_hooks', 'default_scope', 'env_cfg',
                  'randomness', 'offline', 'data_root', 'dataset_type', 'crop_size'}


def full_path(name):
    return os.path.join(ROOT, 'configs', f'{name}_celebamask.py')


def demo_path(name):
    return os.path.join(ROOT, 'configs', 'demo', f'{name}_demo.py')


def model_base_path(name):
    return os.path.join(ROOT, 'configs', '_base_', 'models', f'{name}.py')


@functools.lru_cache(maxsize=None)
def full_config(name):
    return Config.fromfile(full_path(name))


@functools.lru_cache(maxsize=None)
def full_model(name):
    """The full config's segmentor, offline, built once per session (eval and counting)."""
    return build_segmentor(full_config(name)).eval()


def min_input(cfg):
    return int(cfg.get('min_input_size', DEFAULT_MIN_INPUT))


def recorded_params():
    with open(PARAMS_FILE) as f:
        return json.load(f)


@functools.lru_cache
def benchmark_rows():
    with open(os.path.join(ROOT, 'results', 'zoo_benchmark.csv'), newline='') as f:
        return {row['config']: row for row in csv.DictReader(f)}


def batch(n, size, seed=0, with_labels=True):
    """``n`` random uint8 images of ``size`` x ``size`` with random labels (a few ignored)."""
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(n):
        inputs.append(torch.randint(0, 256, (3, size, size), dtype=torch.uint8, generator=g))
        sample = SegDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size),
                                             pad_shape=(size, size)))
        if with_labels:
            label = torch.randint(0, NUM_CLASSES, (1, size, size), generator=g)
            label[:, :2] = 255
            sample.gt_sem_seg = PixelData(data=label)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def _base_list(path):
    """The ``_base_`` list as written in the file."""
    for node in ast.parse(open(path).read()).body:
        if isinstance(node, ast.Assign) and [getattr(t, 'id', None) for t in node.targets] == [
                '_base_']:
            return ast.literal_eval(node.value)
    return []


def test_zoo_is_not_empty():
    assert 'bisenetv1' in NAMES and 'bisenetv1-fp' in NAMES


@pytest.mark.parametrize('name', NAMES)
def test_names_and_files(name):
    assert re.fullmatch(r'[a-z0-9]+(\.[0-9]+)?(-[a-z0-9]+)*', name), \
        f'{name}: names are lowercase with dashes inside'
    assert os.path.isfile(model_base_path(name)), f'missing configs/_base_/models/{name}.py'
    assert os.path.isfile(demo_path(name)), f'missing configs/demo/{name}_demo.py'
    assert [os.path.normpath(p) for p in _base_list(full_path(name))] == [
        f'_base_/models/{name}.py', '_base_/datasets/celebamask_hq.py',
        '_base_/schedules/schedule_80k.py', '_base_/default_runtime.py']
    demo_bases = [os.path.normpath(p) for p in _base_list(demo_path(name))]
    assert demo_bases[:4] == [
        f'../_base_/models/{name}.py', '../_base_/datasets/celebamask_hq_demo.py',
        '../_base_/schedules/schedule_demo.py', '../_base_/default_runtime.py']
    # the one optional extra: the zoo's shared demo backbone, for papers' backbones too big
    assert demo_bases[4:] in ([], [DEMO_BACKBONE]), demo_bases[4:]
    base = Config.fromfile(model_base_path(name))
    assert 'model' in base and not (set(base.keys()) & NOT_MODEL_KEYS), \
        f'configs/_base_/models/{name}.py holds more than the model: {set(base) & NOT_MODEL_KEYS}'


@pytest.mark.parametrize('name', NAMES)
def test_full_config_builds_offline_and_predicts(name):
    cfg = full_config(name)
    heads = list(iter_heads(cfg.model))
    assert heads and all(h['num_classes'] == NUM_CLASSES for _, h in heads)
    model = full_model(name)
    size = min_input(cfg)
    with torch.no_grad():
        (out,) = model.test_step(batch(1, size, with_labels=False))
    assert tuple(out.seg_logits.data.shape) == (NUM_CLASSES, size, size)
    assert tuple(out.pred_sem_seg.data.shape) == (1, size, size)
    assert torch.isfinite(out.seg_logits.data).all()
    with torch.no_grad():
        x = model.data_preprocessor(batch(1, size, with_labels=False), False)['inputs']
        metas = [dict(img_shape=(size, size), ori_shape=(size, size), pad_shape=(size, size))]
        logits = model.encode_decode(x, metas)
    assert tuple(logits.shape) == (1, NUM_CLASSES, size, size)
    # the cost table gives a range (mean, min, max over images) exactly where the cost depends
    # on the image
    bench = benchmark_rows().get(f'configs/{name}_celebamask.py')
    if bench:
        ranged = bool(bench.get('gmacs_min')) and bool(bench.get('gmacs_max'))
        assert ranged == bool(getattr(model, 'cost_depends_on_input', False)), bench['config']


@pytest.mark.parametrize('name', NAMES)
def test_demo_config_takes_a_training_step_that_reaches_every_weight(name):
    cfg = Config.fromfile(demo_path(name))
    assert cfg.get('offline') is True, 'the demo dataset config builds models offline'
    torch.manual_seed(0)
    model = build_segmentor(cfg).train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    data = model.data_preprocessor(batch(2, min_input(cfg), seed=1), True)
    loss, log_vars = model.parse_losses(model(**data, mode='loss'))
    assert len(log_vars) > 1, 'no loss terms'
    for key, value in log_vars.items():
        assert torch.isfinite(torch.as_tensor(value)).all(), f'{key} = {value}'
    optim_wrapper.backward(loss)
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    # weights the architecture itself never trains (declared with a reason in the model base);
    # each must really get no gradient, so a declaration cannot hide a broken graph
    untrainable = cfg.get('untrainable_params', {})
    for n in untrainable:
        assert n in params, f'untrainable_params names {n}, which the model does not have'
        grad = params.pop(n).grad
        assert grad is None or grad.abs().max() < 1e-6, f'{n} is declared untrainable but trains'
    no_grad = [n for n, p in params.items() if p.grad is None or not p.grad.any()]
    assert not no_grad, f'no gradient reached {len(no_grad)} weights: {no_grad[:8]}'
    before = {n: p.detach().clone() for n, p in params.items()}
    optim_wrapper.step()
    for n, p in params.items():
        assert torch.isfinite(p).all() and not torch.equal(p.detach(), before[n]), n


@pytest.mark.parametrize('name', NAMES)
def test_inference_parameter_count_is_recorded(name):
    recorded = recorded_params()
    assert name in recorded, (f'record the parameter count of {name}: '
                              f'python tests/test_zoo_contract.py --write {name}')
    total, inference = count_params(full_model(name))
    assert dict(total=total, inference=inference) == {
        k: recorded[name][k] for k in ('total', 'inference')}


def test_recorded_counts_have_configs():
    assert sorted(recorded_params()) == NAMES


def _write(names):
    from faceparse_mm.utils.io import write_json_atomic
    recorded = recorded_params() if os.path.isfile(PARAMS_FILE) else {}
    for name in names:
        total, inference = count_params(build_segmentor(full_path(name)))
        recorded[name] = dict(total=total, inference=inference)
        print(f'{name}: total {total:,}, inference {inference:,}')
    write_json_atomic(PARAMS_FILE, dict(sorted(recorded.items())))


if __name__ == '__main__':
    import faceparse_mm  # noqa: F401
    if len(sys.argv) < 3 or sys.argv[1] != '--write':
        raise SystemExit('usage: python tests/test_zoo_contract.py --write NAME [NAME ...]')
    _write(sys.argv[2:])
