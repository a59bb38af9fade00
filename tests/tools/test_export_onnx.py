"""ONNX export: every configs/*_celebamask.py (found by glob) exports and onnxruntime reproduces
its logits within 1e-4 relative, or the README's table of unexportable architectures names it
with the reason (reported as a skip with that reason); a config in neither fails. Offline
builds, random weights with settled BatchNorm, at the config's ``min_input_size`` (default 64),
checked on other images than the traced one and at another batch size."""
import copy
import glob
import json
import os
import re
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from torch import nn

from faceparse_mm.apis import FaceParser
from faceparse_mm.apis.onnx_export import (
    OnnxInferenceModule,
    adaptive_pool_as_matmul,
    check_parity,
    export_onnx,
    onnx_session,
    pool_matrix,
    quantize_int8,
    run_session,
    settle_batchnorm,
)
from faceparse_mm.utils.build import build_segmentor
from tests.infer_toy import CONFIG, FROZEN_CONFIG, faces, write_checkpoint
from tools.deploy import export_onnx as export_tool
from tools.deploy.export_onnx import RTOL, face_batch, random_batch

pytest.importorskip('onnxruntime')

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
#: every user config: the image models (NAME_celebamask.py) and the video models (NAME_facevideo.py)
CONFIGS = {os.path.basename(p).rsplit('_', 1)[0]: p
           for suffix in ('celebamask', 'facevideo')
           for p in glob.glob(os.path.join(ROOT, 'configs', f'*_{suffix}.py'))}
NAMES = sorted(CONFIGS)
TABLE = re.compile(r'<!-- onnx-unexportable:begin -->(.*?)<!-- onnx-unexportable:end -->', re.S)


def unexportable() -> dict:
    """{config name: reason} from the README's table."""
    with open(os.path.join(ROOT, 'README.md')) as f:
        found = TABLE.search(f.read())
    assert found, 'README.md has no onnx-unexportable table'
    rows = {}
    for line in found.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if len(cells) == 2 and cells[0] not in ('config', '') and not set(cells[0]) <= set('-:'):
            rows[cells[0].strip('`').removesuffix('.py').rsplit('_', 1)[0]
                 if cells[0].endswith('.py`') else cells[0].strip('`')] = cells[1]
    return rows


def test_the_table_names_only_existing_configs_with_a_reason():
    for name, reason in unexportable().items():
        assert name in NAMES, f'README lists {name}, which has no config in configs/'
        assert len(reason) > 10, f'README gives no reason why {name} does not export'


def test_the_table_lists_exactly_the_segmentors_that_say_they_do_not_export():
    """The README's table and the segmentors' ``onnx_unexportable`` (which the benchmark's
    onnxruntime mode refuses) name the same configs."""
    from faceparse_mm.registry import MODELS
    declared = {name for name in NAMES if getattr(
        MODELS.get(Config.fromfile(CONFIGS[name]).model.type), 'onnx_unexportable', None)}
    assert declared == set(unexportable())


