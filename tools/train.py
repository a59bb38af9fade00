"""Train a face parser: ``python tools/train.py CONFIG [--work-dir D] [--resume] [--amp]``.

The same arguments as mmsegmentation 1.x's ``tools/train.py``; the Runner does the work.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import DictAction  # noqa: E402

import faceparse_mm  # noqa: E402,F401  (applies compat before mmseg is imported)
from faceparse_mm.errors import UserError  # noqa: E402
from faceparse_mm.utils.cli import cli_errors, default_work_dir, load_config  # noqa: E402
from faceparse_mm.utils.runtime import build_runner  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a face parser')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--resume', action='store_true', default=False,
                        help='resume from the latest checkpoint in the work_dir automatically')
    parser.add_argument('--amp', action='store_true', default=False,
                        help='enable automatic-mixed-precision training')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the used config, key=value; keys must exist')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def _checkpoint_hint(args) -> str:
    """The file a refused checkpoint most likely is, for the one-line error."""
    from mmengine.runner import find_latest_checkpoint
    work_dir = args.work_dir or default_work_dir(args.config)
    if args.resume and os.path.isdir(work_dir):
        return find_latest_checkpoint(work_dir) or f'the latest checkpoint in {work_dir}'
    return 'the checkpoint named by load_from'


def main(argv=None):
    args = parse_args(argv)
    with cli_errors(checkpoint=_checkpoint_hint(args)):
        cfg = load_config(args.config, args.cfg_options)
        cfg.launcher = args.launcher
        if args.work_dir is not None:
            cfg.work_dir = args.work_dir
        elif cfg.get('work_dir', None) is None:
            cfg.work_dir = default_work_dir(args.config)
        if args.amp:
            import torch
            if not torch.cuda.is_available():
                raise UserError('--amp needs a GPU (mmengine\'s AmpOptimWrapper does not run on '
                                'the CPU); train without --amp here')
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
        cfg.resume = args.resume
        runner = build_runner(cfg)
        runner.train()


if __name__ == '__main__':
    main()
