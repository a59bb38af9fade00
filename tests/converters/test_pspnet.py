"""PSPNet R50-D8 (configs/pspnet-r50-d8_celebamask.py) computes what mmseg 1.2.2's own
``pspnet_r50-d8`` Cityscapes model computes: that model, narrowed (ResNet-50 widths / 4, heads
narrowed), run once on formula weights (``tests/data/reference/pspnet.json``); the user config
with the same narrowing, loaded through the ``pspnet`` rule table, must match it, and mmseg's
released checkpoint layout must convert into the user config's whole model."""
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

REF = load('pspnet')
CONFIG = os.path.join(ROOT, 'configs', 'pspnet-r50-d8_celebamask.py')


@pytest.fixture(scope='module')
def model():
    return narrowed_model(CONFIG, RULES['pspnet'], REF)


def test_the_user_config_computes_mmsegs_pspnet(model):
    main, feats = outputs(model, REF)
    assert_matches(main, REF['outputs']['main'], 'main')
    aux = model.auxiliary_head.forward(feats)
    assert_matches(sample(aux, REF['stride']), REF['outputs']['aux'], 'auxiliary head')
    assert count_params(model) == (REF['num_parameters'], REF['num_parameters_without_aux'])


def test_mmsegs_released_layout_converts_and_the_count_is_mmsegs():
    model = released_layout_converts(CONFIG, RULES['pspnet'], REF)
    assert count_params(model) == (REF['num_parameters_full'],
                                   REF['num_parameters_full_without_aux'])
    with pytest.raises(UserError, match='not a pspnet checkpoint'):
        convert(layout(load('hrnet')), RULES['pspnet'], model.state_dict())