# seconds each (the biggest graphs take 10-30 s to trace and export on 2 cores)
@pytest.mark.slow
@pytest.mark.parametrize('name', NAMES)
def test_every_config_exports_with_parity_or_is_listed(name, tmp_path):
    listed = unexportable()
    if name in listed:  # reported in the summary (-ra) with the README's reason
        pytest.skip(f'not exportable (README.md): {listed[name]}')
    cfg = Config.fromfile(CONFIGS[name])
    size = int(cfg.get('min_input_size', 64))
    torch.manual_seed(0)
    module = OnnxInferenceModule(build_segmentor(cfg))  # PyTorch's random initialisation
    settle_batchnorm(module, random_batch(2, (size, size), seed=1))
    path = str(tmp_path / f'{name}.onnx')
    export_onnx(module, path, shape=(size, size))
    # other images than the traced one, and batch 2 (traced at batch 1)
    x = torch.cat([random_batch(1, (size, size), seed=3), face_batch(1, (size, size))])
    r = check_parity(module, onnx_session(path), x)
    print(f'{name}: max |diff| {r["max_abs"]:.3g}, relative {r["max_rel"]:.3g}, labels agree '
          f'{r["label_agreement"]:.5f}')
    if r['max_rel'] > RTOL:
        # above 1e-4: the untrained model's own fp32 rounding can be that large (attention
        # over near-random features); onnxruntime must then be as close to the float64 eager
        # result as float32 eager is
        with torch.no_grad():
            exact = copy.deepcopy(module).double()(x.double())[0]
            eager = module(x)[0].double()
        got = torch.from_numpy(run_session(onnx_session(path), x)[0]).double()
        scale = max(1.0, exact.abs().max().item())
        noise = (eager - exact).abs().max().item() / scale
        off = (got - exact).abs().max().item() / scale
        print(f'{name}: fp32 eager vs fp64 {noise:.3g}, onnxruntime vs fp64 {off:.3g}')
        assert off <= max(RTOL, 2 * noise), (name, r, noise, off)
    assert r['label_agreement'] > 0.99


def test_adaptive_pooling_is_exported_exactly_as_matrices(tmp_path):
    for size, out in [(8, 3), (8, 6), (9, 20), (64, 6), (7, 1)]:
        x = torch.randn(2, 3, size, size + 3)
        pooled = pool_matrix(size, out) @ x @ pool_matrix(size + 3, out).t()
        torch.testing.assert_close(pooled, F.adaptive_avg_pool2d(x, out), atol=1e-6, rtol=0)

    class Pyramid(nn.Module):
        def forward(self, x):
            return sum(F.interpolate(F.adaptive_avg_pool2d(x, s), size=x.shape[2:])
                       for s in (1, 2, 3, 6))

    path = str(tmp_path / 'pyramid.onnx')
    x = torch.randn(1, 3, 8, 8)
    with pytest.raises(Exception, match='output size that are not factor of input size'):
        torch.onnx.export(Pyramid(), (x,), path, dynamo=False, opset_version=17)
    with torch.no_grad(), adaptive_pool_as_matmul(17):
        torch.onnx.export(Pyramid(), (x,), path, dynamo=False, input_names=['image'],
                          opset_version=17)
    with torch.no_grad():
        expected = Pyramid()(x).numpy()
    got = onnx_session(path).run(None, {'image': x.numpy()})[0]
    np.testing.assert_allclose(got, expected, atol=1e-5)
    with pytest.raises(Exception, match='dynamic input size'), adaptive_pool_as_matmul(17):
        torch.onnx.export(Pyramid(), (x,), path, dynamo=False, input_names=['image'],
                          opset_version=17, dynamic_axes={'image': {2: 'h', 3: 'w'}})
    # the registration is scoped: the exporter's own rule is back afterwards
    with pytest.raises(Exception, match='output size that are not factor of input size'):
        torch.onnx.export(Pyramid(), (x,), path, dynamo=False, opset_version=17)


def test_the_graph_takes_bgr_0_255_and_gives_faceparsers_labels(tmp_path):
    ckpt = write_checkpoint(tmp_path / 'toy.pth')
    parser = FaceParser(CONFIG, ckpt)
    path = str(tmp_path / 'toy.onnx')
    module = OnnxInferenceModule(parser.model)
    export_onnx(module, path, shape=parser.input_size, dynamic=True)
    session = onnx_session(path)
    for img in faces(2, size=64, seed=4):
        x = torch.from_numpy(img.transpose(2, 0, 1).astype(np.float32))[None]
        logits, labels = run_session(session, x)
        assert labels.shape == (1, 64, 64) and labels.dtype == np.int64
        assert np.array_equal(labels[0], parser(img))
        _, probs = parser(img, return_probs=True)
        np.testing.assert_allclose(torch.from_numpy(logits[0]).softmax(0).numpy(), probs,
                                   atol=1e-5)
    # dynamic H/W: another size runs (this architecture allows it)
    logits, labels = run_session(session, torch.rand(2, 3, 48, 80) * 255)
    assert logits.shape == (2, 19, 48, 80) and labels.shape == (2, 48, 80)


