"""The shared conversion mechanism on small modules: what a converted model computes equals what
the source model computed."""
import pytest
import torch
from torch import nn

from faceparse_mm.converters import ConversionRules, convert, load_source_state
from faceparse_mm.errors import UserError


class Source(nn.Module):
    """The authors' layout: a conv with a bias before its BN, a Conv1d over flattened pixels."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1, bias=True)
        self.bn = nn.BatchNorm2d(4)
        self.proj = nn.Conv1d(4, 5, 1)

    def forward(self, x):
        y = self.bn(self.conv(x))
        n, c, h, w = y.shape
        return self.proj(y.flatten(2)).reshape(n, -1, h, w)


class Ours(nn.Module):
    """Ours: the conv without bias (BN follows), the projection a 1x1 Conv2d."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4))
        self.head = nn.Conv2d(4, 5, 1)

    def forward(self, x):
        return self.head(self.stem(x))


RULES = ConversionRules(
    name='toy', source_repo='-', source_model='Source()', config='-', model_config='-',
    renames=((r'conv\.weight', 'stem.0.weight'), (r'bn\.(.*)', r'stem.1.\1'),
             (r'proj\.(.*)', r'head.\1')),
    fold_bias=((r'conv\.bias', 'stem.1.running_mean'),),
    unsqueeze=(r'head\.weight',),
    signature=('conv.weight', 'proj.weight'))


def _randomised(module, seed=0):
    g = torch.Generator().manual_seed(seed)
    for name, t in module.state_dict().items():
        if name.endswith('running_var'):
            t.copy_(0.5 + torch.rand(t.shape, generator=g))
        elif t.is_floating_point():
            t.copy_(torch.randn(t.shape, generator=g))
    return module.eval()


def test_a_converted_model_computes_what_the_source_computed():
    source = _randomised(Source())
    ours = Ours().eval()
    converted = convert(source.state_dict(), RULES, ours.state_dict())
    ours.load_state_dict(converted, strict=True)
    x = torch.randn(2, 3, 6, 7)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), source(x), atol=1e-5, rtol=1e-5)
    # the bias went into the running mean, nowhere else
    torch.testing.assert_close(converted['stem.1.running_mean'],
                               source.bn.running_mean - source.conv.bias)


def test_every_tensor_is_used_once_and_every_model_tensor_filled():
    source = _randomised(Source()).state_dict()
    reference = Ours().state_dict()
    twice = ConversionRules(**{**RULES.__dict__, 'renames': (
        (r'conv\.weight', 'stem.0.weight'), (r'bn\.running_var', 'stem.1.running_mean'),
        (r'bn\.(.*)', r'stem.1.\1'), (r'proj\.(.*)', r'head.\1'))})
    with pytest.raises(UserError, match=r"model keys filled twice: \['stem.1.running_mean'\]"):
        convert(source, twice, reference)
    unfolded = ConversionRules(**{**RULES.__dict__, 'fold_bias': ()})
    with pytest.raises(UserError, match=r"unknown source keys: \['conv.bias'\]"):
        convert(source, unfolded, reference)
    less = {k: v for k, v in source.items() if k != 'bn.running_var'}
    with pytest.raises(UserError, match=r"model keys with no source: \['stem.1.running_var'\]"):
        convert(less, RULES, reference)


def test_a_checkpoint_of_another_layout_is_refused_in_one_line():
    with pytest.raises(UserError, match=r"^not a toy checkpoint \(Source\(\)\): it has no "
                                        r"'proj.weight'$"):
        convert({'conv.weight': torch.zeros(4, 3, 3, 3)}, RULES, Ours().state_dict())


@pytest.mark.parametrize('wrapper', [None, 'state_dict', 'model'])
def test_released_layouts_are_unwrapped(tmp_path, wrapper):
    state = {'module.conv.weight': torch.ones(1)}
    path = tmp_path / 'ckpt.pth'
    torch.save(state if wrapper is None else {wrapper: state, 'iteration': 5}, path)
    assert list(load_source_state(str(path))) == ['module.conv.weight']
    torch.save({'iteration': 5}, path)
    with pytest.raises(UserError, match='is not a state dict'):
        load_source_state(str(path))
    with pytest.raises(UserError, match='checkpoint file not found'):
        load_source_state(str(tmp_path / 'none.pth'))


