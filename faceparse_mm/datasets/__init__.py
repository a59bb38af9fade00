from .celebamask_hq import CelebAMaskHQDataset
from .class_table import CELEBAMASK_HQ, CLASS_ID, CLASSES, FLIP_PAIRS, PALETTE, PART_NAMES
from .transforms import FaceRandomFlip, LoadFaceAnnotations, LoadImageAtLabelSize

__all__ = ['CELEBAMASK_HQ', 'CLASS_ID', 'CLASSES', 'FLIP_PAIRS', 'PALETTE', 'PART_NAMES',
           'CelebAMaskHQDataset', 'FaceRandomFlip', 'LoadFaceAnnotations', 'LoadImageAtLabelSize']
