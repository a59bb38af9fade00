"""The fully connected CRF (DeepLab v1's post-processing): the real inference where the optional
``pydensecrf2`` package is installed, the wrapper's plumbing (image channel order and size, what
replaces the prediction) everywhere, and ``tools/test.py --crf`` end to end with a stand-in
package (so the option is exercised without the compiled one)."""
import importlib
import json
import os
import textwrap

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.structures import SegDataSample

from faceparse_mm.errors import UserError
from faceparse_mm.models.segmentors import DenseCRFModel, dense_crf
from faceparse_mm.utils.build import build_segmentor
from tests.test_protocol import _tta_dataset

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOY = 'tests/data/tta_toy_config.py'
# the module (its function of the same name shadows it as a package attribute)
crf_module = importlib.import_module('faceparse_mm.models.segmentors.dense_crf')


def test_crf_moves_a_blurred_boundary_onto_the_image_edge():
    pytest.importorskip('pydensecrf.densecrf')
    h, w, edge = 24, 40, 20
    image = np.zeros((h, w, 3), np.uint8)
    image[:, edge:] = (230, 200, 40)  # a sharp colour edge at x = 20
    # the network's boundary is 4 px to the right of the edge and unsure near it
    x = np.arange(w)[None, :].repeat(h, 0)
    p1 = 1 / (1 + np.exp(-(x - (edge + 4)) / 3.0))
    probs = np.stack([1 - p1, p1]).astype(np.float32)
    before = probs.argmax(0)
    after = dense_crf(probs, image).argmax(0)
    truth = (x >= edge).astype(int)
    assert (before != truth).sum() == 5 * h  # x = 20..24
    assert (after == truth).all()
    # without the bilateral (colour) kernel nothing pulls the boundary to the edge
    assert (dense_crf(probs, image, bi_w=0.0).argmax(0) != truth).sum() >= 3 * h


class _Recorder:
    def __init__(self, label):
        self.calls, self.label = [], label

    def __call__(self, probs, image, **kwargs):
        self.calls.append((probs, image, kwargs))
        out = np.full(probs.shape, 0.01, np.float32)
        out[self.label] = 1.0
        return out / out.sum(0, keepdims=True)


def test_wrapper_passes_rgb_at_the_logits_size_and_replaces_the_prediction(monkeypatch):
    init_default_scope('faceparse_mm')
    monkeypatch.setattr(crf_module, '_densecrf', lambda: None)
    recorder = _Recorder(label=7)
    monkeypatch.setattr(crf_module, 'dense_crf', recorder)
    segmentor = build_segmentor(Config.fromfile(os.path.join(ROOT, TOY)))
    model = DenseCRFModel(segmentor, bi_w=5.0)
    bgr = torch.zeros(3, 8, 12, dtype=torch.uint8)
    bgr[0] = 10   # blue
    bgr[2] = 200  # red
    sample = SegDataSample(metainfo=dict(img_shape=(8, 12), ori_shape=(16, 24), pad_shape=(8, 12)))
    out = model.test_step(dict(inputs=[bgr], data_samples=[sample]))[0]
    probs, image, kwargs = recorder.calls[0]
    assert probs.shape == (19, 16, 24) and np.allclose(probs.sum(0), 1, atol=1e-5)
    assert image.shape == (16, 24, 3) and image.dtype == np.uint8
    assert tuple(image[3, 5]) == (200, 0, 10)  # RGB for the CRF
    assert kwargs['bi_w'] == 5.0 and kwargs['iterations'] == 10
    assert (out.pred_sem_seg.data == 7).all()
    assert out.seg_logits.data.argmax(0).eq(7).all()


def test_a_missing_package_is_a_clear_error(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_crf(name, *args, **kwargs):
        if name.startswith('pydensecrf'):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, '__import__', no_crf)
    with pytest.raises(UserError, match='pip install pydensecrf2'):
        dense_crf(np.full((2, 4, 4), 0.5, np.float32), np.zeros((4, 4, 3), np.uint8))


FAKE_PACKAGE = '''
import numpy as np


class DenseCRF2D:
    """Stand-in: the marginals put every pixel in class {label}."""

    def __init__(self, width, height, classes):
        self.shape = (classes, height * width)

    def setUnaryEnergy(self, unary):
        assert unary.shape == self.shape and unary.dtype == np.float32

    def addPairwiseGaussian(self, **kwargs):
        pass

    def addPairwiseBilateral(self, rgbim, **kwargs):
        assert rgbim.dtype == np.uint8 and rgbim.flags.c_contiguous

    def inference(self, iterations):
        q = np.full(self.shape, 0.01, np.float32)
        q[{label}] = 1.0
        return q / q.sum(0, keepdims=True)
'''


def test_tools_test_crf_refines_and_labels_the_run(tool, tmp_path):
    init_default_scope('faceparse_mm')
    root = tmp_path / 'data'
    _tta_dataset(root)
    model = build_segmentor(Config.fromfile(os.path.join(ROOT, TOY)))
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), tmp_path / 'toy.pth')
    fake = tmp_path / 'fake' / 'pydensecrf'
    fake.mkdir(parents=True)
    (fake / '__init__.py').write_text('')
    (fake / 'densecrf.py').write_text(textwrap.dedent(FAKE_PACKAGE.format(label=4)))  # l_eye
    env = dict(PYTHONPATH=os.pathsep.join([ROOT, str(tmp_path / 'fake')]))

    def run(*flags):
        work = tmp_path / f'work{len(flags)}'
        proc = tool('tools/test.py', TOY, str(tmp_path / 'toy.pth'), '--work-dir', str(work),
                    *flags, '--cfg-options', f'test_dataloader.dataset.data_root={root}', env=env)
        return proc, work

    proc, work = run('--crf')
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = json.loads((work / 'test_metrics.json').read_text())
    assert record['crf'] is True and record['tta'] is False
    # the toy alone is perfect; the stand-in CRF labels everything l_eye: half the face is wrong
    assert record['metrics']['IoU.l_eye'] == pytest.approx(50.0)
    assert record['metrics']['IoU.r_eye'] == 0.0
    proc, _ = run('--crf', '--tta')
    assert proc.returncode != 0 and '--tta and --crf' in proc.stderr
