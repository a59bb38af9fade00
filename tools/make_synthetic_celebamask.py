"""Generate synthetic faces in CelebAMask-HQ's on-disk layout (for tests, the demo and CI).

    python tools/make_synthetic_celebamask.py OUT --num N [--image-size S] [--mask-size S]
        [--seed K] [--nproc P] [--start-index I]
    python tools/make_synthetic_celebamask.py OUT --clips N --frames T [--image-size S] ...

``--clips``: N clips of T frames of one face moving (faceparse_mm/datasets/synthetic_clips.py):
OUT/clips/{clip}/{t:04d}.jpg, label maps OUT/clip_masks/{clip}/{t:04d}.png and the split files
OUT/clip_splits/{train,val,test}.txt (by clip), read by FaceClipDataset with no conversion.

Then convert them like the real release: python tools/dataset_converters/celebamask_hq.py OUT

    python tools/make_synthetic_celebamask.py OUT --layout lapa --num N [--image-size MAX]
        [--min-size MIN] [--seed K] [--nproc P]

``--layout lapa``: the same faces in LaPa's release layout
(faceparse_mm/datasets/synthetic_lapa.py): OUT/{train,val,test}/{images,labels,landmarks}/,
11 classes (glasses left out, ears as skin, earrings, neck, necklace, cloth and hat as
background, the mouth as inner mouth), each image its own size (a side in MIN..MAX, default
MAX // 2..MAX, then cropped to 80-100% in height or width), labels at the image's size
(``--mask-size`` does not apply), split in LaPa's proportions. Read by LaPaDataset with no
conversion.
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


def _clips_module():
    # the clip generator reuses the face generator's module (loaded first, by the same name)
    _synthetic_module()
    path = osp.join(ROOT, 'faceparse_mm', 'datasets', 'synthetic_clips.py')
    spec = importlib.util.spec_from_file_location('faceparse_mm_synthetic_clips', path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _lapa_module():
    # LaPa's layout reuses the face generator's module (loaded first, by the same name)
    _synthetic_module()
    path = osp.join(ROOT, 'faceparse_mm', 'datasets', 'synthetic_lapa.py')
    spec = importlib.util.spec_from_file_location('faceparse_mm_synthetic_lapa', path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _write_lapa(parser, args) -> None:
    """``--layout lapa``: the faces in LaPa's release layout."""
    if args.clips is not None or args.num is None:
        parser.error('--layout lapa writes faces: give --num N (and no --clips)')
    if args.start_index:
        parser.error('--start-index does not apply to --layout lapa (ids start at 0)')
    min_size = args.image_size // 2 if args.min_size is None else args.min_size
    if not 0 < min_size <= args.image_size:
        parser.error(f'--min-size must be in 1..--image-size ({args.image_size}), got {min_size}')
    if args.num < 3:
        parser.error('--layout lapa needs --num >= 3 (one face per split at least)')
    lapa = _lapa_module()
    summary = lapa.make_synthetic_lapa(args.out, args.num, min_size=min_size,
                                       max_size=args.image_size, seed=args.seed,
                                       nproc=args.nproc)
    splits = ' / '.join(f'{n} {s}' for s, n in summary['splits'].items())
    print(f"{summary['count']} faces ({splits}, longer side {min_size}-{args.image_size} px) in "
          f"LaPa's layout in {summary['seconds']:.1f} s ({summary['faces_per_s']:.1f} faces/s, "
          f"{args.nproc} processes) -> {args.out}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('out', help='output folder (the release root)')
    parser.add_argument('--num', type=int, default=None, help='number of faces')
    parser.add_argument('--clips', type=int, default=None, help='number of face clips')
    parser.add_argument('--frames', type=int, default=32, help='frames per clip')
    parser.add_argument('--image-size', type=int, default=512)
    parser.add_argument('--mask-size', type=int, default=256)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--nproc', type=int, default=os.cpu_count() or 1)
    parser.add_argument('--start-index', type=int, default=0)
    parser.add_argument('--layout', choices=['celebamask', 'lapa'], default='celebamask',
                        help="lapa: LaPa's release layout, 11 classes, varying image sizes")
    parser.add_argument('--min-size', type=int, default=None,
                        help='--layout lapa: the smallest longer side (default --image-size // 2); '
                             'the other side is 80-100%% of the longer')
    args = parser.parse_args(argv)
    if args.num is None and args.clips is None:
        parser.error('give --num N (faces) and/or --clips N (face clips)')
    if (args.num is not None and args.num <= 0) or args.image_size <= 0 or args.mask_size <= 0:
        parser.error('--num, --image-size and --mask-size must be positive')
    if args.clips is not None and (args.clips <= 0 or args.frames <= 0):
        parser.error('--clips and --frames must be positive')
    synthetic = _synthetic_module()
    synthetic.setup_generator_process()  # this process only generates (the pool workers do too)
    if args.layout == 'lapa':
        return _write_lapa(parser, args)
    if args.num is not None:
        summary = synthetic.make_synthetic_celebamask(
            args.out, args.num, image_size=args.image_size, mask_size=args.mask_size,
            seed=args.seed, nproc=args.nproc, start_index=args.start_index)
        print(f"{summary['count']} faces in {summary['seconds']:.1f} s "
              f"({summary['faces_per_s']:.1f} faces/s, {args.nproc} processes) -> {args.out}")
    if args.clips is not None:
        summary = _clips_module().make_synthetic_clips(
            args.out, args.clips, args.frames, image_size=args.image_size,
            mask_size=args.mask_size, seed=args.seed, nproc=args.nproc)
        print(f"{summary['clips']} clips ({summary['frames']} frames, split {summary['split']}) "
              f"in {summary['seconds']:.1f} s ({summary['frames_per_s']:.1f} frames/s, "
              f"{args.nproc} processes) -> {args.out}")


if __name__ == '__main__':
    main()
