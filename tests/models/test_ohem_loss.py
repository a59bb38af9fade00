import math

import torch
import torch.nn.functional as F

from faceparse_mm.models.losses import OhemCrossEntropyLoss


def _reference(logits, labels, thresh, n_min, ignore=255):
    """face-parsing.PyTorch's rule, written out with numpy-style steps."""
    loss = F.cross_entropy(logits, labels, ignore_index=ignore, reduction='none').flatten()
    values = sorted(loss.tolist(), reverse=True)
    t = -math.log(thresh)
    if values[n_min] > t:
        kept = [v for v in values if v > t]
    else:
        kept = values[:n_min]
    return sum(kept) / len(kept)


def test_threshold_branch_and_top_k_branch_with_ignore():
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 5, (2, 8, 8), generator=g)
    labels[0, :2] = 255
    loss = OhemCrossEntropyLoss(thresh=0.7, min_kept_ratio=1 / 16)
    hard = torch.randn(2, 5, 8, 8, generator=g) * 3  # many pixels above the threshold
    ref = _reference(hard, labels, 0.7, 8)
    assert abs(loss(hard, labels).item() - ref) < 1e-5
    easy = F.one_hot(labels.clamp(max=4), 5).permute(0, 3, 1, 2).float() * 20  # all confident
    easy[:, :, 0, 0] = 0  # a couple of uncertain pixels only
    ref = _reference(easy, labels, 0.7, 8)
    out = loss(easy, labels)
    assert abs(out.item() - ref) < 1e-5
    # the top-n_min branch: mean of the 8 largest, not of all 128 pixels
    plain = F.cross_entropy(easy, labels, ignore_index=255)
    assert out.item() > plain.item()


def test_all_ignored_gives_zero_with_grad():
    logits = torch.randn(1, 3, 4, 4, requires_grad=True)
    labels = torch.full((1, 4, 4), 255)
    out = OhemCrossEntropyLoss()(logits, labels)
    out.backward()
    assert out.item() == 0 and logits.grad is not None
