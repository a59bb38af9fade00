"""A ResNet (mmseg's ``ResNetV1c``) that takes plug-ins per block and in BasicBlocks.

:class:`PluginResNetV1c` is mmseg's ``ResNetV1c`` with two additions the authors' placement
needs, as the ``plugins=`` mechanism cannot express them: a plug-in entry may name the blocks of
each stage that get it (``blocks=(-1,)``: the last block; left out: every block), and ResNet-18/34
``BasicBlock`` s take plug-ins too (``after_conv1``: after the first conv's BN + ReLU, before the
second conv; ``after_conv2``: after the second conv's BN, before the residual sum). The authors
(``spm_on=True``) put an SPM in the last block of stages 1-3 and in every block of stage 4, after
the 3x3 conv's BN + ReLU of the bottleneck, i.e. mmseg's ``after_conv2`` with::

    plugins=[dict(cfg=spm, stages=(True, True, True, False), blocks=(-1,), position='after_conv2'),
             dict(cfg=spm, stages=(False, False, False, True), position='after_conv2')]

Placing the SPM in every block of every stage instead would add 2,704,128 parameters (6%) at
ResNet-50 width. A block takes at most one plug-in per position: mmseg's ``Bottleneck`` feeds
every plug-in of a position the same input instead of chaining them, so more would be silently
wrong.
"""
import torch.utils.checkpoint as cp
from mmcv.cnn import build_plugin_layer
from mmseg.models.backbones.resnet import BasicBlock, Bottleneck
from torch import nn

from faceparse_mm.registry import MODELS

from .deep_stem_resnet import DeepStemResNet

__all__ = ['PluginBasicBlock', 'PluginResNetV1c', 'attach_plugins', 'in_block']


def _build_plugins(block: nn.Module, in_channels: int, cfgs: list) -> list:
    """Build ``cfgs`` (plug-in layer configs) into ``block``; returns their attribute names."""
    names = []
    for cfg in cfgs:
        cfg = dict(cfg)
        name, layer = build_plugin_layer(cfg, in_channels=in_channels,
                                         postfix=cfg.pop('postfix', ''))
        if hasattr(block, name):
            raise ValueError(f'duplicate plug-in {name!r}: give it a postfix')
        block.add_module(name, layer)
        names.append(name)
    return names


class PluginBasicBlock(BasicBlock):
    """mmseg's ``BasicBlock`` (same parameters, same names) with plug-ins after conv1 (after
    BN + ReLU) and after conv2 (after BN, before the residual sum); attached by
    :class:`PluginResNetV1c` (``with_plugins`` and ``after_conv{1,2}_plugin_names``)."""

    positions = ('after_conv1', 'after_conv2')

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.with_plugins = False
        self.after_conv1_plugin_names, self.after_conv2_plugin_names = [], []

    def _plugins(self, x, names):
        for name in names:
            x = getattr(self, name)(x)
        return x

    def forward(self, x):

        def _inner_forward(x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.norm1(self.conv1(x)))
            out = self._plugins(out, self.after_conv1_plugin_names)
            out = self.norm2(self.conv2(out))
            out = self._plugins(out, self.after_conv2_plugin_names)
            return out + identity

        if self.with_cp and x.requires_grad:
            out = cp.checkpoint(_inner_forward, x)
        else:
            out = _inner_forward(x)
        return self.relu(out)


def in_block(blocks, index: int, num_blocks: int) -> bool:
    """Whether block ``index`` of a stage of ``num_blocks`` is among ``blocks`` (indices,
    negative from the end; ``None``: every block)."""
    return blocks is None or index in {b % num_blocks for b in blocks}


@MODELS.register_module()
class PluginResNetV1c(DeepStemResNet):
    """mmseg's ``ResNetV1c`` (deep stem; same parameters and names, so its ImageNet checkpoints
    load; the stem pool's ``pool_ceil_mode`` as :class:`DeepStemResNet`) whose ``plugins``
    entries may carry ``blocks`` (which blocks of each selected stage get the plug-in: indices,
    negative from the end; left out: all) and may go into BasicBlocks.

    A plug-in at ``after_conv1``/``after_conv2``/``after_conv3`` gets that conv's output width;
    ``after_conv3`` exists in Bottlenecks only."""

    def make_res_layer(self, plugins=None, **kwargs):
        if kwargs['block'] is BasicBlock:
            # same parameters and names; the zero-init of norm2 still applies (the ResNet decides
            # it from its arch_settings, which stay mmseg's)
            kwargs['block'] = PluginBasicBlock
        layer = super().make_res_layer(plugins=None, **kwargs)
        for index, block in enumerate(layer):
            chosen = [p for p in plugins or () if in_block(p.get('blocks'), index, len(layer))]
            if chosen:
                attach_plugins(block, chosen)
        return layer


def attach_plugins(block: nn.Module, plugins: list) -> None:
    """Build ``plugins`` (entries with ``cfg`` and ``position``) into an mmseg ``Bottleneck`` or a
    :class:`PluginBasicBlock`, each at its position (given that conv's output width)."""
    if isinstance(block, Bottleneck):
        convs = dict(after_conv1=block.conv1, after_conv2=block.conv2,
                     after_conv3=block.conv3)
    elif isinstance(block, PluginBasicBlock):
        convs = dict(after_conv1=block.conv1, after_conv2=block.conv2)
    else:
        raise TypeError(f'{type(block).__name__} takes no plug-ins (a Bottleneck or a '
                        f'PluginBasicBlock does)')
    for plugin in plugins:
        if plugin['position'] not in convs:
            raise ValueError(f'{type(block).__name__} has no plug-in position '
                             f'{plugin["position"]!r}; it has {sorted(convs)}')
    for position, conv in convs.items():
        cfgs = [p['cfg'] for p in plugins if p['position'] == position]
        if len(cfgs) > 1:
            raise ValueError(f'at most one plug-in per position and block ({position})')
        setattr(block, f'{position}_plugin_names',
                _build_plugins(block, conv.out_channels, cfgs))
    block.plugins = list(plugins)
    block.with_plugins = True
