from .face_fcn_head import FaceFCNHead
from .largefov_head import LargeFOVHead, decimate_vgg_fc
from .strip_pooling_head import StripPoolingHead

__all__ = ['FaceFCNHead', 'LargeFOVHead', 'StripPoolingHead', 'decimate_vgg_fc']
