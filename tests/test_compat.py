import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch

from faceparse_mm import compat


def test_mmseg_imports_on_this_mmcv():
    import mmseg.models  # noqa: F401
    from mmseg.models.decode_heads import PSPHead  # noqa: F401


def _bilinear_reference(img, x, y):
    """Sample img (C, H, W) at pixel coordinates (x, y) (align_corners=False, zero padding)."""
    c, h, w = img.shape
    x0, y0 = int(np.floor(x)), int(np.floor(y))
    out = np.zeros(c)
    for yy, wy in ((y0, y0 + 1 - y), (y0 + 1, y - y0)):
        for xx, wx in ((x0, x0 + 1 - x), (x0 + 1, x - x0)):
            if 0 <= yy < h and 0 <= xx < w:
                out += wy * wx * img[:, yy, xx]
    return out


def test_point_sample_matches_bilinear_reference():
    from mmcv.ops import point_sample

    g = torch.Generator().manual_seed(0)
    img = torch.randn(2, 3, 7, 9, generator=g, dtype=torch.float64)
    pts = torch.rand(2, 11, 2, generator=g, dtype=torch.float64)
    out = point_sample(img, pts)
    assert out.shape == (2, 3, 11)
    for n in range(2):
        for p in range(11):
            # [0,1] coordinates with align_corners=False: pixel centre at (i + 0.5) / size
            x = pts[n, p, 0].item() * 9 - 0.5
            y = pts[n, p, 1].item() * 7 - 0.5
            ref = _bilinear_reference(img[n].numpy(), x, y)
            np.testing.assert_allclose(out[n, :, p].numpy(), ref, atol=1e-10)
    grid = point_sample(img, pts.view(2, 11, 1, 2))
    assert grid.shape == (2, 3, 11, 1)


def test_missing_op_raises_module_not_found():
    import mmcv
    if not isinstance(sys.modules['mmcv.ops'], compat._LiteOpsModule):
        pytest.skip('full mmcv installed: compat leaves mmcv.ops alone')
    with pytest.raises(ModuleNotFoundError, match='SomethingMissing'):
        from mmcv.ops import SomethingMissing  # noqa: F401
    with pytest.raises(ModuleNotFoundError):
        import mmcv.ops.multi_scale_deform_attn  # noqa: F401
    assert mmcv.ops.point_sample is compat.point_sample


def test_sigmoid_focal_loss_matches_mmseg_python_version():
    from mmseg.models.losses.focal_loss import py_sigmoid_focal_loss
    g = torch.Generator().manual_seed(1)
    pred = torch.randn(50, 5, generator=g)
    target = torch.randint(0, 5, (50,), generator=g)
    one_hot = torch.nn.functional.one_hot(target, 5).float()
    ours = compat.sigmoid_focal_loss(pred, target, 2.0, 0.3, None, 'none')
    ref = py_sigmoid_focal_loss(pred, one_hot, gamma=2.0, alpha=0.3, reduction='none')
    torch.testing.assert_close(ours, ref)
    assert torch.isclose(compat.sigmoid_focal_loss(pred, target, 2.0, 0.3, None, 'mean'),
                         ref.sum() / 50)


class _Evil:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f'touch {self.path}',))


def test_checkpoint_that_runs_code_is_refused(tmp_path):
    marker = tmp_path / 'pwned'
    ckpt = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': _Evil(marker)}, ckpt)
    with pytest.raises(compat.UnsafeCheckpointError, match='evil.pth'):
        compat.load_checkpoint(ckpt)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(ckpt, weights_only=True)
    assert not marker.exists()


class _GetattrEscape:
    """Pickles as getattr(HistoryBuffer, '__init__'): the real getattr would allow it."""

    def __reduce__(self):
        from mmengine.logging.history_buffer import HistoryBuffer
        return (getattr, (HistoryBuffer, '__init__'))


def test_restricted_getattr_only_reaches_history_buffer_methods(tmp_path):
    ckpt = tmp_path / 'escape.pth'
    torch.save({'x': _GetattrEscape()}, ckpt)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(ckpt, weights_only=True)


def test_mmengine_checkpoint_needs_the_allow_list(tmp_path):
    """A message hub like mmengine's resume state loads with weights_only=True only after compat
    (a fresh interpreter without faceparse_mm fails)."""
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance('compat_test')
    hub.update_scalar('train/loss', np.float64(0.5))
    hub.update_scalar('train/loss', 0.25)
    ckpt = tmp_path / 'hub.pth'
    torch.save({'message_hub': hub.state_dict(), 'meta': {'best_score': np.float32(1.5)}}, ckpt)
    loaded = torch.load(ckpt, weights_only=True)
    assert loaded['message_hub']['log_scalars']['train/loss'].current() == 0.25
    code = f'import torch; torch.load({str(ckpt)!r}, weights_only=True)'
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert proc.returncode != 0 and 'UnpicklingError' in proc.stderr
