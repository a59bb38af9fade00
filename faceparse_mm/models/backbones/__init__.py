from .face_bisenetv1 import FaceBiSeNetV1

__all__ = ['FaceBiSeNetV1']
