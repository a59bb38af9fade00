from .face_bisenetv1 import FaceBiSeNetV1
from .vgg import DeepLabVGG16

__all__ = ['DeepLabVGG16', 'FaceBiSeNetV1']
