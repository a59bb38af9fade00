"""FCN-HRNetV2-W18 (configs/fcn-hrnet-w18_celebamask.py) computes what mmseg 1.2.2's own
``fcn_hr18`` Cityscapes model computes: that model at W18 widths with one block per branch and
fewer modules (through the full depth formula weights grow activations to about 1e25), run once
on formula weights (``tests/data/reference/hrnet.json``); the user config with the same
narrowing, loaded through the ``hrnet`` rule table, must match it, and mmseg's released
checkpoint layout must convert into the user config's whole model."""
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

REF = load('hrnet')
CONFIG = os.path.join(ROOT, 'configs', 'fcn-hrnet-w18_celebamask.py')


@pytest.fixture(scope='module')
def model():
    return narrowed_model(CONFIG, RULES['hrnet'], REF)


def test_the_user_config_computes_mmsegs_fcn_hrnet_w18(model):
    main, feats = outputs(model, REF)
    for i, feat in enumerate(feats):  # the four branches at 1/4 .. 1/32
        assert_matches(sample(feat, REF['stride']), REF['outputs'][f'branch{i}'], f'branch{i}')
    assert_matches(main, REF['outputs']['main'], 'main')
    assert count_params(model) == (REF['num_parameters'], REF['num_parameters_without_aux'])


def test_mmsegs_released_layout_converts_and_the_count_is_mmsegs():
    model = released_layout_converts(CONFIG, RULES['hrnet'], REF)
    assert count_params(model) == (REF['num_parameters_full'],
                                   REF['num_parameters_full_without_aux'])
    with pytest.raises(UserError, match='not a hrnet checkpoint'):  # OCRNet's cascade
        convert(layout(load('ocrnet')), RULES['hrnet'], model.state_dict())
