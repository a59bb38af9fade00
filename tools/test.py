"""Evaluate a face parser.

    python tools/test.py CONFIG CHECKPOINT [--tta | --crf] [--out D] [--show-dir D]
        [--per-image] [--boundary-width W] [--pose-file [FILE]]

The same arguments as mmsegmentation 1.x's ``tools/test.py``. The metrics are also written as JSON
to ``WORK_DIR/test_metrics.json`` (with the config, checkpoint and whether TTA was used).

Beyond the protocol's numbers (options of ``FaceParsingMetric``, off by default): ``--per-image``
also writes each image's confusion matrix to ``WORK_DIR/test_per_image.npz`` (for
``tools/analysis/compare_runs.py`` and ``tools/analysis/pose_buckets.py``); ``--boundary-width W``
adds boundary F1 in a band of W label pixels; ``--pose-file`` adds mF1 per head-pose bucket
(``CelebAMask-HQ-pose-anno.txt`` beside the images, or the FILE given).
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import DictAction  # noqa: E402

import faceparse_mm  # noqa: E402,F401  (applies compat before mmseg is imported)
from faceparse_mm.errors import UserError  # noqa: E402
from faceparse_mm.evaluation.per_image import PER_IMAGE_FILE  # noqa: E402
from faceparse_mm.utils.cli import (  # noqa: E402
    check_checkpoint_classes,
    cli_errors,
    default_work_dir,
    load_config,
)
from faceparse_mm.utils.results import write_test_metrics  # noqa: E402
from faceparse_mm.utils.runtime import build_runner  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (and evaluate) a face parser')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir',
                        help='the directory to save the file containing evaluation metrics')
    parser.add_argument('--out', type=str,
                        help='the directory to save the output prediction label maps')
    parser.add_argument('--show', action='store_true', help='show prediction results')
    parser.add_argument('--show-dir', help='directory where painted images will be saved')
    parser.add_argument('--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the used config, key=value; keys must exist')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--tta', action='store_true',
                        help='test-time augmentation (flip with left/right swap)')
    parser.add_argument('--crf', action='store_true',
                        help='refine the predictions with the fully connected CRF (DeepLab v1; '
                             'needs pydensecrf2; never the protocol numbers: the run is labelled)')
    parser.add_argument('--per-image', action='store_true',
                        help='also write each image\'s confusion matrix to '
                             'WORK_DIR/test_per_image.npz (bootstrap intervals, paired '
                             'comparisons, pose buckets)')
    parser.add_argument('--boundary-width', type=int, default=None, metavar='W',
                        help='also boundary F1 per class in a band of W label pixels around '
                             'the ground-truth edges')
    parser.add_argument('--pose-file', nargs='?', const='auto', default=None, metavar='FILE',
                        help='also mF1 per |yaw| and |pitch| bucket (default file: '
                             'CelebAMask-HQ-pose-anno.txt beside the image folder)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def metric_options(args, work_dir: str) -> dict:
    """The ``FaceParsingMetric`` options that ``--per-image``, ``--boundary-width`` and
    ``--pose-file`` ask for (also recorded in ``test_metrics.json``)."""
    options = {}
    if args.per_image:
        options['per_image_out'] = osp.join(work_dir, PER_IMAGE_FILE)
    if args.boundary_width is not None:
        if args.boundary_width < 1:
            raise UserError(f'--boundary-width must be a positive number of pixels, got '
                            f'{args.boundary_width}')
        options['boundary_width'] = args.boundary_width
    if args.pose_file:
        if args.pose_file != 'auto' and not osp.isfile(args.pose_file):
            raise UserError(f'pose file not found: {args.pose_file}')
        options['pose_file'] = args.pose_file
    return options


def trigger_visualization_hook(cfg, args):
    default_hooks = cfg.default_hooks
    if 'visualization' not in default_hooks:
        raise UserError('--show/--show-dir need default_hooks.visualization in the config')
    hook = default_hooks['visualization']
    hook['draw'] = True
    if args.show:
        hook['show'] = True
        hook['wait_time'] = args.wait_time
    if args.show_dir:
        cfg.visualizer['save_dir'] = args.show_dir
    return cfg


def main(argv=None):
    args = parse_args(argv)
    with cli_errors(checkpoint=args.checkpoint):
        if not osp.isfile(args.checkpoint):
            raise UserError(f'checkpoint file not found: {args.checkpoint}')
        cfg = load_config(args.config, args.cfg_options)
        cfg.launcher = args.launcher
        if args.work_dir is not None:
            cfg.work_dir = args.work_dir
        elif cfg.get('work_dir', None) is None:
            cfg.work_dir = default_work_dir(args.config)
        note = check_checkpoint_classes(cfg, args.checkpoint)
        if note:
            print(f'warning: {note}', file=sys.stderr)
        cfg.load_from = args.checkpoint
        if args.show or args.show_dir:
            cfg = trigger_visualization_hook(cfg, args)
        if args.tta and args.crf:
            raise UserError('--tta and --crf do not combine (the TTA model keeps only its merged '
                            'argmax, not the probabilities a CRF needs)')
        if args.crf:
            cfg.model = dict(type='DenseCRFModel', module=cfg.model, **cfg.get('crf_cfg', {}))
        if args.tta:
            if 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
                raise UserError(f'--tta needs tta_model and tta_pipeline in {args.config}')
            cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
            cfg.tta_model.module = cfg.model
            cfg.model = cfg.tta_model
        if args.out is not None:
            cfg.test_evaluator['output_dir'] = args.out
            cfg.test_evaluator['keep_results'] = True
        extra = metric_options(args, cfg.work_dir)
        cfg.test_evaluator.update(extra)
        runner = build_runner(cfg)
        metrics = runner.test()
        if runner.rank == 0:
            path = write_test_metrics(cfg.work_dir, metrics, config=args.config,
                                      checkpoint=args.checkpoint, tta=args.tta,
                                      crf=args.crf, **extra)
            print(f'metrics written to {path}')


if __name__ == '__main__':
    main()
