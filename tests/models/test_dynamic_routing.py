"""Dynamic Routing: the soft gate, the cell and its routes, the routing space against the authors'
Layer16 tables, skipping (a closed cell runs nothing and equals the space without it; skipping
computes what nothing skipped computes, cells reached by nothing included), the cost
accounting (executed MACs = the convolutions that ran; expected = the gated node costs), the
budget loss (zero at the budget, gradient into the gates, schedule), the segmentor's losses, the
top-down decoder, and the parameter counts against the authors' Layer16."""
import copy
import os

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from torch import nn

from faceparse_mm.models.backbones import DynamicRoutingBackbone
from faceparse_mm.models.decode_heads import DynamicRoutingHead
from faceparse_mm.models.losses import BudgetLoss
from faceparse_mm.models.modules import CellOutput, RoutingCell, SoftRoutingGate, soft_gate
from faceparse_mm.models.modules.routing_cell import conv_macs
from faceparse_mm.utils.build import build_segmentor, count_params
from tests.models.randomise import randomise_bn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FULL = os.path.join(ROOT, 'configs', 'dynamic-routing-l16_celebamask.py')
DEMO = os.path.join(ROOT, 'configs', 'demo', 'dynamic-routing-l16_demo.py')
# measured from the authors' Layer16 model (19 classes): all parameters, the gates', the decoder's
AUTHORS_TOTAL, AUTHORS_GATES, AUTHORS_DECODER = 17_784_968, 2_523_125, 188_115
TINY = dict(stem_channels=8, base_channels=8, num_layers=4, num_scales=3)


def _tiny(seed=0, **kwargs):
    """A small space, its BN statistics those of random images (so eval-mode BN normalises and
    the gates sit near their initial, open, values), in eval mode."""
    torch.manual_seed(seed)
    space = DynamicRoutingBackbone(**{**TINY, **kwargs})
    for m in space.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = None  # cumulative average
    space.train()
    with torch.no_grad():
        for _ in range(2):
            space(torch.randn(4, 3, 64, 64))
    return space.eval()


def _close(cell, routes=None):
    """Force ``routes`` (default all) of ``cell``'s gate to exactly 0 for any input."""
    fc = cell.gate.fc
    with torch.no_grad():
        for k, name in enumerate(cell.routes):
            if routes is None or name in routes:
                fc.weight[k] = 0
                fc.bias[k] = -5.0  # max(0, tanh(-5)) = 0


def _forbid(*modules):
    def boom(*args, **kwargs):
        raise AssertionError('a closed module ran')
    for m in modules:
        m.forward = boom


class _Removed(nn.Module):
    """A node taken out of the space: its input goes on at its scale, nothing else."""

    def full_macs(self, h, w):
        return 0

    def forward(self, x, up_size=None, skip_closed=False):
        n = x.shape[0]
        return CellOutput(x, None, None, x.new_zeros(n, 1), x.new_zeros(n), 0, False)


class _MacHooks:
    """MACs of every conv call under a module, from the output shapes."""

    def __init__(self, module):
        self.total = 0
        self.handles = [m.register_forward_hook(self.hook) for m in module.modules()
                        if isinstance(m, nn.Conv2d)]

    def hook(self, conv, inputs, output):
        self.total += output.shape[0] * conv_macs(conv, output.shape[-2:])

    def remove(self):
        for h in self.handles:
            h.remove()


# ---------------------------------------------------------------- gate


def test_soft_gate_is_max_0_tanh():
    x = torch.tensor([-3.0, -1e-3, 0.0, 0.5, 1.5, 20.0])
    torch.testing.assert_close(soft_gate(x), torch.relu(torch.tanh(x)))
    assert soft_gate(x)[:3].eq(0).all() and (soft_gate(x) <= 1).all()


