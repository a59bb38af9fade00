"""How well can a model with output stride S parse these labels at best? An oracle bound.

    python tools/analysis/stride_ceiling.py DATA_ROOT [--split test] [--strides 2 4 8 16]

For each label map of the split (``DATA_ROOT/mask/{id}.png``, ids from
``DATA_ROOT/splits/{split}.txt``, as written by the converter) the oracle knows the true area
fraction of every class in each S x S cell (average pooling of the one-hot labels), upsamples
these (N, 19, H/S, W/S) scores bilinearly to the label size like a decode head's logits and takes
the argmax. The scores are FaceParsingMetric's (one confusion matrix over the split). A low
number says the label size is too small for that stride: thin parts (brows, earrings,
necklaces) fall inside one cell. It is not a strict upper bound for a trained network, whose
logits are not limited to area fractions, but it shows which classes a stride can resolve.
"""
from __future__ import annotations

import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from faceparse_mm.datasets import CLASSES  # noqa: E402
from faceparse_mm.errors import UserError  # noqa: E402
from faceparse_mm.utils.cli import cli_errors  # noqa: E402

NUM_CLASSES = len(CLASSES)


def oracle_prediction(label: np.ndarray, stride: int, num_classes: int = NUM_CLASSES,
                      ignore_index: int = 255) -> np.ndarray:
    """(H, W) label map -> (H, W) argmax of the bilinearly upsampled cell-wise class fractions.
    Ignored pixels count for no class; H and W need not be multiples of ``stride``."""
    lab = torch.from_numpy(label.astype(np.int64))
    valid = lab != ignore_index
    onehot = F.one_hot(lab.clamp(max=num_classes - 1) * valid, num_classes)
    onehot = (onehot * valid[..., None]).permute(2, 0, 1)[None].float()
    h, w = label.shape
    cells = F.avg_pool2d(onehot, stride, stride, ceil_mode=True, count_include_pad=False)
    scores = F.interpolate(cells, (h, w), mode='bilinear', align_corners=False)
    return scores.argmax(1)[0].numpy()


def stride_ceiling(root: str, split: str = 'test', strides=(2, 4, 8, 16)) -> dict:
    """{stride: metrics_from_confusion(...)} over the split's label maps."""
    import cv2

    from faceparse_mm.evaluation.face_metric import confusion_matrix, metrics_from_confusion
    split_file = osp.join(root, 'splits', f'{split}.txt')
    if not osp.isfile(split_file):
        raise UserError(f'split file {split_file} does not exist; run '
                        f'tools/dataset_converters/celebamask_hq.py {root} first')
    with open(split_file) as f:
        ids = [line.strip() for line in f if line.strip()]
    if not ids:
        raise UserError(f'split file {split_file} lists no images')
    conf = {s: np.zeros((NUM_CLASSES, NUM_CLASSES), np.int64) for s in strides}
    for i in ids:
        path = osp.join(root, 'mask', f'{i}.png')
        label = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        if label is None or label.ndim != 2:
            raise UserError(f'{path}: not a readable single-channel label map')
        for s in strides:
            conf[s] += confusion_matrix(oracle_prediction(label, s), label, NUM_CLASSES)
    return {s: metrics_from_confusion(conf[s]) for s in strides}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('root', help='converted dataset root (holds mask/ and splits/)')
    parser.add_argument('--split', default='test')
    parser.add_argument('--strides', type=int, nargs='+', default=[2, 4, 8, 16])
    args = parser.parse_args(argv)
    if any(s < 1 for s in args.strides):
        parser.error('--strides must be positive')
    with cli_errors():
        results = stride_ceiling(args.root, args.split, args.strides)
    print(f'oracle at output stride S, {args.root} {args.split}: F1 per class (percent)')
    print('stride   mF1   mIoU  ' + ' '.join(f'{c[:6]:>6s}' for c in CLASSES[1:]))
    for s, m in results.items():
        f1 = ' '.join(f'{v * 100:6.1f}' for v in m['F1'][1:])
        print(f'{s:6d} {m["mF1"]:5.1f} {m["mIoU"]:6.1f}  {f1}')


if __name__ == '__main__':
    main()
