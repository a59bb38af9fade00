"""Affinity loss of the Context Prior (Yu et al., "Context Prior for Scene Segmentation", CVPR 2020,
section 3.2).

prior logits (B, N, N) and the ideal affinity map A (B, N, N) of the same N = h x w grid -> a
scalar: the unary term, mean binary cross-entropy between sigmoid(logits) = P and A, plus the
global term, -log of three per-row ratios averaged over the B x N rows (row p of P holds the
weights with which pixel p gathers the other pixels):

    precision_p   = sum_s A_ps P_ps / sum_s P_ps
    recall_p      = sum_s A_ps P_ps / sum_s A_ps
    specificity_p = sum_s (1 - A_ps)(1 - P_ps) / sum_s (1 - A_ps)

``loss_weight * (unary + precision + recall + specificity terms)``; the paper weighs the unary and
the global term 1 each and the whole loss 1 against the segmentation loss. :func:`ideal_affinity`
builds A from a label map: labels nearest-resized to the grid, A_ps = 1 where pixels p and s have
the same label, ignored pixels (255) counting as one more class, as in the authors' code.

By default (``global_term='authors'``) this is the authors' loss (``loss/affinity_loss.py`` of
their mmseg release), which departs from the paper's formulas in two ways:

- The diagonal (a pixel with itself) is left out of the numerators of recall and precision and
  of recall's denominator, but kept in precision's denominator, so a perfect prior scores
  precision (n - 1) / n for a class of n grid pixels and 0 for a one-pixel class.
- A ratio whose denominator is 0 (recall of a one-pixel class; specificity of every row of a
  one-class crop) is 0 / 1 = 0, and -log(0) is BCE's clamp, 100, with no gradient.

``global_term='paper'`` keeps the diagonal in every sum and counts a 0 / 0 ratio as 1 (no loss):
bounded, and a one-class crop is not charged a constant 100 per term.

Where both differ from the authors' code: the unary term is BCE on the logits (the same number
up to float rounding while |logit| < 16; theirs, BCE on sigmoid probabilities, saturates at 100
with no gradient beyond), and everything runs in fp32 with autocast off (theirs takes
probabilities through ``binary_cross_entropy``, which autocast refuses, and builds an identity
matrix with ``get_device()``, which fails on the CPU). The ratios sum over rows as the authors'
code does (the paper writes the sums over the first index); rows are what the head multiplies
with the features.
"""
import torch
import torch.nn.functional as F
from torch import nn

from faceparse_mm.registry import MODELS

# smallest normal float32: -log of it (87.3) bounds a term, as BCE bounds log(0) by -100
_TINY = torch.finfo(torch.float32).tiny


def ideal_affinity(label: torch.Tensor, size) -> torch.Tensor:
    """Label map (B, H, W) or (B, 1, H, W) -> ideal affinity (B, h*w, h*w) as float, 1 where two
    pixels of the (h, w) = ``size`` grid share a label (nearest resize; the ignore label is one
    more class)."""
    if label.dim() == 3:
        label = label[:, None]
    grid = F.interpolate(label.float(), size=tuple(size), mode='nearest').flatten(1)
    return (grid[:, :, None] == grid[:, None, :]).float()


def _ratio(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """num / den, 1 where den is 0 (nothing to recall, reject or predict in that row)."""
    empty = den <= 0
    return torch.where(empty, torch.ones_like(num), num / den.masked_fill(empty, 1.0))


def _neg_log(ratio: torch.Tensor) -> torch.Tensor:
    return -torch.log(ratio.clamp(min=_TINY, max=1.0)).mean()


def _authors_ratio(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """num / den with an empty denominator counted as 1, as the authors' code."""
    return num / den.masked_fill(den <= 0, 1.0)


def _bce_to_one(ratio: torch.Tensor) -> torch.Tensor:
    """-log(ratio) averaged, as the authors' ``binary_cross_entropy(ratio, 1)``: log clamped
    at -100 (so -log(0) = 100) and the same gradient."""
    ratio = ratio.clamp(0.0, 1.0)
    return F.binary_cross_entropy(ratio, torch.ones_like(ratio))


@MODELS.register_module()
class AffinityLoss(nn.Module):
    """``forward(prior_logits, target)``: (B, N, N) logits and 0/1 targets -> a scalar.
    ``global_term``: 'authors' (default, their code) or 'paper' (see the module docstring)."""

    def __init__(self, loss_weight: float = 1.0, loss_name: str = 'loss_prior',
                 global_term: str = 'authors'):
        super().__init__()
        if global_term not in ('authors', 'paper'):
            raise ValueError(f"AffinityLoss: global_term must be 'authors' or 'paper', got "
                             f'{global_term!r}')
        self.loss_weight = loss_weight
        self._loss_name = loss_name
        self.global_term = global_term

    def forward(self, prior_logits: torch.Tensor, target: torch.Tensor, **kwargs):
        with torch.autocast(device_type=prior_logits.device.type, enabled=False):
            logits, target = prior_logits.float(), target.float()
            unary = F.binary_cross_entropy_with_logits(logits, target)
            prior = torch.sigmoid(logits)
            if self.global_term == 'authors':
                others = target.clone()  # A without its diagonal
                others.diagonal(dim1=-2, dim2=-1).zero_()
                hits = (prior * others).sum(2)
                recall = _authors_ratio(hits, others.sum(2))
                specificity = _authors_ratio(((1 - prior) * (1 - target)).sum(2),
                                             (1 - target).sum(2))
                precision = _authors_ratio(hits, prior.sum(2))
                global_term = sum(_bce_to_one(r) for r in (recall, specificity, precision))
                return self.loss_weight * (unary + global_term)
            hits = (prior * target).sum(2)
            precision = _ratio(hits, prior.sum(2))
            recall = _ratio(hits, target.sum(2))
            specificity = _ratio(((1 - prior) * (1 - target)).sum(2), (1 - target).sum(2))
            global_term = _neg_log(precision) + _neg_log(recall) + _neg_log(specificity)
            return self.loss_weight * (unary + global_term)

    @property
    def loss_name(self) -> str:
        return self._loss_name


__all__ = ['AffinityLoss', 'ideal_affinity']
