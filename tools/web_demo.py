"""Serve a trained face parser on a local web page.

    python tools/web_demo.py CONFIG CHECKPOINT [--port P] [--host H] [--device D] [--tta]

Then open ``http://127.0.0.1:P/`` (default port 8080): drop a face photo on the page (or click
to choose one) and it shows the image, the overlay of the parsed classes and a legend with the
area of every class present (percent of the image). The page is served on 127.0.0.1 only, so
nothing outside this machine reaches it; ``--host 0.0.0.0`` serves the network, and then anyone
who reaches the port can run the model.

The page and the API use one :class:`faceparse_mm.apis.FaceParser` (class names and palette from
the checkpoint, any image size: resized to the model's input and the labels resized back). The
API, for scripts::

    curl --data-binary @face.jpg http://127.0.0.1:8080/api/parse

takes the image file's bytes as the request body (any format OpenCV decodes) and answers JSON:
``height``, ``width``, ``classes``, ``areas`` (class name -> fraction of the pixels, the classes
present) and ``labels_png``, the label map (8-bit class ids at the image's size) as a base64 PNG.
A body that is not an image gets status 400 and ``{"error": ...}``.

Built on NiceGUI (``pip install -e '.[web]'``).
"""

import argparse
import base64
import os.path as osp
import sys
import threading

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

import faceparse_mm  # noqa: E402,F401  (applies compat before mmseg is imported)
from faceparse_mm.apis import FaceParser  # noqa: E402
from faceparse_mm.errors import FaceDataError, UserError  # noqa: E402
from faceparse_mm.utils.cli import cli_errors  # noqa: E402
from faceparse_mm.visualization import add_legend, class_areas  # noqa: E402

#: largest upload the page accepts (bytes)
MAX_UPLOAD = 32 * 1024 * 1024


def decode_image(data: bytes, name: str = 'upload') -> np.ndarray:
    """The image in ``data`` (the bytes of an image file) as BGR uint8 (H, W, 3)."""
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if img is None:
        raise FaceDataError(f'{name}: not an image OpenCV can decode ({len(data)} bytes)')
    return img


def encode(img: np.ndarray, ext: str = '.png') -> bytes:
    ok, buf = cv2.imencode(ext, img)
    if not ok:
        raise FaceDataError(f'could not encode a {img.shape} image as {ext}')
    return buf.tobytes()


class Service:
    """One parser behind the page and the API; the model runs one request at a time."""

    def __init__(self, parser: FaceParser) -> None:
        self.parser = parser
        self._lock = threading.Lock()

    def parse(self, data: bytes, name: str = 'upload') -> dict:
        """Labels, overlay (with the legend) and class areas of the image file ``data``."""
        img = decode_image(data, name)
        with self._lock:
            labels = self.parser(img)
        areas = class_areas(labels, len(self.parser.classes))
        overlay = self.parser.overlay(img, labels)
        present = [int(i) for i in np.flatnonzero(areas)]
        return dict(
            image=img, labels=labels, overlay=overlay,
            legend=add_legend(overlay, labels, self.parser.classes, self.parser.palette),
            areas={self.parser.classes[i]: float(areas[i]) for i in present})

    def api_answer(self, data: bytes) -> dict:
        result = self.parse(data)
        return dict(height=int(result['labels'].shape[0]), width=int(result['labels'].shape[1]),
                    classes=list(self.parser.classes), areas=result['areas'],
                    labels_png=base64.b64encode(encode(result['labels'])).decode('ascii'))


def _data_url(img: np.ndarray) -> str:
    return 'data:image/jpeg;base64,' + base64.b64encode(encode(img, '.jpg')).decode('ascii')


def build_app(service: Service, title: str):
    """Register the page (``/``) and the API (``POST /api/parse``) with NiceGUI's app."""
    from fastapi import Request
    from fastapi.responses import JSONResponse
    from nicegui import app, run, ui

    @app.post('/api/parse')
    async def api_parse(request: Request):
        data = await request.body()
        try:
            answer = await run.io_bound(service.api_answer, data)
        except FaceDataError as err:
            return JSONResponse({'error': str(err)}, status_code=400)
        return JSONResponse(answer)

    @ui.page('/')
    def index():
        ui.label(title).classes('text-h6')
        ui.label('Drop a face photo below (or click + to choose one).')
        status = ui.label('')
        with ui.row().classes('w-full no-wrap items-start'):
            views = [ui.image().classes('w-1/3') for _ in range(2)]
            table = ui.table(columns=[
                dict(name='cls', label='class', field='cls', align='left'),
                dict(name='area', label='area (%)', field='area')], rows=[]).classes('w-1/3')

        async def handle(event):
            name = event.file.name or 'upload'
            status.set_text(f'parsing {name} ...')
            try:
                result = await run.io_bound(service.parse, await event.file.read(), name)
            except FaceDataError as err:
                status.set_text(str(err))
                return
            views[0].set_source(_data_url(result['image']))
            views[1].set_source(_data_url(result['legend']))
            table.rows = [dict(cls=k, area=f'{100 * v:.2f}') for k, v in result['areas'].items()]
            table.update()
            h, w = result['labels'].shape
            status.set_text(f'{name}: {w}x{h}, {len(result["areas"])} classes present')

        ui.upload(on_upload=handle, auto_upload=True, max_file_size=MAX_UPLOAD,
                  label='face photo').props('accept=image/*')


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('config')
    ap.add_argument('checkpoint')
    ap.add_argument('--port', type=int, default=8080)
    ap.add_argument('--host', default='127.0.0.1',
                    help='address to bind (default 127.0.0.1: this machine only)')
    ap.add_argument('--device', default='cpu', help='cpu, cuda or cuda:N')
    ap.add_argument('--tta', action='store_true', help='flip test-time augmentation')
    args = ap.parse_args(argv)
    if not 0 < args.port < 65536:
        ap.error('--port must be in 1..65535')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    with cli_errors(checkpoint=args.checkpoint):
        try:
            from nicegui import ui
        except ImportError as err:
            raise UserError("the web demo needs NiceGUI: pip install -e '.[web]'") from err
        parser = FaceParser(args.config, args.checkpoint, device=args.device, tta=args.tta)
    title = f'faceparse_mm: {osp.basename(args.config)}'
    build_app(Service(parser), title)
    print(f'serving {args.config} on http://{args.host}:{args.port}/ (Ctrl-C stops)', flush=True)
    ui.run(host=args.host, port=args.port, title=title, reload=False, show=False,
           uvicorn_logging_level='warning')
    return 0


if __name__ == '__main__':
    sys.exit(main())
