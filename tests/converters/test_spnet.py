"""SPNet R50 (configs/spnet-r50_celebamask.py) computes what the authors' SPNet computes
(houqb/SPNet, ``SPNet(19, 'resnet50', spm_on=True)``), run once on formula weights
(``tests/data/reference/spnet.json``): their deep stem, stem pool and layer1 (with its strip
pooling module) at full width, their ``SPHead`` and auxiliary ``FCNHead`` at a narrow width; the
same weights converted by the ``spnet`` rule table into the user config's modules."""
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

REF = load('spnet')
CONFIG = os.path.join(ROOT, 'configs', 'spnet-r50_celebamask.py')


@pytest.fixture(scope='module')
def model():
    cfg = model_cfg(CONFIG)
    head, aux = REF['arguments']['logits'], REF['arguments']['aux']
    # the authors' SPHead: C5 / 2 after the transform, C5 / 4 after the 3x3; FCNHead: C4 / 4
    return converted(
        RULES['spnet'], REF, backbone=stem_and_layer1(cfg['backbone']),
        decode_head=narrowed(cfg['decode_head'], in_channels=head['in_channels'],
                             transform_channels=head['in_channels'] // 2,
                             channels=head['in_channels'] // 4),
        auxiliary_head=narrowed(cfg['auxiliary_head'], in_channels=aux['in_channels'],
                                channels=aux['in_channels'] // 4))


def test_the_user_config_computes_the_authors_spnet(model):
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
    model = full_layout(RULES['spnet'], REF, CONFIG)
    total, inference = count_params(model)
    assert (total, inference) == (REF['num_parameters'], REF['num_parameters_inference'])
    source = {k: torch.empty(s, device='meta') for k, s in REF['checkpoint_keys'].items()
              if '.spm.' not in k}
    with pytest.raises(UserError, match='not a spnet checkpoint'):
        convert(source, RULES['spnet'], model.state_dict())
