"""Fold inference-mode BatchNorm into the convolution that feeds it.

For y = BN(conv(x)) with BN in eval mode, conv' has weight w * s and bias (b - mean) * s + beta,
with s = gamma / sqrt(var + eps) per output channel, and the BN disappears: removed from an mmcv
``ConvModule`` (``with_norm`` off) or an ``nn.Sequential``, replaced by ``nn.Identity`` elsewhere.
The folded model has fewer modules and, up to float rounding, the same outputs.

Which BN follows which conv is found in one of two ways:

- with a ``sample`` input (preferred): the model runs once and each ``BatchNorm2d`` whose input is
  the unmodified output tensor of a ``Conv2d`` is paired with it, whatever the code around them
  (``ConvModule``, ``nn.Sequential``, torchvision-style ``conv1``/``bn1`` attributes). A conv or BN
  called more than once, or a conv whose output feeds two BNs, is left alone. The folded model's
  outputs are then compared with the original's on the sample, so a conv output that is also used
  without its BN (which folding would change) is an error, not a silent wrong answer.
- without a sample: structurally, an mmcv ``ConvModule`` whose ``order`` has the norm right after
  the conv, and a ``Conv2d`` immediately followed by a ``BatchNorm2d`` inside an ``nn.Sequential``.
  Nothing is checked: the caller vouches that the modules run as declared.
"""
from __future__ import annotations

import copy

import torch
from mmcv.cnn import ConvModule
from torch import nn


class _FoldedBN(nn.Identity):
    """Placeholder for a BN that was folded; removed from its container when possible."""


def _is_foldable_bn(m) -> bool:
    return isinstance(m, nn.BatchNorm2d) and m.track_running_stats and m.running_mean is not None


def _call(model, sample):
    return model(*sample) if isinstance(sample, tuple) else model(sample)


def _traced_pairs(model: nn.Module, sample) -> list[tuple[str, str]]:
    names = {m: n for n, m in model.named_modules()}
    # id(output) -> (conv name, output kept alive so that its id is not reused, version)
    produced = {}
    conv_calls, bn_calls, consumers, links = {}, {}, {}, []

    def conv_hook(module, inputs, output):
        name = names[module]
        conv_calls[name] = conv_calls.get(name, 0) + 1
        produced[id(output)] = (name, output, output._version)

    def bn_hook(module, inputs, output):
        name = names[module]
        bn_calls[name] = bn_calls.get(name, 0) + 1
        entry = produced.get(id(inputs[0]))
        if entry is not None and entry[1] is inputs[0] and entry[2] == inputs[0]._version:
            consumers[entry[0]] = consumers.get(entry[0], 0) + 1
            links.append((entry[0], name))

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif _is_foldable_bn(m):
            hooks.append(m.register_forward_hook(bn_hook))
    try:
        with torch.no_grad():
            _call(model, sample)
    finally:
        for h in hooks:
            h.remove()
    return [(c, b) for c, b in links
            if conv_calls[c] == 1 and bn_calls[b] == 1 and consumers[c] == 1]


def _structural_pairs(model: nn.Module) -> list[tuple[str, str]]:
    pairs = []
    for name, m in model.named_modules():
        prefix = f'{name}.' if name else ''
        if isinstance(m, ConvModule):
            order = list(m.order)
            if (m.with_norm and _is_foldable_bn(m.norm) and isinstance(m.conv, nn.Conv2d)
                    and order.index('norm') == order.index('conv') + 1):
                pairs.append((f'{prefix}conv', f'{prefix}{m.norm_name}'))
        elif isinstance(m, nn.Sequential):
            children = list(m.named_children())
            for (cname, conv), (bname, bn) in zip(children, children[1:]):
                if isinstance(conv, nn.Conv2d) and _is_foldable_bn(bn):
                    pairs.append((f'{prefix}{cname}', f'{prefix}{bname}'))
    return pairs


@torch.no_grad()
def _fold_into(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
    scale = torch.rsqrt(bn.running_var + bn.eps)
    if bn.affine:
        scale = scale * bn.weight
    shift = bn.bias if bn.affine else torch.zeros_like(bn.running_mean)
    bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    conv.weight.mul_(scale.reshape(-1, *([1] * (conv.weight.dim() - 1))))
    conv.bias = nn.Parameter((bias - bn.running_mean) * scale + shift,
                             requires_grad=conv.weight.requires_grad)


def _remove_placeholders(model: nn.Module) -> None:
    for m in list(model.modules()):
        if isinstance(m, ConvModule) and m.with_norm and isinstance(m.norm, _FoldedBN):
            delattr(m, m.norm_name)
            m.with_norm = False
            m.norm_name = None
        elif isinstance(m, nn.Sequential):
            for key, child in list(m._modules.items()):
                if isinstance(child, _FoldedBN):
                    delattr(m, key)  # keeps the other keys; Sequential runs what is left in order


def _flat(out):
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in _flat(o)]
    return []


@torch.no_grad()
def fold_bn(model: nn.Module, sample=None, inplace: bool = False, check: bool = True,
            rtol: float = 1e-4) -> nn.Module:
    """Return ``model`` (a copy unless ``inplace``) in eval mode with conv -> BatchNorm2d pairs
    folded (see the module docstring for how pairs are found with and without ``sample``).

    With ``sample`` (a tensor, or a tuple of positional inputs) and ``check``, the folded outputs
    must match the original's within ``rtol`` times the largest output magnitude (at least 1),
    else ``RuntimeError``.
    """
    if not inplace:
        model = copy.deepcopy(model)
    model.eval()
    pairs = _traced_pairs(model, sample) if sample is not None else _structural_pairs(model)
    reference = _flat(_call(model, sample)) if sample is not None and check else None
    for conv_name, bn_name in pairs:
        _fold_into(model.get_submodule(conv_name), model.get_submodule(bn_name))
        parent_name, _, attr = bn_name.rpartition('.')
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, attr, _FoldedBN())
    _remove_placeholders(model)
    if reference is not None:
        folded = _flat(_call(model, sample))
        for ref, out in zip(reference, folded):
            tol = rtol * max(1.0, ref.abs().max().item())
            err = (out - ref).abs().max().item()
            if out.shape != ref.shape or err > tol:
                raise RuntimeError(f'folding BatchNorm changed the outputs (max error {err:.3g} > '
                                   f'{tol:.3g}): a conv output is probably also used without its '
                                   f'BatchNorm')
        if len(folded) != len(reference):
            raise RuntimeError('folding BatchNorm changed the number of outputs')
    return model
