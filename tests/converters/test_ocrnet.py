"""OCRNet-HRNetV2-W18 (configs/ocrnet-hrnet-w18_celebamask.py) computes what mmseg 1.2.2's own
``ocrnet_hr18`` Cityscapes model computes: that model on the shallow HRNet-W18 of
``hrnet.json`` with both heads at full width, run once on formula weights
(``tests/data/reference/ocrnet.json``); the user config with the same narrowing, loaded through
the ``ocrnet`` rule table, must match it, and mmseg's released checkpoint layout must convert
into the user config's whole model."""
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

REF = load('ocrnet')
CONFIG = os.path.join(ROOT, 'configs', 'ocrnet-hrnet-w18_celebamask.py')


@pytest.fixture(scope='module')
def model():
    return narrowed_model(CONFIG, RULES['ocrnet'], REF)


def test_the_user_config_computes_mmsegs_ocrnet_hrnet_w18(model):
    main, feats = outputs(model, REF)
    regions = model.decode_head[0].forward(feats)  # the soft object regions the OCR head reads
    assert_matches(sample(regions, REF['stride']), REF['outputs']['regions'], 'regions')
    assert_matches(main, REF['outputs']['main'], 'main')
    assert count_params(model) == (REF['num_parameters'], REF['num_parameters_without_aux'])


def test_mmsegs_released_layout_converts_and_the_count_is_mmsegs():
    model = released_layout_converts(CONFIG, RULES['ocrnet'], REF)
    assert count_params(model) == (REF['num_parameters_full'],
                                   REF['num_parameters_full_without_aux'])
    with pytest.raises(UserError, match='not a ocrnet checkpoint'):  # FCN-HRNet's single head
        convert(layout(load('hrnet')), RULES['ocrnet'], model.state_dict())
