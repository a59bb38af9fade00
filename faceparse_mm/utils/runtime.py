"""Building the mmengine Runner from a config, shared by ``tools/train.py`` and ``tools/test.py``."""
from __future__ import annotations

import torch
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.runner import Runner


def adapt_env_cfg(cfg: Config) -> None:
    """Use gloo when a distributed launch finds no GPU (NCCL needs CUDA)."""
    dist_cfg = cfg.get('env_cfg', {}).get('dist_cfg')
    if (cfg.get('launcher', 'none') != 'none' and dist_cfg is not None
            and dist_cfg.get('backend') == 'nccl' and not torch.cuda.is_available()):
        dist_cfg['backend'] = 'gloo'
        print_log('no CUDA device: distributed backend nccl -> gloo', logger='current')


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
