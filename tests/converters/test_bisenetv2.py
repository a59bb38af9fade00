"""BiSeNet V2 (configs/bisenetv2_celebamask.py) computes what the authors' model computes: their
``BiSeNetV2(n_classes=19, aux_mode='train')`` (CoinCheung/BiSeNet) run once on formula weights
(``tests/data/reference/bisenetv2.json``: the main logits and the four boosters' logits), the
same weights converted by the ``bisenetv2`` rule table into the user config's model."""
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

REF = load('bisenetv2')
CONFIG = os.path.join(ROOT, 'configs', 'bisenetv2_celebamask.py')
#: the authors' booster outputs and the auxiliary head that is each
BOOSTERS = (('logits_aux2', 0), ('logits_aux3', 1), ('logits_aux4', 2), ('logits_aux5_4', 3))


@pytest.fixture(scope='module')
def converted():
    torch.set_num_threads(1)
    model = build_segmentor(CONFIG).eval()
    source = formula_state_dict(REF['keys'])
    model.load_state_dict(convert(source, RULES['bisenetv2'], model.state_dict()), strict=True)
    return model, source


def _resize(logits, like):
    # the authors' last step in every head: bilinear to the image, align_corners=False
    return torch.nn.functional.interpolate(logits, size=like.shape[2:], mode='bilinear',
                                           align_corners=False)


def test_the_user_config_computes_the_authors_bisenetv2(converted):
    model, _ = converted
    x = formula_input(REF['input_shape'])
    height, width = x.shape[2:]
    meta = dict(img_shape=(height, width), ori_shape=(height, width), pad_shape=(height, width))
    with torch.no_grad():
        main = model.encode_decode(x, [meta])
        feats = model.extract_feat(x)
        boosters = {name: _resize(model.auxiliary_head[i](feats), x) for name, i in BOOSTERS}
    assert_matches(sample(main, REF['stride']), REF['outputs']['logits'], 'logits')
    for name, out in boosters.items():
        assert_matches(sample(out, REF['stride']), REF['outputs'][name], name)


def test_the_authors_count_and_a_checkpoint_without_boosters(converted):
    model, source = converted
    assert count_params(model) == (REF['num_parameters'], REF['num_parameters_inference'])
    plain = {k: v for k, v in source.items() if not k.startswith('aux')}
    out = convert(plain, RULES['bisenetv2'], model.state_dict())
    assert set(out) == {k for k in model.state_dict() if not k.startswith('auxiliary_head.')}
    with pytest.raises(UserError, match='not a bisenetv2 checkpoint'):
        convert({k: v for k, v in source.items() if not k.startswith('bga.')},
                RULES['bisenetv2'], model.state_dict())
    assert RULES['bisenetv2'].dataset_meta['classes'][-1] == 'bicycle'  # Cityscapes' 19
