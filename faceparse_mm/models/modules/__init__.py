from .arm import AttentionRefinementModule
from .context_path import ContextPath, ResNet18
from .ffm import FeatureFusionModule
from .spatial_path import SpatialPath

__all__ = ['AttentionRefinementModule', 'ContextPath', 'FeatureFusionModule', 'ResNet18',
           'SpatialPath']
