from .dense_crf import DenseCRFModel, dense_crf
from .face_tta import FaceSegTTAModel, swap_channels

__all__ = ['DenseCRFModel', 'FaceSegTTAModel', 'dense_crf', 'swap_channels']
