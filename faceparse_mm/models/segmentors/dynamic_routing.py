"""The Dynamic Routing segmentor (Li, Song, Chen, Li, Zhang, Wang, Sun, "Learning Dynamic Routing
for Semantic Segmentation", CVPR 2020): mmseg's ``EncoderDecoder`` whose training losses also
hold the budget constraint.

The backbone (:class:`~faceparse_mm.models.backbones.DynamicRoutingBackbone`) leaves the cost
of its last forward in ``last_cost``; :meth:`loss` runs the usual encoder-decoder losses, then
adds ``loss_budget`` (:class:`~faceparse_mm.models.losses.BudgetLoss` on the expected and the
all-open cost) and logs ``cost_ratio`` (expected / all-open, not a loss: not summed). Prediction,
``encode_decode`` and the test loop are the parent's, unchanged: at inference the backbone skips
closed cells on its own. As the authors' ``DynamicNet4Seg``, where the budget loss is one more
entry of the losses dict.
"""
from mmseg.models.segmentors import EncoderDecoder

from faceparse_mm.registry import MODELS

__all__ = ['DynamicRoutingEncoderDecoder']


@MODELS.register_module()
class DynamicRoutingEncoderDecoder(EncoderDecoder):
    """Args: ``budget_loss``, the config of the budget loss (None: none), then
    ``EncoderDecoder``'s. The backbone must set ``last_cost`` (``expected`` (N,), ``full``) in
    its forward."""

    #: why a traced graph is not this model (``tools/analysis/benchmark.py``'s onnxruntime mode
    #: refuses it; README.md's table of architectures that do not export says the same)
    onnx_unexportable = ('data-dependent control flow: the cells and routes whose gates close '
                         'for an image are skipped, and tracing freezes the traced image\'s routes')
    #: its MACs and latency depend on the image (``tools/analysis/benchmark.py`` reports the mean,
    #: min and max over several images)
    cost_depends_on_input = True

    def __init__(self, *args, budget_loss=dict(type='BudgetLoss'), **kwargs):
        super().__init__(*args, **kwargs)
        self.budget_loss = MODELS.build(budget_loss) if budget_loss else None

    def loss(self, inputs, data_samples) -> dict:
        losses = super().loss(inputs, data_samples)
        cost = self.backbone.last_cost
        if self.budget_loss is not None:
            losses[self.budget_loss.loss_name] = self.budget_loss(cost['expected'],
                                                                  cost['full'])
        losses['cost_ratio'] = cost['expected'].detach().float().mean() / cost['full']
        # the graph is in the losses now: keep no reference to it on the module
        self.backbone.last_cost = dict(cost, expected=cost['expected'].detach())
        return losses
