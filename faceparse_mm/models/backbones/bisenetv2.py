"""BiSeNet V2 backbone (Yu et al., "BiSeNet V2: Bilateral Network with Guided Aggregation for
Real-time Semantic Segmentation", IJCV 2021) computing what the code of CoinCheung/BiSeNet
(``lib/models/bisenetv2.py``, the implementation mmseg's refactors) computes.

(N, 3, H, W) -> (bga 128 @ 1/8, stem 16 @ 1/4, S3 32 @ 1/8, S4 64 @ 1/16, S5 128 @ 1/32), the
outputs selected by ``out_indices``: the aggregated feature for the head, then the semantic
branch's stages for the booster heads (training only).

mmseg's ``BiSeNetV2`` (detail branch, semantic branch with its gather-and-expand layers and
context embedding, all reused here) with its bilateral guided aggregation replaced by
:class:`~faceparse_mm.models.modules.BilateralGuidedAggregation`: by default the authors' (nearest
x4 upsampling, no bias on the two 1x1s), which mmseg's differs from (bilinear, biases: with the
biases at 0, its logits are 1e-3 of the largest apart from the authors' on the weights of
``tests/converters/test_bisenetv2.py``, this one's 4e-7). ``bga_upsample='bilinear'`` and
``bga_pointwise_bias=True`` give mmseg's ``BiSeNetV2`` exactly (same state-dict keys). As
mmseg's, ``norm_cfg`` is not passed to the branches (they use BN). Registered as
``BiSeNetV2Backbone`` (mmseg registers ``BiSeNetV2``).
"""
from mmseg.models.backbones import BiSeNetV2

from faceparse_mm.registry import MODELS

from ..modules.bilateral_guided_aggregation import BilateralGuidedAggregation

__all__ = ['BiSeNetV2Backbone']


@MODELS.register_module()
class BiSeNetV2Backbone(BiSeNetV2):
    """Args (besides mmseg's ``BiSeNetV2``'s):
        bga_upsample: ``'nearest'`` (the authors') or ``'bilinear'`` (mmseg's).
        bga_pointwise_bias: a bias on the aggregation's two 1x1 convs (mmseg's).
    """

    def __init__(self, *args, bga_upsample: str = 'nearest', bga_pointwise_bias: bool = False,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.bga = BilateralGuidedAggregation(self.bga_channels, upsample_mode=bga_upsample,
                                              pointwise_bias=bga_pointwise_bias,
                                              align_corners=self.align_corners)
