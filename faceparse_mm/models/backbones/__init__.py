from .bisenetv2 import BiSeNetV2Backbone
from .conv2_dilated_resnet import Conv2DilatedResNet
from .deep_stem_resnet import DeepStemResNet
from .dynamic_routing import DynamicRoutingBackbone
from .face_bisenetv1 import FaceBiSeNetV1
from .plugin_hrnet import PluginHRNet
from .plugin_resnet import PluginBasicBlock, PluginResNetV1c
from .regseg import RegSegBackbone
from .vgg import DeepLabVGG16

__all__ = ['Conv2DilatedResNet', 'DeepLabVGG16', 'DynamicRoutingBackbone', 'FaceBiSeNetV1',
           'PluginBasicBlock', 'PluginHRNet', 'PluginResNetV1c', 'RegSegBackbone']
__all__ += ['BiSeNetV2Backbone']
__all__ += ['DeepStemResNet']
