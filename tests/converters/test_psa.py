"""PSA_s + OCRNet-HRNet (configs/psa-ocrnet-hrnet-w18_celebamask.py) computes what the authors'
model computes (DeLightCMU/PSA, NVIDIA's HRNet-OCR with a PSA_s module in every BasicBlock,
``ocrnet.HRNet_Mscale`` at one scale), run once on formula weights
(``tests/data/reference/psa.json``): their whole network at narrow widths and one PSA_s module;
the same weights converted by the ``psa`` rule table into the user config's modules."""
import copy
import os

import pytest
import torch
from mmengine.config import ConfigDict

from faceparse_mm.converters import RULES, convert
from faceparse_mm.errors import UserError
from faceparse_mm.models.modules import PolarizedSelfAttention
from faceparse_mm.registry import MODELS
from faceparse_mm.utils.build import count_params
from tests.converters.deep_stem import model_cfg
from tests.converters.reference import (
    ROOT,
    assert_matches,
    formula_input,
    formula_state_dict,
    load,
    sample,
)

REF = load('psa')
CONFIG = os.path.join(ROOT, 'configs', 'psa-ocrnet-hrnet-w18_celebamask.py')
#: where the released layout holds a PSA_s module (any block's ``deattn``)
BLOCK = 'backbone.stage2.0.branches.0.0.'


def _narrow_cfg() -> dict:
    """The user config's model at the reference's widths (HRNet extra, OCR widths)."""
    cfg = copy.deepcopy(model_cfg(CONFIG))
    extra = REF['arguments']['model']['OCR_EXTRA']
    for i in range(1, 5):
        theirs = extra[f'STAGE{i}']
        cfg['backbone']['extra'][f'stage{i}'].update(
            num_modules=theirs['NUM_MODULES'], num_blocks=tuple(theirs['NUM_BLOCKS']),
            num_channels=tuple(theirs['NUM_CHANNELS']))
    widths = list(extra['STAGE4']['NUM_CHANNELS'])
    aux, ocr = cfg['decode_head']
    aux.update(in_channels=widths, channels=sum(widths))
    ocr.update(in_channels=widths, channels=REF['arguments']['model']['OCR_MID_CHANNELS'],
               ocr_channels=REF['arguments']['model']['OCR_KEY_CHANNELS'])
    return cfg


@pytest.fixture(scope='module')
def model():
    model = MODELS.build(ConfigDict(_narrow_cfg()))
    source = formula_state_dict({k: tuple(s) for k, s in REF['keys'].items()})
    model.load_state_dict(convert(source, RULES['psa'], model.state_dict()), strict=True)
    return model.eval()


def test_the_user_config_computes_the_authors_hrnet_ocr_with_psa_s(model):
    x = formula_input(REF['input_shape']['model'])
    size = tuple(x.shape[2:])
    meta = dict(img_shape=size, ori_shape=size, pad_shape=size)
    stride = REF['stride']
    with torch.no_grad():
        feats = model.extract_feat(x)
        aux = model.decode_head[0].forward(feats)
        logits = model.encode_decode(x, [meta])
        concat = model.decode_head[0]._transform_inputs(feats)
    aux = torch.nn.functional.interpolate(aux, size, mode='bilinear', align_corners=False)
    assert_matches(sample(concat, stride['feats']), REF['outputs']['feats'], 'backbone')
    assert_matches(sample(aux, stride['aux']), REF['outputs']['aux'], 'soft object regions')
    assert_matches(sample(logits, stride['logits']), REF['outputs']['logits'], 'logits')


def test_the_default_psa_s_module_is_the_authors():
    """One PSA_s module built with the config's plug-in arguments (the spatial softmax on the
    values over the positions, before the product, by default), weights through the rule
    table."""
    plugin = dict(model_cfg(CONFIG)['backbone']['plugins'][0]['cfg'])
    assert plugin.pop('type') == 'PolarizedSelfAttention'
    module = PolarizedSelfAttention(REF['arguments']['psa_s']['planes'], **plugin).eval()
    source = formula_state_dict({BLOCK + 'deattn.' + k: tuple(s)
                                 for k, s in REF['psa_keys'].items()})
    prefix = BLOCK + 'polarized_self_attention.'
    out = {RULES['psa'].rename(k): v for k, v in source.items()}
    assert all(k.startswith(prefix) for k in out)
    module.load_state_dict({k[len(prefix):]: v for k, v in out.items()}, strict=True)
    with torch.no_grad():
        y = module(formula_input(REF['input_shape']['psa_s']))
    assert_matches(sample(y, REF['stride']['psa_s']), REF['outputs']['psa_s'], 'PSA_s')


def test_the_multiscale_head_is_dropped_and_another_layout_refused(model):
    """``scale_attn`` (their multi-scale inference head) is dropped by name and nothing else is;
    the converted model's count is the authors' narrow model less that head and the two folded
    biases. A checkpoint of another layout is refused. (The released W48 layout, converted
    against ``model_options``, was checked once where the reference was made.)"""
    source = {k: torch.empty(s, device='meta') for k, s in REF['keys'].items()}
    ours = {k: v.to('meta') for k, v in model.state_dict().items()}
    plain = {k: v for k, v in source.items() if not k.startswith('scale_attn.')}
    assert set(convert(source, RULES['psa'], ours)) == set(convert(plain, RULES['psa'], ours))
    head = sum(v.numel() for k, v in source.items() if k.startswith('scale_attn.')
               and 'running_' not in k and 'num_batches_tracked' not in k)
    widths = REF['arguments']['model']
    folded = widths['OCR_MID_CHANNELS'] + sum(widths['OCR_EXTRA']['STAGE4']['NUM_CHANNELS'])
    assert count_params(model)[0] == REF['num_parameters'] - head - folded
    with pytest.raises(UserError, match='not a psa checkpoint'):
        convert({k: v for k, v in source.items() if not k.startswith('ocr.')}, RULES['psa'],
                ours)
