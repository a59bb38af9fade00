"""SR-Net R50-D8 (configs/srnet-r50-d8_celebamask.py) computes what the authors' SRNet computes
(lxtGH/SFSegNets, ``SRNet(19, 'resnet-50-deep', 'D')``), run once on formula weights
(``tests/data/reference/srnet.json``): their deep stem, stem pool and layer1 at full width, their
``ModuleHead`` with its ``ChannelReasonModule`` and their ``Aux_Module`` at a narrow width; the
same weights converted by the ``srnet`` rule table into the user config's modules."""
import os

import pytest
import torch

from faceparse_mm.converters import RULES, convert
from faceparse_mm.errors import UserError
from faceparse_mm.utils.build import count_params
from tests.converters.deep_stem import (
    converted,
    full_layout,
    inputs,
    model_cfg,
    narrowed,
    stem_and_layer1,
)
from tests.converters.reference import ROOT, assert_matches, load, sample

REF = load('srnet')
CONFIG = os.path.join(ROOT, 'configs', 'srnet-r50-d8_celebamask.py')


@pytest.fixture(scope='module')
def model():
    cfg = model_cfg(CONFIG)
    widths = REF['arguments']['logits']
    return converted(
        RULES['srnet'], REF, backbone=stem_and_layer1(cfg['backbone']),
        decode_head=narrowed(cfg['decode_head'], in_channels=widths['in_planes'],
                             channels=widths['m_planes'],
                             reason_channels=widths['module']['planes'],
                             num_nodes=widths['module']['node_num']),
        auxiliary_head=narrowed(cfg['auxiliary_head'],
                                in_channels=REF['arguments']['aux']['in_planes']))


def test_the_user_config_computes_the_authors_srnet(model):
    x = inputs(REF)
    stride = REF['stride']
    with torch.no_grad():
        c1 = model.backbone(x['c1'])[0]
        logits = model.decode_head([None, None, None, x['logits']])
        aux = model.auxiliary_head([None, None, x['aux']])
    assert_matches(sample(c1, stride), REF['outputs']['c1'], 'stem + layer1')
    assert_matches(sample(logits, stride), REF['outputs']['logits'], 'head')
    assert_matches(sample(aux, stride), REF['outputs']['aux'], 'auxiliary head')


def test_the_authors_whole_layout_converts_and_the_count_is_theirs():
    model = full_layout(RULES['srnet'], REF, CONFIG)
    total, inference = count_params(model)
    # the head's 3x3 conv bias (512) is folded into the BN after it
    assert inference == REF['num_parameters_inference'] - 512
    assert total == REF['num_parameters'] - 512 - 256
    source = {k: torch.empty(s, device='meta') for k, s in REF['checkpoint_keys'].items()
              if not k.startswith('head.module.')}
    with pytest.raises(UserError, match='not a srnet checkpoint'):
        convert(source, RULES['srnet'], model.state_dict())
