"""Fault injection for every file the project writes: a write that fails part-way leaves the
previous file intact and nothing partial under the final name; old checkpoints are removed only
after the new one is complete. (A real ``kill -9`` during training: test_resume_after_kill.py.)"""
import builtins
import collections
import csv
import json
import os

import cv2
import pytest
import torch
from mmengine.fileio import LocalBackend

import faceparse_mm.converters.core as converters
import faceparse_mm.utils.io as io_module
from faceparse_mm.datasets import celebamask_convert
from faceparse_mm.datasets.synthetic import make_synthetic_celebamask
from faceparse_mm.engine.hooks import AtomicCheckpointHook
from tests.infer_toy import CONFIG as INFER_CONFIG
from tests.infer_toy import faces, write_checkpoint
from tools import infer
from tools.analysis import collect_results


class Injected(OSError):
    """The fault the tests inject."""


def _half_writing_open(path, mode='r', *args, **kwargs):
    """``open`` whose files write half of what they are given, then fail."""
    f = builtins.open(path, mode, *args, **kwargs)
    if 'w' not in mode and 'a' not in mode:
        return f
    write = f.write

    def broken(data):
        write(data[:max(1, len(data) // 2)])
        f.flush()
        raise Injected(f'injected failure writing {path}')
    f.write = broken
    return f


_torch_save = torch.save


def _half_writing_save(obj, path, *args, **kwargs):
    _torch_save(obj, path, *args, **kwargs)
    size = os.path.getsize(path)
    with builtins.open(path, 'r+b') as f:
        f.truncate(size // 2)
    raise Injected(f'injected failure saving {path}')


def _no_partial_files(folder, final_names):
    """Nothing but the expected files under their final names (no temporary litter)."""
    names = set(os.listdir(folder))
    assert names <= set(final_names), sorted(names - set(final_names))


# --------------------------------------------------------------------------------------------
# text and JSON (split files, meta.json, last_checkpoint, test_metrics.json, curves)
# --------------------------------------------------------------------------------------------

def test_text_and_json_writes_keep_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / 'splits' / 'train.txt'
    io_module.write_text_atomic(str(path), '1\n2\n3\n')
    io_module.write_json_atomic(str(tmp_path / 'splits' / 'meta.json'), dict(split='official'))
    monkeypatch.setattr(io_module, 'open', _half_writing_open, raising=False)
    with pytest.raises(Injected):
        io_module.write_text_atomic(str(path), '9\n' * 1000)
    with pytest.raises(Injected):
        io_module.write_json_atomic(str(tmp_path / 'splits' / 'meta.json'), dict(split='random'))
    assert path.read_text() == '1\n2\n3\n'
    assert json.loads((tmp_path / 'splits' / 'meta.json').read_text()) == dict(split='official')
    _no_partial_files(tmp_path / 'splits', ['train.txt', 'meta.json'])


# --------------------------------------------------------------------------------------------
# the dataset converter: label maps, split files, metadata
# --------------------------------------------------------------------------------------------

@pytest.fixture
def converted(tmp_path):
    root = tmp_path / 'release'
    make_synthetic_celebamask(str(root), num=6, image_size=32, mask_size=32, seed=0)
    celebamask_convert.convert(str(root), split='random', progress=False, log=lambda m: None)
    return root


def test_converter_keeps_previous_label_maps_when_a_write_fails(converted, monkeypatch):
    before = {p.name: p.read_bytes() for p in (converted / 'mask').iterdir()}
    # a changed part mask makes image 0 out of date, so it is converted again
    part = next((converted / 'CelebAMask-HQ-mask-anno' / '0').glob('00000_skin.png'))
    mask = cv2.imread(str(part))
    mask[:] = 255
    cv2.imwrite(str(part), mask)
    os.utime(part, (os.path.getmtime(part) + 10,) * 2)

    def half_imwrite(path, img, *args):
        ok, data = cv2.imencode('.png', img)
        with builtins.open(path, 'wb') as f:
            f.write(data.tobytes()[:len(data) // 2])
        raise Injected(f'injected failure writing {path}')
    monkeypatch.setattr(celebamask_convert.cv2, 'imwrite', half_imwrite)
    with pytest.raises(Injected):
        celebamask_convert.convert(str(converted), split='random', progress=False,
                                   log=lambda m: None)
    after = {p.name: p.read_bytes() for p in (converted / 'mask').iterdir()}
    assert after == before
    _no_partial_files(converted / 'mask', before)


def test_converter_keeps_previous_splits_and_metadata_when_a_write_fails(converted, monkeypatch):
    split_dir = converted / 'splits'
    before = {p.name: p.read_bytes() for p in split_dir.iterdir()}
    monkeypatch.setattr(io_module, 'open', _half_writing_open, raising=False)
    with pytest.raises(Injected):  # a different split: every split file would change
        celebamask_convert.convert(str(converted), split='random', seed=5, progress=False,
                                   log=lambda m: None)
    assert {p.name: p.read_bytes() for p in split_dir.iterdir()} == before


# --------------------------------------------------------------------------------------------
# checkpoints
# --------------------------------------------------------------------------------------------

class FakeRunner:
    """What AtomicCheckpointHook uses of a Runner; ``events`` records file operations."""

    def __init__(self, work_dir, events, fail=False):
        self.work_dir = str(work_dir)
        self.events = events
        self.fail = fail
        self.iter, self.epoch = 0, 0
        self.message_hub = type('Hub', (), dict(
            info={}, update_info=lambda s, k, v: s.info.__setitem__(k, v),
            get_info=lambda s, k: s.info.get(k), runtime_info=property(lambda s: s.info)))()
        self.logger = type('Logger', (), dict(info=lambda s, m: None))()

    def save_checkpoint(self, out_dir, filename, *args, **kwargs):
        path = os.path.join(out_dir, filename)
        saver = _half_writing_save if self.fail else _torch_save
        saver(dict(state_dict=dict(w=torch.full((256,), float(self.iter))),
                   meta=dict(iter=self.iter)), path)
        self.events.append(('saved', filename))


def _hook(work_dir, events, **kwargs):
    hook = AtomicCheckpointHook(by_epoch=False, interval=1, **kwargs)
    hook.out_dir = str(work_dir)
    hook.file_backend = LocalBackend()
    hook.keep_ckpt_ids = collections.deque()
    remove = hook.file_backend.remove

    def recording_remove(path):
        events.append(('removed', os.path.basename(path)))
        remove(path)
    hook.file_backend.remove = recording_remove
    return hook


def test_a_failed_checkpoint_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    events = []
    hook = _hook(tmp_path, events, max_keep_ckpts=1)
    runner = FakeRunner(tmp_path, events)
    runner.iter = 10
    hook._save_checkpoint_with_step(runner, 10, {})
    good = (tmp_path / 'iter_10.pth').read_bytes()
    runner.fail, runner.iter = True, 20
    with pytest.raises(Injected):
        hook._save_checkpoint_with_step(runner, 20, {})
    assert (tmp_path / 'iter_10.pth').read_bytes() == good
    assert not (tmp_path / 'iter_20.pth').exists()
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'iter_10.pth')
    assert torch.load(tmp_path / 'iter_10.pth', weights_only=True)['meta']['iter'] == 10


def test_the_oldest_checkpoint_is_removed_only_after_the_new_one_is_complete(tmp_path):
    events = []
    hook = _hook(tmp_path, events, max_keep_ckpts=1)
    runner = FakeRunner(tmp_path, events)
    for step in (10, 20):
        runner.iter = step
        hook._save_checkpoint_with_step(runner, step, {})
    saved = events.index(('saved', '.iter_20.pth.partial'))
    removed = events.index(('removed', 'iter_10.pth'))
    assert saved < removed, events
    assert sorted(os.listdir(tmp_path)) == ['iter_20.pth', 'last_checkpoint']


def test_a_failed_best_checkpoint_write_keeps_the_previous_best(tmp_path):
    events = []
    hook = _hook(tmp_path, events, max_keep_ckpts=1, save_best='mF1', rule='greater')
    runner = FakeRunner(tmp_path, events)
    runner.iter = 10
    hook._save_best_checkpoint(runner, dict(mF1=50.0))
    best = tmp_path / 'best_mF1_iter_10.pth'
    good = best.read_bytes()
    runner.iter, runner.fail = 20, True
    with pytest.raises(Injected):
        hook._save_best_checkpoint(runner, dict(mF1=60.0))
    assert best.read_bytes() == good
    assert not (tmp_path / 'best_mF1_iter_20.pth').exists()


def test_the_previous_best_checkpoint_is_removed_after_the_new_one_is_complete(tmp_path):
    events = []
    hook = _hook(tmp_path, events, max_keep_ckpts=1, save_best='mF1', rule='greater')
    runner = FakeRunner(tmp_path, events)
    for step, score in ((10, 50.0), (20, 40.0), (30, 60.0)):
        runner.iter = step
        hook._save_best_checkpoint(runner, dict(mF1=score))
    assert events.index(('saved', '.best_mF1_iter_30.pth.partial')) < events.index(
        ('removed', 'best_mF1_iter_10.pth'))
    assert [p for p in os.listdir(tmp_path) if p.startswith('best')] == ['best_mF1_iter_30.pth']


# --------------------------------------------------------------------------------------------
# converted checkpoints and result CSVs
# --------------------------------------------------------------------------------------------

def test_a_failed_checkpoint_conversion_keeps_the_previous_output(tmp_path, monkeypatch):
    from tests.tools.test_face_parsing_converter import KEYS, formula_state_dict
    src, dst = tmp_path / 'authors.pth', tmp_path / 'converted.pth'
    torch.save(formula_state_dict(json.load(open(KEYS))['keys']), src)
    converters.main('face_parsing_pytorch', [str(src), str(dst)])
    good = dst.read_bytes()
    monkeypatch.setattr(converters.torch, 'save', _half_writing_save)
    with pytest.raises(Injected):
        converters.main('face_parsing_pytorch', [str(src), str(dst)])
    assert dst.read_bytes() == good
    _no_partial_files(tmp_path, ['authors.pth', 'converted.pth'])


def test_a_failed_results_write_keeps_the_previous_csv(tmp_path, monkeypatch):
    out = tmp_path / 'zoo.csv'
    collect_results.write_csv([dict(config='configs/demo/a_demo.py', mF1=50.0)], str(out))
    good = out.read_bytes()
    monkeypatch.setattr(collect_results, 'open', _half_writing_open, raising=False)
    with pytest.raises(Injected):
        collect_results.write_csv([dict(config='configs/demo/b_demo.py', mF1=1.0)], str(out),
                                  merge=True)
    assert out.read_bytes() == good
    assert [r['config'] for r in csv.DictReader(open(out))] == ['configs/demo/a_demo.py']
    _no_partial_files(tmp_path, ['zoo.csv'])


# --------------------------------------------------------------------------------------------
# tools/infer.py: label maps
# --------------------------------------------------------------------------------------------

def test_infer_keeps_the_previous_label_map_when_a_write_fails(tmp_path, monkeypatch):
    ckpt = write_checkpoint(tmp_path / 'toy.pth')
    a, b = faces(2, size=48, seed=4)
    image, out, fresh = tmp_path / 'face.png', tmp_path / 'out', tmp_path / 'fresh'
    cv2.imwrite(str(image), a)
    assert infer.main([INFER_CONFIG, ckpt, str(image), '--out', str(out)]) == 0
    good = (out / 'face.png').read_bytes()
    cv2.imwrite(str(image), b)  # another face under the same name

    def half_imwrite(path, img, *args):
        ok, data = cv2.imencode('.png', img)
        with builtins.open(path, 'wb') as f:
            f.write(data.tobytes()[:len(data) // 2])
        raise Injected(f'injected failure writing {path}')
    monkeypatch.setattr(infer.cv2, 'imwrite', half_imwrite)
    for folder in (out, fresh):
        with pytest.raises(Injected):
            infer.main([INFER_CONFIG, ckpt, str(image), '--out', str(folder)])
    assert (out / 'face.png').read_bytes() == good
    _no_partial_files(out, ['face.png', 'summary.csv'])
    _no_partial_files(fresh, [])  # no label map under its final name


def test_the_injection_works_without_atomic_writes(tmp_path, monkeypatch):
    """The faults above are real: written in place, the same failure destroys the old file."""
    path = tmp_path / 'x.txt'
    path.write_text('old')
    with pytest.raises(Injected):
        with _half_writing_open(str(path), 'w') as f:
            f.write('new content')
    assert path.read_text() == 'new c'  # half of the new text: the old one is gone