def test_export_tool_writes_the_checkpoints_classes_and_reports_parity(tool, tmp_path):
    onnx = pytest.importorskip('onnx')
    ckpt = write_checkpoint(tmp_path / 'toy.pth')
    state = torch.load(ckpt, weights_only=True)
    state['meta']['dataset_meta']['classes'] = [f'c{i}' for i in range(19)]
    torch.save(state, ckpt)
    out = tmp_path / 'toy.onnx'
    proc = tool('tools/deploy/export_onnx.py', CONFIG, ckpt, str(out), '--dynamic',
                '--repeats', '2', '--int8', '--calibration', '2')
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'exported' in proc.stdout and 'dynamic H/W' in proc.stdout
    for line in ('random images (batch 2)', 'generated faces (batch 2)',
                 'generated faces at 96x128'):
        assert re.search(re.escape(line) + r'\s+max \|diff\| \S+\s+relative \S+\s+labels agree '
                         r'100\.000%', proc.stdout), proc.stdout
    assert re.search(r'onnxruntime\s+[\d.]+ ms', proc.stdout)
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert json.loads(meta['classes']) == [f'c{i}' for i in range(19)]
    assert 'BGR' in meta['input']
    assert (tmp_path / 'toy.int8.onnx').is_file()
    assert re.search(r'int8 vs float \(4 faces\)\s+max \|diff\|', proc.stdout), proc.stdout
    assert re.search(r'onnxruntime int8\s+[\d.]+ ms', proc.stdout)


def test_dynamic_export_of_a_graph_frozen_to_its_size_is_refused(tmp_path, capsys):
    ckpt = write_checkpoint(tmp_path / 'frozen.pth', config=FROZEN_CONFIG)
    out = tmp_path / 'frozen.onnx'
    assert export_tool.main([FROZEN_CONFIG, ckpt, str(out), '--repeats', '1']) == 0
    static = out.read_bytes()
    with pytest.raises(SystemExit) as exit_info:
        export_tool.main([FROZEN_CONFIG, ckpt, str(out), '--dynamic', '--repeats', '1'])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert 'generated faces at 96x128' in err and 'does not allow dynamic H/W' in err
    assert 'not written' in err
    # the refused graph is never renamed to OUT: the earlier export there is left as it was
    assert out.read_bytes() == static
    assert sorted(p.name for p in tmp_path.iterdir()) == ['frozen.onnx', 'frozen.pth']


@pytest.mark.parametrize('dynamic', [False, True], ids=['static', 'dynamic'])
@pytest.mark.parametrize('failing', ['relative difference', 'label agreement'])
def test_a_graph_failing_either_parity_limit_is_refused(tmp_path, capsys, monkeypatch, failing,
                                                        dynamic):
    """Parity within one limit does not save a graph that breaks the other: a relative logit
    difference over REFUSE_RTOL with every label agreeing, or agreement under MIN_AGREEMENT
    with tiny differences, each refuses the export (exit 2), with or without ``--dynamic``;
    the refused graph is not left at OUT, nor under a temporary name."""
    ckpt = write_checkpoint(tmp_path / 'toy.pth')
    out = tmp_path / 'toy.onnx'
    if failing == 'relative difference':
        result = dict(max_abs=1.0, max_rel=2 * export_tool.REFUSE_RTOL, label_agreement=1.0)
    else:
        result = dict(max_abs=1e-6, max_rel=1e-7, label_agreement=export_tool.MIN_AGREEMENT - 0.01)
    monkeypatch.setattr(export_tool, 'check_parity', lambda module, session, x: dict(result))
    with pytest.raises(SystemExit) as exit_info:
        export_tool.main([CONFIG, ckpt, str(out), '--repeats', '1']
                         + (['--dynamic'] if dynamic else []))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert 'does not reproduce the model' in err and 'not written' in err
    assert f'relative difference {result["max_rel"]:.3g}' in err
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ['toy.pth']


