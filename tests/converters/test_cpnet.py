"""CPNet R50-D8 (configs/cpnet-r50-d8_celebamask.py) computes what the authors' CPNet computes
(ycszen/ContextPrior), run once on formula weights and inputs (``tests/data/reference/cpnet.json``):
their ``CPHead`` at a narrow width, weights converted by the ``cpnet`` rule table into the user
config's head; their ``AffinityLoss`` on formula prior logits and label maps (a typical one, a
one-class crop, one with a one-pixel class), against the user config's affinity loss."""
import os

import pytest
import torch
from mmengine.config import ConfigDict

from faceparse_mm.converters import RULES, convert
from faceparse_mm.errors import UserError
from faceparse_mm.models.losses import ideal_affinity
from faceparse_mm.registry import MODELS
from faceparse_mm.utils.build import count_params
from tests.converters.deep_stem import converted, full_layout, model_cfg, narrowed
from tests.converters.reference import (
    ROOT,
    RTOL,
    assert_matches,
    formula_input,
    load,
    sample,
)

REF = load('cpnet')
CONFIG = os.path.join(ROOT, 'configs', 'cpnet-r50-d8_celebamask.py')


@pytest.fixture(scope='module')
def head():
    theirs = REF['arguments']['head']
    cfg = model_cfg(CONFIG)['decode_head']
    return converted(RULES['cpnet'], REF, decode_head=narrowed(
        cfg, in_channels=theirs['in_channels'], channels=theirs['channels'],
        prior_channels=theirs['prior_channels'], prior_size=tuple(theirs['prior_size']),
        aggregation_kernel=theirs['am_kernel_size'])).decode_head


def test_the_user_config_computes_the_authors_context_prior_head(head):
    x = formula_input(REF['input_shape']['head'])
    with torch.no_grad():
        logits, prior = head([None, None, None, x])
    assert_matches(sample(logits, REF['stride']), REF['outputs']['logits'], 'logits')
    # their head returns the sigmoid map, ours its logits (the loss takes logits)
    assert_matches(sample(torch.sigmoid(prior)[None], REF['stride']), REF['outputs']['prior'],
                   'context prior map')


@pytest.mark.parametrize('pattern', ['typical', 'one_class', 'lone_pixel'])
def test_the_user_configs_affinity_loss_is_the_authors(head, pattern):
    """The config's loss (built from its ``loss_prior``) on the reference's prior logits and the
    ideal affinity our head builds from the same labels on its grid."""
    loss = MODELS.build(ConfigDict(model_cfg(CONFIG)['decode_head']['loss_prior']))
    shape = REF['input_shape']['prior_logits']
    logits = REF['prior_logits_scale'] * formula_input(shape)[:, 0]
    label = torch.tensor(REF['losses'][pattern]['label'])
    target = ideal_affinity(label, head.prior_size)
    expected = REF['losses'][pattern]['loss']
    value = loss(logits, target).item()
    assert abs(value - expected) <= RTOL * abs(expected), f'{pattern}: {value} vs {expected}'


def test_the_authors_whole_layout_converts_and_the_count_is_theirs():
    model = full_layout(RULES['cpnet'], REF, CONFIG)
    assert count_params(model) == (REF['num_parameters'], REF['num_parameters_inference'])
    source = {k: torch.empty(s, device='meta') for k, s in REF['checkpoint_keys'].items()
              if not k.startswith('decode_head.aggregation.')}
    with pytest.raises(UserError, match='not a cpnet checkpoint'):
        convert(source, RULES['cpnet'], model.state_dict())
