"""Dynamic Routing (configs/dynamic-routing-l16_celebamask.py) computes what the authors' model
computes (yanwei-li/DynamicRouting, ``DynamicNet4Seg`` of ``playground/Dynamic/Seg.Layer16``), run
once on formula weights (``tests/data/reference/dynamic_routing.json``): their Layer16 space
narrowed to 16 channels at 1/4 (their ``INIT_CHANNEL``; the stem keeps 64) and cut to its first
5 layers (their ``LAYER_NUM``), the decoder on its four outputs; the same weights converted by
the ``dynamic_routing`` rule table into the user config's model with the same arguments.

On these weights about half of the routes close, cells close for the whole image and cells are
reached by closed routes only, so inference skipping is exercised: the user config (skipping on,
the default) must compute the authors' training computation, which every cell and route
computes (skipping off). The authors' own inference shortcut drops a cell that receives only
the routes of dropped cells (computed on a zero map in training); the file's
``inference.logits`` holds it, 0.09% of the largest logit away, and the user config does not
follow it."""
import os

import pytest
import torch
from mmengine.config import Config

from faceparse_mm.converters import RULES, convert
from faceparse_mm.errors import UserError
from faceparse_mm.utils.build import build_segmentor
from tests.converters.reference import (
    ROOT,
    assert_matches,
    formula_input,
    formula_state_dict,
    load,
    sample,
)

REF = load('dynamic_routing')
CONFIG = os.path.join(ROOT, 'configs', 'dynamic-routing-l16_celebamask.py')


@pytest.fixture(scope='module')
def model():
    overrides = REF['arguments']['overrides']
    c = overrides['MODEL.BACKBONE.INIT_CHANNEL']
    cfg = Config.fromfile(CONFIG).model
    cfg.backbone.update(base_channels=c, num_layers=overrides['MODEL.BACKBONE.LAYER_NUM'])
    cfg.decode_head.update(in_channels=(c, 2 * c, 4 * c, 8 * c), channels=c)
    model = build_segmentor(Config(dict(model=cfg))).eval()
    weights = formula_state_dict({k: tuple(s) for k, s in REF['keys'].items()})
    model.load_state_dict(convert(weights, RULES['dynamic_routing'], model.state_dict()))
    return model


def _outputs(model, skip):
    model.backbone.skip_closed = skip
    with torch.no_grad():
        feats = model.backbone(formula_input(REF['input_shape']))
        logits = model.decode_head(feats)
    return dict({f'layer_{s}': f for s, f in enumerate(feats)}, logits=logits)


@pytest.mark.parametrize('skip', [True, False], ids=['skipping (the config)', 'no skipping'])
def test_the_user_config_computes_the_authors_model(model, skip):
    assert Config.fromfile(CONFIG).model.backbone.skip_closed is True
    out = _outputs(model, skip)
    for name in ('layer_0', 'layer_1', 'layer_2', 'layer_3', 'logits'):
        assert_matches(sample(out[name], REF['stride']), REF['outputs'][name], name)
    cost = model.backbone.last_cost
    if skip:  # the weights do exercise skipping
        assert cost['cells_run'] < cost['cells'] - 5 and cost['constant'] > 0


def test_the_rules_refuse_another_checkpoint_and_carry_cityscapes_meta(model):
    rules = RULES['dynamic_routing']
    other = {k: torch.zeros(1) for k in ('cp.resnet.conv1.weight', 'ffm.convblk.conv.weight')}
    with pytest.raises(UserError, match='not a dynamic_routing checkpoint'):
        convert(other, rules, model.state_dict())
    assert len(rules.dataset_meta['classes']) == 19 and rules.dataset_meta['classes'][0] == 'road'
    assert rules.config == 'configs/dynamic-routing-l16_celebamask.py'