def test_gate_starts_open_and_is_one_weight_per_route_per_image():
    """Bias 1.5 as the authors, last weights of std 0.01: every route of every image starts
    open, near tanh(1.5) = 0.905 (the authors' Kaiming draw varies far more with the image);
    the output is (N, R) and depends on each image alone; BN before the pooling, so batch 1
    trains."""
    torch.manual_seed(0)
    x = torch.randn(64, 16, 5, 5)
    gate = SoftRoutingGate(16, 3).train()
    assert gate.fc.bias.eq(1.5).all() and 0.005 < gate.fc.weight.std() < 0.02
    torch.testing.assert_close(gate(x), torch.full((64, 3), 0.905), atol=0.01, rtol=0)
    authors = SoftRoutingGate(16, 3, weight_std=None).train()
    assert authors.fc.bias.eq(1.5).all() and authors.fc.weight.std() > 0.2
    gate = SoftRoutingGate(16, 3, weight_std=None).eval()
    randomise_bn(gate)
    x = torch.randn(3, 16, 6, 6)
    with torch.no_grad():
        out = gate(x)
        assert out.shape == (3, 3)
        torch.testing.assert_close(gate(x[1:2]), out[1:2])
    gate.train()(torch.randn(1, 16, 4, 4)).sum().backward()  # batch 1 trains
    assert gate.macs(6, 6) == 36 * 16 * 8 + 8 * 3


# ---------------------------------------------------------------- cell


def _cell(seed=0, **kwargs):
    torch.manual_seed(seed)
    cell = RoutingCell(8, **{'allow_up': True, 'allow_down': True, **kwargs})
    return randomise_bn(cell, seed).eval()


def test_cell_routes_are_the_gated_relu_of_sepconv_plus_identity():
    cell = _cell(1)
    x = torch.randn(2, 8, 6, 10)
    with torch.no_grad():
        out = cell(x, up_size=(12, 20))
        g = cell.gate(x)
        r = torch.relu(cell.op(x) + x)
        up = nn.functional.interpolate(cell.up(r), size=(12, 20), mode='bilinear',
                                       align_corners=False)
    assert cell.routes == ('keep', 'up', 'down')
    torch.testing.assert_close(out.keep, g[:, 0, None, None, None] * r)
    torch.testing.assert_close(out.up, g[:, 1, None, None, None] * up)
    torch.testing.assert_close(out.down, g[:, 2, None, None, None] * cell.down(r))
    assert out.up.shape == (2, 4, 12, 20) and out.down.shape == (2, 16, 3, 5)
    # the separable 3x3 as the authors: dw, pw-BN-ReLU, dw, pw-BN; no norm on the depthwise
    first, second = cell.op
    assert first.depthwise_conv.conv.groups == 8 and first.depthwise_conv.norm_name is None
    assert first.pointwise_conv.with_norm and first.pointwise_conv.with_activation
    assert second.pointwise_conv.with_norm and not second.pointwise_conv.with_activation


def test_an_image_whose_gates_are_all_closed_passes_its_input_on():
    """Training computation (nothing skipped): keep = x, up = down = 0 for that image."""
    cell = _cell(2)
    _close(cell)
    x = torch.randn(2, 8, 6, 6)
    with torch.no_grad():
        out = cell(x, skip_closed=False)
    torch.testing.assert_close(out.keep, x)
    assert out.up.abs().max() == 0 and out.down.abs().max() == 0 and out.ran


# ---------------------------------------------------------------- the space


