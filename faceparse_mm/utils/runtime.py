"""Building the mmengine Runner from a config, shared by ``tools/train.py`` and ``tools/test.py``."""
from __future__ import annotations

import torch
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.runner import Runner


def adapt_env_cfg(cfg: Config) -> None:
    """Distributed training without a GPU (torchrun on CPUs): gloo instead of NCCL, the process
    group initialised here (mmengine's own initialisation calls ``torch.cuda.set_device``), and
    DDP without ``device_ids`` (a CPU module takes none)."""
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or torch.cuda.is_available():
        return
    dist_cfg = cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    if dist_cfg.get('backend', 'nccl') == 'nccl':
        dist_cfg['backend'] = 'gloo'
        print_log('no CUDA device: distributed backend nccl -> gloo', logger='current')
    if launcher == 'pytorch' and not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend=dist_cfg['backend'])
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))


def _replace_norm(node, old: str, new: str) -> int:
    """Replace ``type=old`` by ``type=new`` in every ``norm_cfg`` under ``node``; returns count."""
    count = 0
    if isinstance(node, dict):
        for key, value in node.items():
            if key == 'norm_cfg' and isinstance(value, dict) and value.get('type') == old:
                value['type'] = new
                count += 1
            else:
                count += _replace_norm(value, old, new)
    elif isinstance(node, (list, tuple)):
        for value in node:
            count += _replace_norm(value, old, new)
    return count


def strip_pretrained(node) -> None:
    """Set every ``*init_cfg`` and ``pretrained`` under ``node`` to None (build without
    downloading weights: tests, benchmarks)."""
    if isinstance(node, dict):
        for key in list(node):
            if key.endswith('init_cfg') or key == 'pretrained':
                node[key] = None
            else:
                strip_pretrained(node[key])
    elif isinstance(node, (list, tuple)):
        for value in node:
            strip_pretrained(value)


def adapt_norm_cfg(cfg: Config) -> None:
    """SyncBN needs CUDA (or a single process): on a CPU-only machine use BN."""
    if not torch.cuda.is_available() and 'model' in cfg:
        n = _replace_norm(cfg.model, 'SyncBN', 'BN')
        if n:
            print_log(f'no CUDA device: {n} SyncBN norm_cfg(s) -> BN', logger='current')


def build_runner(cfg: Config) -> Runner:
    adapt_env_cfg(cfg)
    adapt_norm_cfg(cfg)
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    from mmengine.registry import RUNNERS
    return RUNNERS.build(cfg)
