from .dynamic_routing import DynamicRoutingBackbone
from .face_bisenetv1 import FaceBiSeNetV1
from .plugin_hrnet import PluginHRNet
from .plugin_resnet import PluginBasicBlock, PluginResNetV1c
from .regseg import RegSegBackbone
from .vgg import DeepLabVGG16

__all__ = ['DeepLabVGG16', 'DynamicRoutingBackbone', 'FaceBiSeNetV1', 'PluginBasicBlock',
           'PluginHRNet', 'PluginResNetV1c', 'RegSegBackbone']
