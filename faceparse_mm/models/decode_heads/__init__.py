from .acf_head import ACFHead
from .ann_head import AsymmetricNonLocalHead
from .bisenetv2_head import BiSeNetV2SegmentHead
from .context_prior_head import ContextPriorAggregation, ContextPriorHead
from .dynamic_routing_head import DynamicRoutingHead
from .face_fcn_head import FaceFCNHead
from .largefov_head import LargeFOVHead, decimate_vgg_fc
from .regseg_head import RegSegDecoder26Head
from .sfnet_head import SFNetFPN, SFNetHead
from .sisr_decoder import SISRDecoder
from .squeeze_reasoning_head import SqueezeReasoningHead
from .strip_pooling_head import StripPoolingHead

__all__ = ['ACFHead', 'AsymmetricNonLocalHead', 'ContextPriorAggregation', 'ContextPriorHead',
           'DynamicRoutingHead', 'FaceFCNHead', 'LargeFOVHead', 'RegSegDecoder26Head', 'SFNetFPN',
           'SFNetHead', 'SISRDecoder', 'SqueezeReasoningHead', 'StripPoolingHead',
           'decimate_vgg_fc']
__all__ += ['BiSeNetV2SegmentHead']
