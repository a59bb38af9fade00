from .arm import AttentionRefinementModule
from .asymmetric_non_local import AsymmetricFusionNonLocal, AsymmetricPyramidNonLocal
from .attention_propagation import AttentionPropagation, TemporalEncoding
from .attentional_class_feature import AttentionalClassFeature, attend_class_centres, class_centres
from .bilateral_guided_aggregation import BilateralGuidedAggregation
from .channel_reasoning import ChannelReasoningModule
from .context_path import ContextPath, ResNet18
from .dblock import DBlock, SplitDilatedConv
from .ffm import FeatureFusionModule
from .flow_alignment import FlowAlignmentModule, flow_warp
from .learned_upsample import LearnedUpsample, bilinear_kernel
from .mixed_pooling import MixedPooling
from .polarized_self_attention import PolarizedSelfAttention
from .pyramid_pooling_slice import PyramidPoolingSlice
from .routing_cell import CellOutput, RoutingCell, conv_macs
from .routing_gate import SoftRoutingGate, soft_gate
from .spatial_layer_norm import SpatialLayerNorm
from .spatial_path import SpatialPath
from .strip_pooling import StripPooling

__all__ = ['AsymmetricFusionNonLocal', 'AsymmetricPyramidNonLocal', 'AttentionRefinementModule',
           'AttentionalClassFeature', 'CellOutput', 'ChannelReasoningModule', 'ContextPath',
           'DBlock', 'FeatureFusionModule', 'FlowAlignmentModule', 'LearnedUpsample',
           'MixedPooling', 'PolarizedSelfAttention', 'ResNet18', 'RoutingCell', 'SoftRoutingGate',
           'SpatialPath', 'SplitDilatedConv', 'StripPooling', 'attend_class_centres',
           'bilinear_kernel', 'class_centres', 'conv_macs', 'flow_warp', 'soft_gate']
__all__ += ['AttentionPropagation', 'PyramidPoolingSlice', 'TemporalEncoding']
__all__ += ['BilateralGuidedAggregation']
__all__ += ['SpatialLayerNorm']