def test_layer16_space_is_the_authors_tables():
    """The authors' DynamicNetwork with CELL_NUM_LIST [2, 3, 4] + [4] * 13: per cell allow_up,
    allow_down, and the inputs [dim_up, dim_keep, dim_down], their rules transcribed."""
    space = DynamicRoutingBackbone()
    cell_num = [2, 3, 4] + [4] * 13
    assert [len(cells) for cells in space.layers] == cell_num
    assert space.init_cell.routes == ('keep', 'down') and space.init_cell.channels == 64
    for layer, n in enumerate(cell_num):
        for i in range(n):
            cell = space.layers[layer][i]
            allow_up = not (i == 0 or layer == 15)
            allow_down = not (i == 3 or layer == 15)
            assert cell.routes == ('keep', ) + ('up', ) * allow_up + ('down', ) * allow_down
            assert cell.channels == 64 * 2 ** i
            dim_up = i > 0
            dim_down = (i < n - 1 and layer > 2) or (i < n - 2 and layer <= 2)
            dim_keep = not (layer <= 2 and i == n - 1)
            expected = (('down', i - 1), ) * dim_up + (('keep', i), ) * dim_keep + (
                ('up', i + 1), ) * dim_down
            assert space.wiring[layer][i] == expected, (layer, i)
    assert sum(p.numel() for n, p in space.named_parameters() if '.gate.' in n) == AUTHORS_GATES
    stem = space.stem
    assert stem[0].conv.padding == (0, 0) and stem[0].conv.stride == (2, 2)
    assert stem[2].depthwise_conv.conv.stride == (2, 2)


