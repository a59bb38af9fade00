from .face_tta import FaceSegTTAModel, swap_channels

__all__ = ['FaceSegTTAModel', 'swap_channels']
