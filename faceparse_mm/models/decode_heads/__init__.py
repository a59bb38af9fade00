from .face_fcn_head import FaceFCNHead
from .largefov_head import LargeFOVHead, decimate_vgg_fc

__all__ = ['FaceFCNHead', 'LargeFOVHead', 'decimate_vgg_fc']
