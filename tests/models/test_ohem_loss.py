import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from faceparse_mm.models.losses import OhemCrossEntropyLoss


def _reference(logits, labels, thresh, n_min, ignore=255):
    """face-parsing.PyTorch's OhemCELoss written out in numpy: returns (loss, branch)."""
    x = logits.detach().double().numpy()
    y = labels.numpy()
    m = x.max(axis=1, keepdims=True)
    log_prob = x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True))
    valid = y != ignore
    picked = np.take_along_axis(log_prob, np.where(valid, y, 0)[:, None], axis=1)[:, 0]
    loss = np.where(valid, -picked, 0.0).ravel()
    loss = np.sort(loss)[::-1]
    t = -math.log(thresh)
    if loss[n_min] > t:
        return loss[loss > t].mean(), 'threshold'
    return loss[:n_min].mean(), 'top-n_min'


def _labels(g, n=2, c=5, size=8):
    labels = torch.randint(0, c, (n, size, size), generator=g)
    labels[0, :2] = 255  # ignored pixels
    labels[1, :, -1] = 255
    return labels


def test_threshold_branch():
    g = torch.Generator().manual_seed(0)
    labels = _labels(g)
    logits = torch.randn(2, 5, 8, 8, generator=g) * 3  # many pixels above -log(0.7)
    ref, branch = _reference(logits, labels, 0.7, 8)  # n_min = 2 * 64 / 16
    assert branch == 'threshold'
    out = OhemCrossEntropyLoss(thresh=0.7, min_kept_ratio=1 / 16)(logits, labels)
    assert out.item() == pytest.approx(ref, abs=1e-5)


def test_top_n_min_branch():
    g = torch.Generator().manual_seed(1)
    labels = _labels(g)
    logits = torch.randn(2, 5, 8, 8, generator=g)
    # most pixels confidently right: fewer than n_min + 1 losses above the threshold
    confident = F.one_hot(labels.clamp(max=4), 5).permute(0, 3, 1, 2).float() * 8
    confident[:, :, 4:6, :2] = 0  # 8 uncertain pixels, none ignored
    logits = logits + confident
    ref, branch = _reference(logits, labels, 0.7, 8)
    assert branch == 'top-n_min'
    loss = OhemCrossEntropyLoss(thresh=0.7, min_kept_ratio=1 / 16)
    out = loss(logits, labels)
    assert out.item() == pytest.approx(ref, abs=1e-5)
    # the mean of the 8 largest, not of all pixels (as plain CE would be)
    assert out.item() > F.cross_entropy(logits, labels, ignore_index=255).item()


def test_ignore_index_argument_and_loss_weight():
    g = torch.Generator().manual_seed(2)
    labels = torch.randint(0, 4, (1, 8, 8), generator=g)
    labels[0, 0] = 3  # the head's ignore_index overrides the loss's own
    logits = torch.randn(1, 4, 8, 8, generator=g) * 3
    ref, _ = _reference(logits, labels, 0.6, 4, ignore=3)
    loss = OhemCrossEntropyLoss(thresh=0.6, loss_weight=0.5, loss_name='loss_x')
    assert loss(logits, labels, weight=None, ignore_index=3).item() == pytest.approx(0.5 * ref,
                                                                                     abs=1e-5)
    assert loss.loss_name == 'loss_x'


def test_all_ignored_gives_zero_with_grad():
    logits = torch.randn(1, 3, 4, 4, requires_grad=True)
    labels = torch.full((1, 4, 4), 255)
    out = OhemCrossEntropyLoss()(logits, labels)
    out.backward()
    assert out.item() == 0 and logits.grad is not None
