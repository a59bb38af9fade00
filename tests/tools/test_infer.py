"""tools/infer.py: folders, videos, bad files, the summary, names, Ctrl-C; on the tiny parser of
tests/infer_toy.py."""
import csv
import os

import cv2
import numpy as np
import pytest

from faceparse_mm.apis import FaceParser
from tests.infer_toy import CONFIG, faces, write_checkpoint
from tools import infer

CLASS_COLUMNS = 19


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    return write_checkpoint(tmp_path_factory.mktemp('ckpt') / 'toy.pth')


def _folder(root):
    """root/top.png, root/a/1.jpg, root/b/1.jpg, root/b/c/2.png (images), root/notes.txt (not
    an image), root/b/bad.jpg (not decodable); returns the good files' output names."""
    imgs = faces(4, size=72, seed=1)
    for rel, img in zip(['top.png', 'a/1.jpg', 'b/1.jpg', 'b/c/2.png'], imgs):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), img)
    (root / 'notes.txt').write_text('not an image')
    (root / 'b' / 'bad.jpg').write_bytes(b'\xff\xd8 this is not a jpeg')
    return ['top', 'a/1', 'b/1', 'b/c/2']


def _summary(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def _video(path, frames=7, size=(80, 60), fps=10):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), fps, size)
    for img in faces(frames, size=64, seed=2):
        writer.write(cv2.resize(img, size))
    writer.release()


def _frames(path):
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


def test_names_keep_folder_paths_and_never_collide(tmp_path):
    for rel in ['x/1.jpg', 'x/1.png', 'x/a/1.jpg', 'x/b/1.jpg', 'x/readme.md', 'y/1.jpg',
                'x/out/old.png']:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b'')
    items, missing = infer.collect([str(tmp_path / 'x'), str(tmp_path / 'y' / '1.jpg'),
                                    str(tmp_path / 'nowhere')], exclude=str(tmp_path / 'x/out'))
    names = {os.path.relpath(i.path, tmp_path): i.name for i in items}
    assert names == {'x/1.jpg': '1_jpg-1', 'x/1.png': '1_png', 'x/a/1.jpg': 'a/1',
                     'x/b/1.jpg': 'b/1', 'y/1.jpg': '1_jpg-2'}
    assert missing == [str(tmp_path / 'nowhere')]


def test_a_folder_with_bad_files(tool, tmp_path, checkpoint):
    names = _folder(tmp_path / 'in')
    out = tmp_path / 'out'
    proc = tool('tools/infer.py', CONFIG, checkpoint, str(tmp_path / 'in'), '--out', str(out),
                '--overlay', '--batch', '3')
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert f'cannot read image {tmp_path / "in" / "b" / "bad.jpg"}' in proc.stderr
    assert 'notes' not in proc.stderr and 'Traceback' not in proc.stderr
    parser = FaceParser(CONFIG, checkpoint)
    for name, rel in zip(names, ['top.png', 'a/1.jpg', 'b/1.jpg', 'b/c/2.png']):
        labels = cv2.imread(str(out / f'{name}.png'), cv2.IMREAD_UNCHANGED)
        assert labels.dtype == np.uint8 and labels.shape == (72, 72)
        assert np.array_equal(labels, parser(str(tmp_path / 'in' / rel)))
        overlay = cv2.imread(str(out / f'{name}_overlay.jpg'))
        assert overlay.shape[0] == 72 and overlay.shape[1] > 72  # with the legend
    assert not list(out.rglob('bad*')) and not list(out.rglob('notes*'))
    assert not list(out.rglob('.*'))  # no temporary files left
    rows = _summary(out / 'summary.csv')
    assert [r['name'] for r in rows] == names
    for row in rows:
        areas = [float(v) for k, v in row.items() if k not in ('name', 'source', 'height',
                                                               'width')]
        assert len(areas) == CLASS_COLUMNS and abs(sum(areas) - 1) < 1e-4
        labels = cv2.imread(str(out / f'{row["name"]}.png'), cv2.IMREAD_UNCHANGED)
        assert float(row['hair']) == pytest.approx((labels == 17).mean(), abs=1e-6)


def test_a_video_gives_an_overlay_video_with_as_many_frames(tool, tmp_path, checkpoint):
    _video(tmp_path / 'clip.mp4', frames=7)
    out = tmp_path / 'out'
    proc = tool('tools/infer.py', CONFIG, checkpoint, str(tmp_path / 'clip.mp4'), '--out',
                str(out), '--batch', '3', '--video-fps', '5')
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert _frames(out / 'clip_overlay.mp4') == 7
    cap = cv2.VideoCapture(str(out / 'clip_overlay.mp4'))
    assert cap.get(cv2.CAP_PROP_FPS) == 5
    assert (cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (80, 60)
    cap.release()
    assert sorted(p.name for p in (out / 'clip').iterdir()) == [f'{i:06d}.png' for i in range(7)]
    rows = _summary(out / 'summary.csv')
    assert [r['name'] for r in rows] == [f'clip/{i:06d}' for i in range(7)]


def test_ctrl_c_keeps_what_was_written(tmp_path, checkpoint, monkeypatch):
    _folder(tmp_path / 'in')
    _video(tmp_path / 'clip.mp4', frames=7)
    calls = []
    original = FaceParser.__call__

    def interrupted(self, img, **kwargs):
        calls.append(len(img))
        if len(calls) == 5:  # three image batches, one video batch, then Ctrl-C
            raise KeyboardInterrupt
        return original(self, img, **kwargs)

    monkeypatch.setattr(FaceParser, '__call__', interrupted)
    out = tmp_path / 'out'
    code = infer.main([CONFIG, checkpoint, str(tmp_path / 'in'), str(tmp_path / 'clip.mp4'),
                       '--out', str(out), '--batch', '2'])
    assert code == 130
    rows = _summary(out / 'summary.csv')
    assert [r['name'] for r in rows] == ['top', 'a/1', 'b/1', 'b/c/2', 'clip/000000',
                                         'clip/000001']
    for row in rows:
        assert (out / f'{row["name"]}.png').is_file()
    assert _frames(out / 'clip_overlay.mp4') == 2  # the frames finished before Ctrl-C
    assert not list(out.rglob('.*'))


def test_a_missing_input_is_a_failure_named_on_stderr(tmp_path, checkpoint, capsys):
    """An input path that does not exist fails the run (exit status 1, the path on stderr);
    the inputs that exist are still parsed."""
    cv2.imwrite(str(tmp_path / 'face.png'), faces(1, size=64, seed=3)[0])
    missing = tmp_path / 'no_such_face.jpg'
    out = tmp_path / 'out'
    code = infer.main([CONFIG, checkpoint, str(tmp_path / 'face.png'), str(missing), '--out',
                       str(out)])
    err = capsys.readouterr().err
    assert code == 1, err
    assert f'error: input not found: {missing}' in err
    assert (out / 'face.png').is_file()
    assert [r['name'] for r in _summary(out / 'summary.csv')] == ['face']
