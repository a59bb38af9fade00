"""BiSeNet V1 backbone for faces (Yu et al., "BiSeNet: Bilateral Segmentation Network for
Real-time Semantic Segmentation", ECCV 2018; face variant of face-parsing.PyTorch).

(N, 3, H, W) -> (ffm 256 @ 1/8, feat_s8 128 @ 1/8, feat_s16 128 @ 1/16): the fused feature for
the main head and the two context features for the auxiliary heads (training only).

- ``spatial_path=True``: the paper's Spatial Path, three strided
  conv-BN-ReLU layers to 128 @ 1/8, fused with the context path in the FFM.
- ``spatial_path=False``: face-parsing.PyTorch, ResNet-18's C3 (128 @ 1/8) takes its place.
- ``ffm_attention_channels``: None for the paper's FFM attention, 64 for face-parsing.PyTorch's.
Registered as ``FaceBiSeNetV1`` (mmseg's ``BiSeNetV1`` is a different implementation).
"""
from typing import Optional

from mmengine.model import BaseModule

from faceparse_mm.registry import MODELS

from ..modules import ContextPath, FeatureFusionModule, SpatialPath


@MODELS.register_module()
class FaceBiSeNetV1(BaseModule):

    def __init__(self, in_channels: int = 3, spatial_path: bool = True,
                 context_channels: int = 128, ffm_channels: int = 256,
                 ffm_attention_channels: Optional[int] = None,
                 context_upsample: str = 'nearest', norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU'), context_init_cfg: Optional[dict] = None,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.context_path = ContextPath(in_channels, context_channels, context_upsample,
                                        norm_cfg, act_cfg, resnet_init_cfg=context_init_cfg)
        self.spatial_path = SpatialPath(in_channels, norm_cfg=norm_cfg,
                                        act_cfg=act_cfg) if spatial_path else None
        detail = self.spatial_path.out_channels if spatial_path else 128
        self.ffm = FeatureFusionModule(detail + context_channels, ffm_channels,
                                       ffm_attention_channels, norm_cfg, act_cfg)
        self.out_channels = (ffm_channels, context_channels, context_channels)

    def forward(self, x):
        c3, feat_s8, feat_s16 = self.context_path(x)
        detail = self.spatial_path(x) if self.spatial_path is not None else c3
        return self.ffm([detail, feat_s8]), feat_s8, feat_s16
