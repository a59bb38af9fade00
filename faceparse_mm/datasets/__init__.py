from .celebamask_hq import CelebAMaskHQDataset
from .class_table import CELEBAMASK_HQ, CLASS_ID, CLASSES, FLIP_PAIRS, PALETTE, PART_NAMES
from .face_clips import FaceClipDataset, flatten_clip_batch
from .lapa import LaPaDataset
from .lapa_table import LAPA, LAPA_CLASSES, LAPA_FLIP_PAIRS, LAPA_PALETTE
from .resize_image import ResizeImageOnly
from .transforms import FaceRandomFlip, LoadFaceAnnotations, LoadImageAtLabelSize

__all__ = ['CELEBAMASK_HQ', 'CLASS_ID', 'CLASSES', 'FLIP_PAIRS', 'PALETTE', 'PART_NAMES',
           'CelebAMaskHQDataset', 'FaceRandomFlip', 'LoadFaceAnnotations', 'LoadImageAtLabelSize',
           'LAPA', 'LAPA_CLASSES', 'LAPA_FLIP_PAIRS', 'LAPA_PALETTE', 'LaPaDataset',
           'ResizeImageOnly']
__all__ += ['FaceClipDataset', 'flatten_clip_batch']
