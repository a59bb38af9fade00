"""tools/web_demo.py: the server started as a user starts it, on a free local port, answering
the page and the API with FaceParser's labels; on the tiny parser of tests/infer_toy.py."""
import base64
import ipaddress
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import cv2
import numpy as np
import pytest

from faceparse_mm.apis import FaceParser
from faceparse_mm.visualization import class_areas
from tests.infer_toy import CONFIG, ROOT, faces, write_checkpoint
from tools import web_demo

pytest.importorskip('nicegui', reason="the web extra (pip install -e '.[web]'; dev has it)")

STARTUP_S = 180


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _post(url, body: bytes):
    request = urllib.request.Request(url, data=body, method='POST',
                                     headers={'Content-Type': 'application/octet-stream'})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    ckpt = write_checkpoint(tmp_path_factory.mktemp('web') / 'toy.pth', seed=3)
    port = _free_port()
    # as a user runs it: not under pytest (NiceGUI changes its port and startup under pytest)
    env = {k: v for k, v in os.environ.items() if not k.startswith('PYTEST_')}
    env['PYTHONPATH'] = ROOT
    proc = subprocess.Popen([sys.executable, 'tools/web_demo.py', CONFIG, ckpt, '--port',
                             str(port)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    base = f'http://127.0.0.1:{port}'
    deadline = time.time() + STARTUP_S
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f'web_demo exited with {proc.returncode}:\n{proc.stdout.read()}')
            try:
                with urllib.request.urlopen(base + '/', timeout=5) as page:
                    if page.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.time() > deadline:
                pytest.fail(f'web_demo did not answer within {STARTUP_S} s')
            time.sleep(0.5)
        yield base, ckpt
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.slow
def test_api_returns_face_parsers_labels_and_areas(server):
    base, ckpt = server
    face = cv2.resize(faces(1, size=96, seed=11)[0], (83, 71))  # not the model's 64x64
    status, answer = _post(base + '/api/parse', cv2.imencode('.png', face)[1].tobytes())
    assert status == 200, answer
    labels = cv2.imdecode(np.frombuffer(base64.b64decode(answer['labels_png']), np.uint8),
                          cv2.IMREAD_UNCHANGED)
    parser = FaceParser(CONFIG, ckpt)
    expected = parser(face)
    assert (answer['height'], answer['width']) == face.shape[:2] == labels.shape
    assert len(np.unique(expected)) > 1  # a label map that can disagree
    np.testing.assert_array_equal(labels, expected)
    assert answer['classes'] == list(parser.classes)
    areas = class_areas(expected, len(parser.classes))
    assert answer['areas'] == pytest.approx(
        {parser.classes[i]: areas[i] for i in np.flatnonzero(areas)})


@pytest.mark.slow
def test_page_is_served_and_a_non_image_is_refused(server):
    base, _ = server
    with urllib.request.urlopen(base + '/', timeout=30) as page:
        html = page.read().decode()
    assert 'infer_toy_config.py' in html  # the page's title names the config
    status, answer = _post(base + '/api/parse', b'not an image')
    assert status == 400 and 'not an image' in answer['error']


def test_the_page_is_served_on_this_machine_only_by_default(tmp_path, monkeypatch, capsys):
    """Without --host the server binds a loopback address; --host is passed on as given."""
    from nicegui import ui

    ckpt = write_checkpoint(tmp_path / 'toy.pth')
    bound = []
    monkeypatch.setattr(web_demo, 'build_app', lambda service, title: None)
    monkeypatch.setattr(ui, 'run', lambda **kwargs: bound.append(kwargs['host']))
    assert web_demo.main([CONFIG, ckpt]) == 0
    assert web_demo.main([CONFIG, ckpt, '--host', '0.0.0.0']) == 0
    assert ipaddress.ip_address(bound[0]).is_loopback
    assert bound[1] == '0.0.0.0'
    assert f'http://{bound[0]}:8080/' in capsys.readouterr().out
