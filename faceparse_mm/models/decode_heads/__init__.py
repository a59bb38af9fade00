from .context_prior_head import ContextPriorAggregation, ContextPriorHead
from .face_fcn_head import FaceFCNHead
from .largefov_head import LargeFOVHead, decimate_vgg_fc
from .strip_pooling_head import StripPoolingHead

__all__ = ['ContextPriorAggregation', 'ContextPriorHead', 'FaceFCNHead', 'LargeFOVHead',
           'StripPoolingHead', 'decimate_vgg_fc']