@pytest.mark.parametrize('size', [(64, 64), (45, 38)])
def test_space_outputs_every_scale_at_any_size(size):
    space = _tiny()
    with torch.no_grad():
        feats = space(torch.randn(1, 3, *size))
    h, w = (size[0] - 3) // 2 + 1, (size[1] - 3) // 2 + 1  # the unpadded first conv
    h, w = -(-h // 2), -(-w // 2)
    assert [tuple(f.shape[1:]) for f in feats] == [
        (8, h, w), (16, -(-h // 2), -(-w // 2)), (32, -(-h // 4), -(-w // 4))]


def test_a_closed_cell_runs_nothing_and_equals_the_space_without_it():
    """A middle cell with its gate forced shut: its separable conv and routes are never called;
    the output equals (1) the computation with nothing skipped and (2) the space where that
    node is removed (its input goes on at its scale)."""
    space = _tiny(3)
    cell = space.layers[2][1]
    removed = copy.deepcopy(space)
    removed.layers[2][1] = _Removed()
    _close(cell)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        space.skip_closed = False
        dense = space(x)
        dense_cost = dict(space.last_cost)
        space.skip_closed = True
        _forbid(cell.op, cell.up, cell.down)
        skipped = space(x)
        reference = removed(x)
    for a, b, c in zip(skipped, dense, reference):
        torch.testing.assert_close(a, b)
        torch.testing.assert_close(a, c)
    cost = space.last_cost
    assert dense_cost['cells_run'] == cost['cells']  # the dense run: every cell ran
    assert cost['cells_run'] == cost['cells'] - 1
    hw = space.scale_sizes((16, 16))[1]  # the cell is at 1/8
    assert dense_cost['executed'] - cost['executed'] == 2 * cell.full_macs(*hw)


def test_a_closed_route_is_not_computed():
    space = _tiny(4)
    cell = space.layers[1][0]
    _close(cell, routes=('down', ))
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        space.skip_closed = False
        dense = space(x)
        executed = space.last_cost['executed']
        space.skip_closed = True
        _forbid(cell.down)
        for a, b in zip(space(x), dense):
            torch.testing.assert_close(a, b)
    assert space.last_cost['cells_run'] == space.last_cost['cells']
    assert executed - space.last_cost['executed'] == cell.route_macs(16, 16)['down']


def _gate_open_for_first_image_only(space, cell, x, routes=None):
    """Set ``routes`` (default all) of ``cell``'s gate to open (logit 2) for image 0 of ``x``
    and closed (logit -2) for image 1, from the gate's pooled features of the two images."""
    seen = []
    handle = cell.register_forward_pre_hook(lambda mod, args: seen.append(args[0]))
    with torch.no_grad():
        space(x)
        handle.remove()
        pooled = cell.gate.reduce(seen[0]).mean((2, 3))  # (2, hidden)
        d = pooled[0] - pooled[1]
        d = d * 4 / d.dot(d)
        middle = (pooled[0] + pooled[1]) / 2
        for k, name in enumerate(cell.routes):
            if routes is None or name in routes:
                cell.gate.fc.weight[k] = d.view(-1, 1, 1)
                cell.gate.fc.bias[k] = -d.dot(middle)


def test_a_route_closed_for_one_image_of_the_batch_still_runs_for_the_other():
    """Skipping is per batch: a route (or a whole cell) closed for one image and open for the
    other is computed, and each image of the batch gets what it gets alone."""
    base = _tiny(9)
    x = torch.randn(2, 3, 32, 32)
    for routes in (('down', ), None):  # the down route; every route of the cell
        space = copy.deepcopy(base)
        cell = space.layers[1][0]
        _gate_open_for_first_image_only(space, cell, x, routes)
        gates = []
        cell.register_forward_hook(lambda mod, args, out, gates=gates: gates.append(out.gates))
        with torch.no_grad():
            batch = space(x)
            alone = [space(x[i:i + 1]) for i in range(2)]
        closed = [k for k, name in enumerate(cell.routes) if routes is None or name in routes]
        assert (gates[0][0, closed] > 0.9).all() and (gates[0][1, closed] == 0).all()
        for i in range(2):
            for a, b in zip(batch, alone[i]):
                torch.testing.assert_close(a[i:i + 1], b, msg=lambda m, r=routes: f'{r}: {m}')


def test_a_cell_that_nothing_reaches_is_not_called():
    """Close keep of (layer 1, scale 2) and down of (layer 1, scale 1): the only routes into
    (layer 2, scale 2); that cell is then not called on the images (its output on a zero map
    comes from its parameters: see the exact-skipping tests below)."""
    space = _tiny(5)
    _close(space.layers[1][2], routes=('keep', ))
    _close(space.layers[1][1], routes=('down', ))
    assert space.wiring[2][2] == (('down', 1), ('keep', 2))
    _forbid(space.layers[2][2])
    with torch.no_grad():
        space(torch.randn(1, 3, 64, 64))
    cost = space.last_cost
    assert cost['cells_run'] == cost['cells'] - 1
    space.skip_closed = False  # the training computation runs it (on zeros)
    with pytest.raises(AssertionError, match='a closed module ran'):
        space(torch.randn(1, 3, 64, 64))


def test_executed_macs_are_the_convolutions_that_ran():
    """The space's own count equals conv hooks on it, with cells and routes closed or not, in
    eval and in training (training runs everything)."""
    space = _tiny(6)
    _close(space.layers[1][1])
    _close(space.layers[2][0], routes=('up', 'keep'))
    x = torch.randn(2, 3, 64, 48)
    for train in (False, True):
        space.train(train)
        hooks = _MacHooks(space)
        with torch.no_grad():
            space(x)
        hooks.remove()
        assert space.last_cost['executed'] == hooks.total
    assert space.last_cost['cells_run'] == space.last_cost['cells']


def test_executed_macs_at_odd_sizes_count_the_down_routes_at_their_real_output_size():
    """45 x 38 gives odd maps (11 x 9 at 1/4, 6 x 5 at 1/8): a stride-2 down route gives
    ceil(s / 2), and the count equals the conv hooks, per route and in all."""
    space = _tiny(10)
    x = torch.randn(1, 3, 45, 38)
    assert space.scale_sizes((11, 9)) == [(11, 9), (6, 5), (3, 3)]
    downs = []  # (cell, conv input, conv output)
    for cell in [space.init_cell] + [c for layer in space.layers for c in layer]:
        if cell.down is not None:
            cell.down.conv.register_forward_hook(
                lambda conv, args, out, cell=cell: downs.append((cell, args[0], out)))
    hooks = _MacHooks(space)
    with torch.no_grad():
        space(x)
    hooks.remove()
    assert space.last_cost['executed'] == hooks.total
    assert {tuple(i.shape[-2:]) for _, i, _ in downs} == {(11, 9), (6, 5)}
    for cell, inp, out in downs:
        assert cell.route_macs(*inp.shape[-2:])['down'] == conv_macs(cell.down.conv,
                                                                     out.shape[-2:])


def test_expected_cost_is_the_gated_node_cost():
    """All gates equal to g: expected = g x the all-open cost (every cell and route, gates and
    stem excluded), and the convs that ran are the stem, the gates and that cost."""
    space = _tiny(7)
    cells = [space.init_cell] + [c for layer in space.layers for c in layer]
    for cell in cells:
        with torch.no_grad():
            cell.gate.fc.weight.zero_()
            cell.gate.fc.bias.fill_(0.3)
    x = torch.randn(2, 3, 64, 64)
    stem = _MacHooks(space.stem)
    hooks = _MacHooks(space)
    with torch.no_grad():
        space(x)
    hooks.remove()
    stem.remove()
    sizes = space.scale_sizes((16, 16))
    at = [sizes[0]] + [sizes[s] for layer in space.layers for s in range(len(layer))]
    full = sum(c.full_macs(*hw) for c, hw in zip(cells, at))
    gates = sum(c.gate.macs(*hw) for c, hw in zip(cells, at))
    cost = space.last_cost
    assert cost['full'] == full
    assert hooks.total == cost['executed'] == stem.total + 2 * (gates + full)
    g = torch.tanh(torch.tensor(0.3))
    torch.testing.assert_close(cost['expected'], torch.full((2, ), g * full))


def test_init_keeps_the_authors_initialisation():
    torch.manual_seed(0)
    space = DynamicRoutingBackbone(**TINY)
    before = {k: v.clone() for k, v in space.state_dict().items()}
    space.init_weights()
    for key, value in space.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert all(c.gate.fc.bias.eq(1.5).all() for layer in space.layers for c in layer)
    w = space.layers[0][0].down.conv.weight  # Kaiming fan-in: std sqrt(2 / 8)
    assert 0.25 < w.std() < 0.75


# ---------------------------------------------------------------- budget


def test_budget_loss_is_zero_at_the_budget_and_pushes_the_gates_towards_it():
    space = _tiny(8).train()
    space(torch.randn(2, 3, 64, 64))
    cost = space.last_cost
    ratio = (cost['expected'].mean() / cost['full']).item()
    assert 0.5 < ratio < 1  # gates open at the start
    at_budget = BudgetLoss(mu=ratio, loss_weight=0.7, start_ratio=0, warmup_ratio=0)
    assert at_budget(cost['expected'], cost['full']).abs().item() < 1e-10
    loss_fn = BudgetLoss(mu=0.1, loss_weight=0.7, start_ratio=0, warmup_ratio=0)
    loss = loss_fn(cost['expected'], cost['full'])
    torch.testing.assert_close(loss, 0.7 * (cost['expected'].mean() / cost['full'] - 0.1) ** 2)
    assert loss.item() > 0
    loss.backward()
    gates = [c.gate.fc for c in [space.init_cell] + [c for layer in space.layers for c in layer]]
    assert all(fc.bias.grad is not None and fc.bias.grad.abs().min() > 0 for fc in gates)
    # a gradient step on the budget alone lowers the expected cost (over budget: gates close)
    with torch.no_grad():
        for fc in gates:
            fc.bias -= 1.0 * fc.bias.grad.sign()
    space(torch.randn(2, 3, 64, 64))
    assert (space.last_cost['expected'].mean() / space.last_cost['full']).item() < ratio


def test_budget_schedule_starts_after_start_ratio_and_warms_up():
    loss = BudgetLoss(mu=0.0, loss_weight=1.0, start_ratio=0.4, warmup_ratio=0.1)
    hub = MessageHub.get_instance('test_budget_schedule')
    hub.update_info('max_iters', 1000)
    weights = []
    for it in (0, 399, 400, 450, 500, 900):
        hub.update_info('iter', it)
        weights.append(loss.schedule_weight())
    assert weights == pytest.approx([0.0, 0.0, 0.0, 0.5, 1.0, 1.0])
    hub.update_info('iter', 450)
    torch.testing.assert_close(loss(torch.tensor([0.2, 0.4]), 1), torch.tensor(0.5 * 0.09))


def _tiny_segmentor_cfg():
    cfg = Config.fromfile(FULL).model
    cfg.backbone.update(TINY)
    cfg.decode_head.update(in_channels=(8, 16, 32), in_index=(0, 1, 2), channels=8)
    cfg.budget_loss.update(start_ratio=0, warmup_ratio=0)
    return Config(dict(model=cfg))


def test_segmentor_adds_the_budget_to_the_losses():
    from tests.test_zoo_contract import batch
    torch.manual_seed(0)
    model = build_segmentor(_tiny_segmentor_cfg()).train()
    data = model.data_preprocessor(batch(2, 64), True)
    losses = model(**data, mode='loss')
    cost = model.backbone.last_cost
    ratio = cost['expected'].mean() / cost['full']
    torch.testing.assert_close(losses['loss_budget'], 0.5 * (ratio - 0.2) ** 2)
    torch.testing.assert_close(losses['cost_ratio'], ratio)
    loss, log_vars = model.parse_losses(losses)
    torch.testing.assert_close(loss, losses['decode.loss_ohem'] + losses['loss_budget'])
    assert 'cost_ratio' in log_vars and not cost['expected'].requires_grad
    with torch.no_grad():
        (out,) = model.test_step(batch(1, 64, with_labels=False))
    assert out.seg_logits.data.shape == (19, 64, 64)
    copy.deepcopy(model)  # nothing left on the module that cannot be copied


# ---------------------------------------------------------------- decoder


def _head(seed=0):
    torch.manual_seed(seed)
    head = DynamicRoutingHead(in_channels=(8, 16, 32), in_index=(0, 1, 2), channels=6,
                              dropout_ratio=0.0, num_classes=5, norm_cfg=dict(type='BN'))
    return randomise_bn(head, seed).eval()


def test_decoder_adds_the_upsampled_coarser_map_before_each_projection():
    head = _head(1)
    g = torch.Generator().manual_seed(0)
    feats = [torch.randn(2, 8, 12, 10, generator=g), torch.randn(2, 16, 6, 5, generator=g),
             torch.randn(2, 32, 3, 3, generator=g)]
    seen = []
    for p in head.projections:
        p.register_forward_hook(lambda m, i, o: seen.append((m, i[0], o)))
    with torch.no_grad():
        logits = head(feats)
    assert [m for m, _, _ in seen] == list(head.projections)[::-1]  # coarsest first
    up = nn.functional.interpolate
    torch.testing.assert_close(seen[0][1], feats[2])
    torch.testing.assert_close(seen[1][1], feats[1] + up(seen[0][2], size=(6, 5),
                                                         mode='bilinear'))
    torch.testing.assert_close(seen[2][1], feats[0] + up(seen[1][2], size=(12, 10),
                                                         mode='bilinear'))
    assert [p.conv.out_channels for p in head.projections] == [6, 8, 16]
    assert head.conv_seg.kernel_size == (3, 3) and logits.shape == (2, 5, 12, 10)


# ---------------------------------------------------------------- configs


def test_config_has_the_authors_parameter_counts():
    model = build_segmentor(FULL)
    assert count_params(model) == (AUTHORS_TOTAL, AUTHORS_TOTAL)
    gates = sum(p.numel() for n, p in model.backbone.named_parameters() if '.gate.' in n)
    assert gates == AUTHORS_GATES
    assert sum(p.numel() for p in model.decode_head.parameters()) == AUTHORS_DECODER
    assert model.decode_head.dropout is None
    assert model.backbone.out_channels == tuple(model.decode_head.in_channels)
    assert model.budget_loss.loss_weight > 0


def test_demo_trains_the_same_model_as_the_full_config():
    assert Config.fromfile(DEMO).model == Config.fromfile(FULL).model


# ---------------------------------------------------------------- exact skipping


def _assert_same(skipped, dense, what=''):
    """Within 1e-6 of the largest value of each dense output."""
    for s, (a, b) in enumerate(zip(skipped, dense)):
        scale = b.abs().max().item()
        assert scale > 0, f'{what} scale {s}: all zero'
        diff = (a - b).abs().max().item() / scale
        assert diff <= 1e-6, f'{what} scale {s}: relative difference {diff:.3g}'


@pytest.mark.parametrize('size', [(1, 1), (2, 5), (3, 3), (7, 6)])
@pytest.mark.parametrize('norm', ['BN', 'GN'])
def test_a_cell_reached_by_nothing_gives_its_output_on_a_zero_map(size, norm):
    """``forward_zero`` equals the cell run on zeros, route by route, borders included (the
    second depthwise conv's zero padding of a constant map): from a <= 3 x 3 map with BN in
    eval mode, from a full map of one image with a norm that is not per-pixel (GN)."""
    torch.manual_seed(0)
    cfg = dict(type='GN', num_groups=2) if norm == 'GN' else dict(type='BN')
    cell = RoutingCell(8, allow_up=True, allow_down=True, norm_cfg=cfg)
    randomise_bn(cell, 3).eval()
    if norm == 'GN':
        with torch.no_grad():
            for m in cell.modules():
                if isinstance(m, nn.GroupNorm):
                    m.bias.copy_(torch.linspace(-0.5, 0.5, m.num_channels))
    h, w = size
    up = (2 * h - 1, 2 * w)
    with torch.no_grad():
        dense = cell(torch.zeros(2, 8, h, w), up_size=up, skip_closed=False)
        zero = cell.forward_zero(2, h, w, up_size=up)
    assert not zero.ran and cell._pointwise_norms() == (norm == 'BN')
    torch.testing.assert_close(zero.gates, dense.gates)
    torch.testing.assert_close(zero.expected, dense.expected)
    for name in ('keep', 'up', 'down'):
        a, b = getattr(zero, name), getattr(dense, name)
        assert b.abs().max() > 0 and a.shape == b.shape, name
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6 * b.abs().max().item())
    if norm == 'BN' and h >= 3 and w >= 3:  # not spatially constant: the borders differ
        assert not torch.allclose(dense.keep[..., 0, 0], dense.keep[..., 1, 1])
    _close(cell)  # gates closed on zeros too: nothing comes out (the zero input passes on)
    with torch.no_grad():
        zero = cell.forward_zero(2, h, w, up_size=up)
    assert zero.keep is None and zero.up is None and zero.down is None


class _BatchMacs(_MacHooks):
    """MACs of the conv calls under a module, apart by the batch of the call."""

    def __init__(self, module):
        super().__init__(module)
        self.by_batch = {}
        self.modules_at = {}

    def hook(self, conv, inputs, output):
        n = output.shape[0]
        self.by_batch[n] = self.by_batch.get(n, 0) + n * conv_macs(conv, output.shape[-2:])
        self.modules_at.setdefault(n, set()).add(conv)


def _pattern(space, pattern, x):
    """Force gates closed: 'nothing' closes the routes into (layer 2, scale 2) (keep of (1, 2),
    down of (1, 1)); 'chain' also the down of (2, 1), so that (3, 2) receives only what (2, 2)
    computes from its parameters; 'cell' closes cell (2, 0) for every image; 'route' the up
    route of (1, 1); 'image' cell (2, 1) for image 1 only."""
    if pattern in ('nothing', 'chain'):
        _close(space.layers[1][2], routes=('keep', ))
        _close(space.layers[1][1], routes=('down', ))
    if pattern == 'chain':
        _close(space.layers[2][1], routes=('down', ))
    if pattern == 'cell':
        _close(space.layers[2][0])
    if pattern == 'route':
        _close(space.layers[1][1], routes=('up', ))
    if pattern == 'image':
        _gate_open_for_first_image_only(space, space.layers[2][1], x)


@pytest.mark.parametrize('pattern,size', [
    ('nothing', (64, 48)), ('nothing', (45, 38)), ('chain', (64, 48)), ('chain', (45, 38)),
    ('cell', (64, 48)), ('route', (45, 38)), ('image', (64, 48))])
def test_skipping_computes_what_nothing_skipped_computes(pattern, size):
    """With gates forced closed (a cell reached by nothing, a chain of them, a cell closed for
    every image, a route, a cell closed for one image of two), skipping gives the outputs and
    the expected cost of the computation that skips nothing (the training computation: a cell
    reached only by closed routes runs on a zero map, whose BN offsets reach the output),
    within 1e-6. ``executed`` counts only the convolutions run on the images (batch 2), which
    skip the closed cells and routes; what is computed from the parameters alone runs at batch
    1 and is reported as ``constant``."""
    space = _tiny(11)
    x = torch.randn(2, 3, *size)
    _pattern(space, pattern, x)
    with torch.no_grad():
        space.skip_closed = False
        dense = space(x)
        dense_cost = dict(space.last_cost)
        space.skip_closed = True
        hooks = _BatchMacs(space)
        skipped = space(x)
        hooks.remove()
    cost = space.last_cost
    _assert_same(skipped, dense, pattern)
    torch.testing.assert_close(cost['expected'], dense_cost['expected'], rtol=1e-6, atol=0)
    assert cost['executed'] == hooks.by_batch[2]
    if pattern != 'image':  # closed for one image only: nothing to skip
        assert cost['executed'] < dense_cost['executed']
    assert cost['constant'] == hooks.by_batch.get(1, 0)
    reached_by_nothing = space.layers[2][2]
    ran_on_images = hooks.modules_at[2]
    if pattern in ('nothing', 'chain'):
        assert cost['constant'] > 0
        assert not {m for m in reached_by_nothing.modules() if isinstance(m, nn.Conv2d)} & (
            ran_on_images)
        assert cost['cells_run'] == cost['cells'] - 1 - (pattern == 'chain')
    if pattern == 'chain':  # (3, 2): its input is a constant of the parameters, run once
        last = space.layers[3][2]
        assert last.op[0].pointwise_conv.conv not in ran_on_images
        assert last.op[0].pointwise_conv.conv in hooks.modules_at[1]
    if pattern in ('cell', 'route', 'image'):
        assert cost['constant'] == 0 and 1 not in hooks.by_batch


def test_skipping_on_the_authors_kaiming_gates_computes_the_dense_outputs():
    """The authors' gate initialisation (Kaiming last conv, ``gate_weight_std=None``) and
    random BN: routes close by themselves, per image; skipping changes nothing."""
    torch.manual_seed(5)
    space = DynamicRoutingBackbone(**TINY, gate_weight_std=None)
    randomise_bn(space, 5).eval()
    with torch.no_grad():
        for m in space.modules():
            if isinstance(m, SoftRoutingGate):
                m.fc.bias.fill_(-0.2)  # about half the routes closed
        x = torch.randn(2, 3, 64, 64)
        space.skip_closed = False
        dense = space(x)
        space.skip_closed = True
        skipped = space(x)
    assert space.last_cost['cells_run'] < space.last_cost['cells']
    _assert_same(skipped, dense, 'kaiming gates')
