"""TDNet TD4-PSP18 (configs/tdnet-td4-psp18_facevideo.py) computes what the authors' model
computes: their ``td4_psp18(nclass=19, path_num=4)`` (feinanshan/TDNet) run once on formula
weights over seven frames of a 64 x 96 clip (``tests/data/reference/tdnet.json``; frames 0-2
without propagation, 3-6 through every sub-network with the three frames before), the same
weights converted by the ``tdnet`` rule table into the user config's model. The reference is a
narrow variant (ResNet base width 16, keys 16-d) so that it runs in a CPU test; ours is the user
config narrowed by the same arguments. Their layer norm's shape is the feature size of their
input, so both run it at the 8 x 12 of this input (the config's (97, 193) is theirs at
769 x 1537)."""
import os

import pytest
import torch
from mmengine.config import Config

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

REF = load('tdnet')
CONFIG = os.path.join(ROOT, 'configs', 'tdnet-td4-psp18_facevideo.py')


def narrowed(cfg: Config) -> Config:
    """The user config at the reference's widths (read from its keys) and norm size."""
    keys, model = REF['keys'], cfg.model
    width = keys['pretrained1.conv1.weight'][0]
    channels = 8 * width  # stage 4, and the pyramid-pooled slice
    model.backbone.update(stem_channels=width, base_channels=width)
    model.update(in_channels=channels, key_channels=keys['enc1.w_qs.0.conv.weight'][0],
                 norm_size=tuple(keys['layer_norm1.ln.weight']))
    model.decode_head.update(in_channels=channels, channels=channels // 4)
    model.auxiliary_head.update(in_channels=channels // 2, channels=channels // 8)
    return cfg


@pytest.fixture(scope='module')
def converted():
    cfg = Config.fromfile(CONFIG)
    # the authors' norm and backbone by default
    assert cfg.model.output_norm == 'spatial' and tuple(cfg.model.norm_size) == (97, 193)
    assert tuple(cfg.model.backbone.conv2_dilations) == (1, 1, 2, 4)
    model = build_segmentor(narrowed(cfg)).eval()
    source = formula_state_dict(REF['keys'])
    state = convert(source, RULES['tdnet'], model.state_dict())
    # the auxiliary heads (training only) are not in the release
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected and missing and all(k.startswith('auxiliary_head.') for k in missing)
    return model, source


def test_the_user_config_computes_the_authors_td4_psp18_over_a_clip(converted):
    """Every frame's logits, and for frames 3-6 the values propagated from the three frames
    before (the last attention step's output: the authors' layer norm of each channel's map
    cancels what of them is constant over the map, so the logits alone pin them weakly)."""
    model, _ = converted
    propagated = []
    hooks = [step.register_forward_hook(
        lambda mod, args, out: propagated.append(out) if out.dim() == 4 else None)
        for step in model.propagation.values()]
    x = formula_input(REF['input_shape'])
    try:
        with torch.no_grad():
            for t in range(x.shape[0]):  # one stream, sub-network t mod 4 at frame t
                out = model.encode_decode(x[t:t + 1], [dict(clip='ref', frame_index=t)])
                assert_matches(sample(out, REF['stride']), REF['outputs'][f'frame{t}'],
                               f'frame{t}')
                assert len(propagated) == max(0, t - 2)
                if t >= 3:
                    assert_matches(sample(propagated[-1], REF['stride_propagated']),
                                   REF['outputs'][f'propagated{t}'], f'propagated{t}')
    finally:
        for hook in hooks:
            hook.remove()


def test_the_authors_count_and_a_checkpoint_of_another_layout(converted):
    model, source = converted
    _, inference = count_params(model)
    # ours leaves out the biases of the first query and key convs (folded into their BNs) and
    # the ImageNet classifiers, here and at full width (tests/models/test_tdnet.py counts the
    # user config: 52,777,556)
    key_channels = REF['keys']['enc1.w_qs.0.conv.bias'][0]
    assert inference == REF['num_parameters_without_fc'] - 4 * 2 * key_channels
    assert REF['num_parameters_td4_psp18_without_fc'] - 4 * 2 * 64 == 52_777_556
    with pytest.raises(UserError, match='not a tdnet checkpoint'):
        convert({k: v for k, v in source.items() if not k.startswith('atn')}, RULES['tdnet'],
                model.state_dict())
