"""SFNet-R18 (configs/sfnet-r18_celebamask.py) computes what the authors' model computes: their
``AlignNetResNet(trunk='resnet-18-deep', variant='D', fpn_dsn=True)`` (lxtGH/SFSegNets) run once
on formula weights (``tests/data/reference/sfnet_r18.json``), the same weights converted by the
``sfnet`` rule table into the user config's model."""
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

REF = load('sfnet_r18')
CONFIG = os.path.join(ROOT, 'configs', 'sfnet-r18_celebamask.py')
#: the authors' deep-supervision outputs (1/16, 1/8, 1/4) and the auxiliary head that is each
DSN = (('dsn_16', 0), ('dsn_8', 1), ('dsn_4', 2))


@pytest.fixture(scope='module')
def converted():
    model = build_segmentor(CONFIG).eval()
    source = formula_state_dict(REF['keys'])
    model.load_state_dict(convert(source, RULES['sfnet'], model.state_dict()), strict=True)
    return model, source


def test_the_user_config_computes_the_authors_sfnet_r18(converted):
    model, _ = converted
    x = formula_input(REF['input_shape'])
    height, width = x.shape[2:]
    meta = dict(img_shape=(height, width), ori_shape=(height, width), pad_shape=(height, width))
    with torch.no_grad():
        main = model.encode_decode(x, [meta])
        feats = model.extract_feat(x)
        dsn = {name: model.auxiliary_head[i](feats) for name, i in DSN}
        stages = dict(zip(('layer3', 'layer4'), model.backbone(x)[2:]))
    for name, out in stages.items():  # where the authors' variant 'D' dilation acts
        assert_matches(sample(out, REF['stride']), REF['outputs'][name], name)
    assert_matches(sample(main, REF['stride']), REF['outputs']['main'], 'main')
    for name, out in dsn.items():  # the deep-supervision heads, converted from head.dsn.*
        assert_matches(sample(out, REF['stride']), REF['outputs'][name], name)


def test_the_authors_count_and_the_checkpoint_without_deep_supervision(converted):
    model, source = converted
    total, inference = count_params(model)
    # ours leaves out the biases of the three lateral 1x1 convs and of the three 3x3 convs of
    # the deep-supervision heads (each folded into the BatchNorm after it)
    assert total == REF['num_parameters'] - 2 * 3 * 128
    assert inference == REF['num_parameters_without_dsn'] - 3 * 128
    plain = {k: v for k, v in source.items() if '.dsn.' not in k}
    out = convert(plain, RULES['sfnet'], model.state_dict())
    assert set(out) == {k for k in model.state_dict() if not k.startswith('auxiliary_head.')}
    with pytest.raises(UserError, match='not a sfnet checkpoint'):
        convert({k: v for k, v in source.items() if not k.startswith('head.')}, RULES['sfnet'],
                model.state_dict())
