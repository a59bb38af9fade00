"""An HRNet (mmseg's ``HRNet``) whose blocks take plug-ins, as mmseg's ResNet ``plugins=`` does.

Polarized Self-Attention for segmentation (Liu et al., 2021; the authors' DeLightCMU/PSA) puts
a PSA_s module after the first conv (after its BN + ReLU, before the second conv) of every
BasicBlock of HRNet's stages 2-4: 104 modules in HRNetV2-W18 (stage 2: 1 module x 2 branches x
4 blocks, stage 3: 4 x 3 x 4, stage 4: 3 x 4 x 4). mmseg's BasicBlock takes no plug-ins, so
:class:`PluginHRNet` builds the same network with
:class:`~faceparse_mm.models.backbones.PluginBasicBlock` (mmseg's BasicBlock, same parameters
and names: HRNet ImageNet checkpoints load into every weight they have) and attaches::

    plugins=[dict(cfg=dict(type='PolarizedSelfAttention', mode='sequential'),
                  stages=(False, True, True, True), position='after_conv1')]

``stages`` selects HRNet's stages 1-4 (stage 1 is the Bottleneck layer: positions
``after_conv1/2/3`` there; BasicBlocks: ``after_conv1/2``); ``blocks`` (indices, negative from
the end) optionally selects blocks within each branch, as in
:class:`~faceparse_mm.models.backbones.PluginResNetV1c`. mmseg's ``zero_init_residual`` is not
supported (it tests for mmseg's own block class).
"""
from mmseg.models.backbones import HRNet
from mmseg.models.backbones.resnet import Bottleneck

from faceparse_mm.models.backbones.plugin_resnet import PluginBasicBlock, attach_plugins, in_block
from faceparse_mm.registry import MODELS

__all__ = ['PluginHRNet']


@MODELS.register_module()
class PluginHRNet(HRNet):
    """mmseg's ``HRNet`` with ``plugins`` (list of dict(cfg, stages, position[, blocks]))."""

    blocks_dict = {'BASIC': PluginBasicBlock, 'BOTTLENECK': Bottleneck}

    def __init__(self, extra, plugins=None, zero_init_residual=False, **kwargs):
        if zero_init_residual:
            raise ValueError('PluginHRNet: zero_init_residual is not supported')
        super().__init__(extra, **kwargs)
        plugins = [dict(p) for p in plugins or ()]
        for p in plugins:
            stages = p.get('stages')
            if stages is None or len(stages) != 4:
                raise ValueError(f'PluginHRNet: each plug-in needs stages=(4 booleans), got '
                                 f'{stages!r}')
        for stage, branches in enumerate(self._stage_branches()):
            chosen = [p for p in plugins if p['stages'][stage]]
            for blocks in branches:
                for index, block in enumerate(blocks):
                    here = [p for p in chosen if in_block(p.get('blocks'), index, len(blocks))]
                    if here:
                        attach_plugins(block, here)

    def _stage_branches(self):
        """Per stage (1-4), the list of its branches, each a sequence of blocks."""
        yield [self.layer1]
        for i in (2, 3, 4):
            yield [branch for module in getattr(self, f'stage{i}') for branch in module.branches]
