"""ANN R101-D8 (configs/ann-r101-d8_celebamask.py) computes what the authors' ANN computes
(MendelXu/ANN, ``asymmetric_non_local_network`` on ``deepbase_resnet101_dilated8``), run once on
formula weights (``tests/data/reference/ann.json``): their deep stem, ceil-mode stem pool and
layer1 at full width, their AFNB, context conv, APNB, classifier and dsn at a narrow width; the
same weights converted by the ``ann`` rule table into the user config's modules."""
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

REF = load('ann')
CONFIG = os.path.join(ROOT, 'configs', 'ann-r101-d8_celebamask.py')
#: the APNB's f_query is its f_key module in the authors' code
APNB_SHARED = (('context.2.stages.0.f_key.', 'context.2.stages.0.f_query.'),)


@pytest.fixture(scope='module')
def model():
    cfg = model_cfg(CONFIG)
    head, aux = REF['arguments']['logits'], REF['arguments']['aux']
    fusion = head['fusion']
    return converted(
        RULES['ann'], REF, shared=APNB_SHARED, backbone=stem_and_layer1(cfg['backbone']),
        decode_head=narrowed(
            cfg['decode_head'],
            in_channels=(fusion['low_in_channels'], fusion['high_in_channels']),
            fusion_channels=fusion['out_channels'], channels=head['apnb']['in_channels'],
            key_channels=fusion['key_channels'], value_channels=fusion['value_channels']),
        auxiliary_head=narrowed(cfg['auxiliary_head'], in_channels=aux['in_channels'],
                                channels=aux['channels']))


def test_the_user_config_computes_the_authors_ann(model):
    x = inputs(REF)
    stride = REF['stride']
    with torch.no_grad():
        c1 = model.backbone(x['c1'])[0]  # 5 x 5 after the ceil-mode pool at 16 px (floor: 4 x 4)
        logits = model.decode_head([None, None, x['aux'], x['logits']])
        aux = model.auxiliary_head([None, None, x['aux']])
    assert_matches(sample(c1, stride), REF['outputs']['c1'], 'stem + layer1')
    assert_matches(sample(logits, stride), REF['outputs']['logits'], 'head')
    assert_matches(sample(aux, stride), REF['outputs']['aux'], 'auxiliary head (dsn)')


def test_the_authors_whole_layout_converts_and_the_count_is_theirs():
    model = full_layout(RULES['ann'], REF, CONFIG)
    total, inference = count_params(model)
    # conv biases that a BN follows, folded: AFNB query, key, fusion; 3x3 context; APNB
    # query-key, fusion (3,840); the dsn's 3x3 conv (512)
    assert inference == REF['num_parameters_inference'] - 3840
    assert total == REF['num_parameters'] - 3840 - 512
    source = {k: torch.empty(s, device='meta') for k, s in REF['checkpoint_keys'].items()
              if not k.startswith('fusion.')}
    with pytest.raises(UserError, match='not a ann checkpoint'):
        convert(source, RULES['ann'], model.state_dict())
