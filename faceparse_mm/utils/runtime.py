"""Building the mmengine Runner from a config (``tools/train.py`` and ``tools/test.py``)."""
from __future__ import annotations

import torch
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from .build import replace_norm, strip_pretrained


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


def apply_offline(cfg: Config) -> None:
    """A config with ``offline = True`` (the demo configs) builds its model without pretrained
    weights, exactly as :func:`faceparse_mm.utils.build.build_segmentor` does."""
    if cfg.get('offline', False) and 'model' in cfg:
        n = strip_pretrained(cfg.model)
        if n:
            print_log(f'offline = True: {n} pretrained initialiser(s) removed', logger='current')


def adapt_norm_cfg(cfg: Config) -> None:
    """SyncBN needs CUDA (or a single process): on a CPU-only machine use BN."""
    if not torch.cuda.is_available() and 'model' in cfg:
        n = replace_norm(cfg.model, 'SyncBN', 'BN')
        if n:
            print_log(f'no CUDA device: {n} SyncBN norm_cfg(s) -> BN', logger='current')


def build_runner(cfg: Config) -> Runner:
    adapt_env_cfg(cfg)
    adapt_norm_cfg(cfg)
    apply_offline(cfg)
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)
