"""SETR-PUP ViT-B/16 (configs/setr-pup-vit-b16_celebamask.py) computes what mmseg 1.2.2's own
SETR-PUP Cityscapes model computes at the same widths: that model narrowed (a 64-d, 4-layer ViT
learnt at 64 x 64, run at 64 x 96 so that the position embedding is resized; PUP heads 32
channels), run once on formula weights (``tests/data/reference/setr.json``); the user config with
the same narrowing, loaded through the ``setr`` rule table, must match it. mmseg's released
checkpoint is ViT-L/16 at 768: its layout must convert into the user config with the rule
table's ``model_options``."""
import os

import pytest

from faceparse_mm.converters import RULES, convert
from faceparse_mm.errors import UserError
from faceparse_mm.utils.build import count_params
from tests.converters.mmseg_reference import (
    layout,
    narrowed_model,
    outputs,
    released_layout_converts,
)
from tests.converters.reference import ROOT, assert_matches, load, sample

REF = load('setr')
CONFIG = os.path.join(ROOT, 'configs', 'setr-pup-vit-b16_celebamask.py')


@pytest.fixture(scope='module')
def model():
    return narrowed_model(CONFIG, RULES['setr'], REF)


def test_the_user_config_computes_mmsegs_setr_pup(model):
    main, feats = outputs(model, REF)
    assert_matches(main, REF['outputs']['main'], 'main')
    for i, head in enumerate(model.auxiliary_head):  # on layers 1, 2, 3 of the narrow ViT
        assert_matches(sample(head.forward(feats), REF['stride']), REF['outputs'][f'aux{i}'],
                       f'auxiliary head {i}')
    assert count_params(model) == (REF['num_parameters'], REF['num_parameters_without_aux'])


def test_mmsegs_released_vit_l_layout_converts_with_the_rules_options():
    model = released_layout_converts(CONFIG, RULES['setr'], REF)
    assert count_params(model) == (REF['num_parameters_full'],
                                   REF['num_parameters_full_without_aux'])
    with pytest.raises(UserError, match='not a setr checkpoint'):
        convert(layout(load('pspnet')), RULES['setr'], model.state_dict())
