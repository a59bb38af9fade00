from .dense_crf import DenseCRFModel, dense_crf
from .dsrl import DSRL
from .dynamic_routing import DynamicRoutingEncoderDecoder
from .face_tta import FaceSegTTAModel, swap_channels
from .tdnet import TDNet

__all__ = ['DSRL', 'DenseCRFModel', 'DynamicRoutingEncoderDecoder', 'FaceSegTTAModel', 'dense_crf',
           'swap_channels']
__all__ += ['TDNet']
