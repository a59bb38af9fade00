"""Fold inference-mode BatchNorm into the convolution that feeds it.

For y = BN(conv(x)) with BN in eval mode, conv' has weight w * s and bias (b - mean) * s + beta,
with s = gamma / sqrt(var + eps) per output channel, and the BN becomes an identity. Pairs are
found by running the model once on a sample input and matching each ``BatchNorm2d`` whose input is
exactly the output tensor of a ``Conv2d`` (so mmcv ``ConvModule``, ``nn.Sequential`` and
torchvision-style ``conv1``/``bn1`` attributes are all covered, whatever the code around them).
"""
from __future__ import annotations

import copy

import torch
from torch import nn


def _pairs(model: nn.Module, sample: torch.Tensor):
    produced = {}  # id(output tensor) -> conv name
    pairs = []
    names = {m: n for n, m in model.named_modules()}
    hooks = []

    def conv_hook(module, inputs, output):
        produced[id(output)] = names[module]

    def bn_hook(module, inputs, output):
        conv = produced.get(id(inputs[0]))
        if conv is not None:
            pairs.append((conv, names[module]))

    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.BatchNorm2d):
            hooks.append(m.register_forward_hook(bn_hook))
    try:
        with torch.no_grad():
            model(sample)
    finally:
        for h in hooks:
            h.remove()
    return pairs


def _set(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, attr = name.rpartition('.')
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, attr, module)


@torch.no_grad()
def fold_bn(model: nn.Module, sample: torch.Tensor, inplace: bool = False) -> nn.Module:
    """Return ``model`` (a copy unless ``inplace``) in eval mode with every conv -> BN pair seen on
    ``sample`` folded. ``model(sample)`` must run; the result has no such BatchNorm left."""
    if not inplace:
        model = copy.deepcopy(model)
    model.eval()
    pairs = _pairs(model, sample)
    seen_bn = set()
    for conv_name, bn_name in pairs:
        if bn_name in seen_bn:
            continue  # a BN applied twice cannot be folded into one conv
        seen_bn.add(bn_name)
        conv = model.get_submodule(conv_name)
        bn = model.get_submodule(bn_name)
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps) if bn.affine else \
            1 / torch.sqrt(bn.running_var + bn.eps)
        shift = bn.bias if bn.affine else torch.zeros_like(bn.running_mean)
        bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
        conv.weight.mul_(scale.reshape(-1, *([1] * (conv.weight.dim() - 1))))
        conv.bias = nn.Parameter((bias - bn.running_mean) * scale + shift)
        _set(model, bn_name, nn.Identity())
    return model
