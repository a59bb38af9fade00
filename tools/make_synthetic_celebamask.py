"""Generate synthetic faces in CelebAMask-HQ's on-disk layout (for tests, the demo and CI).

    python tools/make_synthetic_celebamask.py OUT --num N [--image-size S] [--mask-size S]
        [--seed K] [--nproc P] [--start-index I]

Then convert them like the real release: python tools/dataset_converters/celebamask_hq.py OUT
"""
import argparse
import importlib.util
import os
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _synthetic_module():
    # load the module file directly: no torch/mmseg import, so the tool starts fast
    path = osp.join(ROOT, 'faceparse_mm', 'datasets', 'synthetic.py')
    spec = importlib.util.spec_from_file_location('faceparse_mm_synthetic', path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # workers unpickle jobs by module name
    spec.loader.exec_module(module)
    return module


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('out', help='output folder (the release root)')
    parser.add_argument('--num', type=int, required=True, help='number of faces')
    parser.add_argument('--image-size', type=int, default=512)
    parser.add_argument('--mask-size', type=int, default=256)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--nproc', type=int, default=os.cpu_count() or 1)
    parser.add_argument('--start-index', type=int, default=0)
    args = parser.parse_args(argv)
    if args.num <= 0 or args.image_size <= 0 or args.mask_size <= 0:
        parser.error('--num, --image-size and --mask-size must be positive')
    synthetic = _synthetic_module()
    synthetic.setup_generator_process()  # this process only generates (the pool workers do too)
    summary = synthetic.make_synthetic_celebamask(
        args.out, args.num, image_size=args.image_size, mask_size=args.mask_size, seed=args.seed,
        nproc=args.nproc, start_index=args.start_index)
    print(f"{summary['count']} faces in {summary['seconds']:.1f} s "
          f"({summary['faces_per_s']:.1f} faces/s, {args.nproc} processes) -> {args.out}")


if __name__ == '__main__':
    main()