def test_an_optional_part_is_left_out_whole_or_filled_whole():
    """``optional``: a release without the head converts (the head keeps its init); a release
    with half of it is refused, naming the half that is missing."""
    source = _randomised(Source()).state_dict()
    reference = Ours().state_dict()
    optional = ConversionRules(**{**RULES.__dict__, 'signature': ('conv.weight',),
                                  'optional': (r'head\..*',)})
    without_head = {k: v for k, v in source.items() if not k.startswith('proj.')}
    assert set(convert(without_head, optional, reference)) == {
        k for k in reference if not k.startswith('head.')}
    required = ConversionRules(**{**RULES.__dict__, 'signature': ('conv.weight',)})
    with pytest.raises(UserError, match=r"model keys with no source: \['head.bias', "
                                        r"'head.weight'\]"):
        convert(without_head, required, reference)
    half = {k: v for k, v in source.items() if k != 'proj.weight'}
    with pytest.raises(UserError, match=r"model keys with no source: \['head.weight'\]"):
        convert(half, optional, reference)


class SharedSource(nn.Module):
    """One projection under two names (``key`` is ``query``): the state dict lists it twice."""

    def __init__(self):
        super().__init__()
        self.key = nn.Conv2d(3, 4, 1)
        self.query = self.key


def test_a_second_name_of_one_tensor_is_checked_and_used_up_once():
    source = _randomised(SharedSource()).state_dict()
    assert set(source) == {'key.weight', 'key.bias', 'query.weight', 'query.bias'}
    ours = nn.Module()
    ours.proj = nn.Conv2d(3, 4, 1)
    rules = ConversionRules(
        name='shared', source_repo='-', source_model='SharedSource()', config='-',
        model_config='-', renames=((r'key\.(.*)', r'proj.\1'),),
        aliases=((r'query\.(.*)', r'key.\1'),))
    out = convert(source, rules, ours.state_dict())
    assert set(out) == {'proj.weight', 'proj.bias'}
    torch.testing.assert_close(out['proj.weight'], source['key.weight'])
    # two different tensors under the two names are not one module's: refused
    differing = dict(source, **{'query.bias': source['key.bias'] + 1})
    with pytest.raises(UserError, match='query.bias is not the same tensor as key.bias'):
        convert(differing, rules, ours.state_dict())
    # without the alias rule the second name is an unknown key
    with pytest.raises(UserError, match=r"unknown source keys: \['query.bias', 'query.weight'\]"):
        convert(source, ConversionRules(**{**rules.__dict__, 'aliases': ()}), ours.state_dict())


class ClassifierSource(Source):
    """The authors' layout plus an ImageNet classifier that segmentation never runs."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 10)


def test_unused_source_parts_are_dropped_by_name_and_nothing_else():
    """``unused``: the classifier's keys are dropped and the rest converts as before; without
    the rule they are unknown keys; the rule drops only what it names."""
    source = _randomised(ClassifierSource()).state_dict()
    ours = Ours().eval()
    rules = ConversionRules(**{**RULES.__dict__, 'unused': (r'fc\..*',)})
    out = convert(source, rules, ours.state_dict())
    plain = convert({k: v for k, v in source.items() if not k.startswith('fc.')}, RULES,
                    ours.state_dict())
    assert set(out) == set(plain) == set(ours.state_dict())
    for k in out:
        torch.testing.assert_close(out[k], plain[k])
    with pytest.raises(UserError, match=r"unknown source keys: \['fc.bias', 'fc.weight'\]"):
        convert(source, RULES, ours.state_dict())
    narrow = ConversionRules(**{**RULES.__dict__, 'unused': (r'fc\.weight',)})
    with pytest.raises(UserError, match=r"unknown source keys: \['fc.bias'\]"):
        convert(source, narrow, ours.state_dict())


def test_model_options_build_the_wider_variant_a_release_needs(tmp_path):
    """``model_options``: a release of a wider variant than the config's default converts against
    the config with those options (and only with them); the converted checkpoint records them."""
    import tests.toy  # noqa: F401  (registers ToyBackbone)
    from faceparse_mm.converters.core import convert_file, reference_state_dict

    options = {'model.backbone.channels': 16, 'model.decode_head.in_channels': 16}
    wide = reference_state_dict('tests/data/toy_config.py', options)
    assert wide['decode_head.convs.0.conv.weight'].shape[1] == 16
    rules = ConversionRules(name='toy_wide', source_repo='-', source_model='-',
                            config='tests/data/toy_config.py',
                            model_config='tests/data/toy_config.py',
                            renames=((r'(.*)', r'\1'),), model_options=options)
    assert set(convert(wide, rules)) == set(wide)
    with pytest.raises(UserError, match='shape mismatches'):
        convert(wide, ConversionRules(**{**rules.__dict__, 'model_options': {}}))
    torch.save(wide, tmp_path / 'wide.pth')
    convert_file(str(tmp_path / 'wide.pth'), str(tmp_path / 'out.pth'), rules)
    assert torch.load(tmp_path / 'out.pth')['meta']['cfg_options'] == options
