from .celebamask_hq import CLASSES, FLIP_PAIRS, PALETTE, PART_NAMES, CelebAMaskHQDataset
from .transforms import FaceRandomFlip, LoadImageAtLabelSize

__all__ = ['CLASSES', 'FLIP_PAIRS', 'PALETTE', 'PART_NAMES', 'CelebAMaskHQDataset',
           'FaceRandomFlip', 'LoadImageAtLabelSize']
