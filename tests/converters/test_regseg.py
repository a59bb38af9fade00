"""RegSeg (configs/regseg_celebamask.py) computes what the authors' model computes: their
``RegSeg("exp48_decoder26", num_classes=19)`` (RolandGao/RegSeg) run once on formula weights
(``tests/data/reference/regseg.json``: the logits upsampled to the image), the same weights
converted by the ``regseg`` rule table into the user config's model."""
import os

import pytest
import torch

from faceparse_mm.converters import RULES, convert
from faceparse_mm.errors import UserError
from faceparse_mm.utils.build import build_segmentor, count_params
from tests.converters.reference import (
    ROOT,
    assert_matches,
    formula_input,
    formula_state_dict,
    load,
    sample,
)

REF = load('regseg')
CONFIG = os.path.join(ROOT, 'configs', 'regseg_celebamask.py')


@pytest.fixture(scope='module')
def converted():
    torch.set_num_threads(1)
    model = build_segmentor(CONFIG).eval()
    source = formula_state_dict(REF['keys'])
    model.load_state_dict(convert(source, RULES['regseg'], model.state_dict()), strict=True)
    return model, source


def test_the_user_config_computes_the_authors_regseg(converted):
    model, _ = converted
    x = formula_input(REF['input_shape'])
    height, width = x.shape[2:]
    meta = dict(img_shape=(height, width), ori_shape=(height, width), pad_shape=(height, width))
    with torch.no_grad():
        logits = model.encode_decode(x, [meta])
    assert_matches(sample(logits, REF['stride']), REF['outputs']['logits'], 'logits')


def test_the_authors_count_and_a_foreign_checkpoint(converted):
    model, source = converted
    assert count_params(model) == (REF['num_parameters'], REF['num_parameters'])
    with pytest.raises(UserError, match='not a regseg checkpoint'):
        convert({k: v for k, v in source.items() if not k.startswith('decoder.')},
                RULES['regseg'], model.state_dict())
    assert RULES['regseg'].dataset_meta['classes'][0] == 'road'  # Cityscapes' 19
