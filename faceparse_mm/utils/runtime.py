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


def build_runner(cfg: Config) -> Runner:
    adapt_env_cfg(cfg)
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    from mmengine.registry import RUNNERS
    return RUNNERS.build(cfg)
