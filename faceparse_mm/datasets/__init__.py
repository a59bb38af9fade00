from .celebamask_hq import CLASSES, FLIP_PAIRS, PALETTE, PART_NAMES, CelebAMaskHQDataset
from .transforms import FaceDataError, FaceRandomFlip, LoadFaceAnnotations, LoadImageAtLabelSize

__all__ = ['CLASSES', 'FLIP_PAIRS', 'PALETTE', 'PART_NAMES', 'CelebAMaskHQDataset',
           'FaceDataError', 'FaceRandomFlip', 'LoadFaceAnnotations', 'LoadImageAtLabelSize']