def test_int8_quantisation_keeps_the_labels(tmp_path):
    onnx = pytest.importorskip('onnx')
    parser = FaceParser(CONFIG, write_checkpoint(tmp_path / 'toy.pth'))
    module = OnnxInferenceModule(parser.model)
    export_onnx(module, str(tmp_path / 'f.onnx'), shape=(64, 64))
    quantize_int8(str(tmp_path / 'f.onnx'), str(tmp_path / 'q.onnx'),
                  [face_batch(1, (64, 64), seed=10 + i) for i in range(8)])
    graph = onnx.load(str(tmp_path / 'q.onnx')).graph
    ops = {n.op_type for n in graph.node}
    assert {'QuantizeLinear', 'DequantizeLinear'} <= ops
    int8 = [t.name for t in graph.initializer if t.data_type == onnx.TensorProto.INT8]
    assert any('conv' in name.lower() or 'weight' in name.lower() for name in int8)
    r = check_parity(module, onnx_session(str(tmp_path / 'q.onnx')), face_batch(4, (64, 64)))
    print(f'int8 toy: relative {r["max_rel"]:.3g}, labels agree {r["label_agreement"]:.4f}')
    assert r['label_agreement'] > 0.9


def test_split_scores_are_the_protocols_metric_of_faceparsers_labels(tmp_path):
    """``--eval-split``: the eager runner's score equals the metric computed from FaceParser's
    labels of the same images; the exported graph scores the same; a wrong runner does not."""
    pytest.importorskip('onnxruntime')
    from faceparse_mm.evaluation.face_metric import confusion_matrix, metrics_from_confusion
    from tools.analysis.dynamic_cost import iter_split
    from tools.deploy.export_onnx import split_scores

    ckpt = write_checkpoint(tmp_path / 'toy.pth', seed=5)
    parser = FaceParser(CONFIG, ckpt)
    cfg = parser.cfg
    cfg.test_dataloader.dataset.data_root = str(tmp_path / 'data')
    cfg.test_dataloader.dataset.synthetic.update(num=40, image_size=160, mask_size=80, nproc=1)
    module = OnnxInferenceModule(parser.model).eval()
    export_onnx(module, str(tmp_path / 't.onnx'), shape=parser.input_size)
    session = onnx_session(str(tmp_path / 't.onnx'))
    runners = {'eager': lambda x: module(x)[1].numpy(),
               'onnx': lambda x: run_session(session, x)[1],
               'mirrored': lambda x: module(x.flip(-1))[1].numpy()}
    scores = split_scores(cfg, 'test', parser.input_size, runners, 19, limit=3)
    conf = 0
    for _, sample in iter_split(cfg, 'test', 3):
        img = np.ascontiguousarray(sample['inputs'].numpy().transpose(1, 2, 0))
        gt = sample['data_samples'].gt_sem_seg.data[0].numpy()
        assert gt.shape == (80, 80) != parser.input_size  # labels resized back
        conf = conf + confusion_matrix(parser(img), gt, 19)
    expected = metrics_from_confusion(conf)
    assert scores['eager']['images'] == 3
    for key in ('mF1', 'mIoU'):
        assert scores['eager'][key] == pytest.approx(expected[key], abs=1e-9)
        assert scores['onnx'][key] == pytest.approx(expected[key], abs=1e-3)
    assert scores['mirrored']['mF1'] != pytest.approx(expected['mF1'], abs=1e-3)


if __name__ == '__main__':
    sys.exit(pytest.main([__file__, '-q']))
