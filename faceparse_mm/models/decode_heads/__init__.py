from .face_fcn_head import FaceFCNHead

__all__ = ['FaceFCNHead']
