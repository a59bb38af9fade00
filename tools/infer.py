"""Parse faces in images, folders and videos with a trained model.

    python tools/infer.py CONFIG CHECKPOINT INPUT... --out DIR [--tta] [--device D] [--batch B]
        [--overlay] [--video-fps F]

INPUT: image files, folders (searched recursively; only files with an image extension are taken)
or video files (``.mp4 .avi .mov .mkv .webm .m4v``, decoded with OpenCV). Writes

- ``DIR/<name>.png``: the label map, 8-bit class ids, at the image's size;
- ``DIR/<name>_overlay.jpg`` with ``--overlay``: the labels over the image, with a legend of the
  classes present;
- for a video, ``DIR/<name>/<frame>.png`` label maps (frames numbered from 000000) and
  ``DIR/<name>_overlay.mp4``, the overlay video (no legend; ``--video-fps``: its frame rate,
  by default the input's);
- ``DIR/summary.csv``: one row per image or frame (name, source, height, width) with the
  fraction of the pixels in each class, one column per class name (each row sums to 1).

``<name>`` is a file's stem, or for a file found in a folder its path relative to that folder
without the extension (``faces/a/1.jpg`` -> ``a/1``), so equal stems in different sub-folders do
not collide; names that still collide get the extension (``1_jpg``, ``1_png``), then a counter.
Class names and palette come from the checkpoint (``FaceParser``).

A file that cannot be read is reported on stderr by name and skipped; the exit status is 1 when
any input failed, 2 for a bad config, checkpoint or option, 130 when interrupted. Every file is
written under a temporary name and renamed, and ``summary.csv`` is rewritten (atomically) as it
grows and once more on the way out, so an interrupted run keeps everything it finished.
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import os.path as osp
import sys
import time
from typing import NamedTuple

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

import faceparse_mm  # noqa: E402,F401  (applies compat before mmseg is imported)
from faceparse_mm.apis import FaceParser, read_image  # noqa: E402
from faceparse_mm.errors import FaceDataError, UserError  # noqa: E402
from faceparse_mm.utils.cli import cli_errors  # noqa: E402
from faceparse_mm.utils.io import atomic_path, write_text_atomic  # noqa: E402
from faceparse_mm.visualization import add_legend, class_areas, overlay_labels  # noqa: E402

IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')
VIDEO_EXTS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v')
SUMMARY = 'summary.csv'
#: seconds between two rewrites of summary.csv while a run goes on
SUMMARY_EVERY_S = 2.0


class Item(NamedTuple):
    kind: str  # 'image' or 'video'
    path: str
    name: str  # output name, '/'-separated, no extension
    in_folder: bool


def _name(path: str) -> str:
    return osp.splitext(path)[0].replace(os.sep, '/')


def collect(inputs: list[str], exclude: str | None = None) -> tuple[list[Item], list[str]]:
    """The items to parse (in command-line order, folders sorted) and the inputs not found.
    Files under ``exclude`` (the output folder) are left out of folder searches."""
    items, missing = [], []
    exclude = osp.abspath(exclude) + os.sep if exclude else None
    for inp in inputs:
        if osp.isdir(inp):
            found = []
            for root, dirs, files in os.walk(inp):
                dirs.sort()
                for f in sorted(files):
                    path = osp.join(root, f)
                    if exclude and osp.abspath(path).startswith(exclude):
                        continue
                    if osp.splitext(f)[1].lower() in IMAGE_EXTS:
                        found.append(Item('image', path, _name(osp.relpath(path, inp)), True))
            items.extend(found)
        elif osp.isfile(inp):
            kind = 'video' if osp.splitext(inp)[1].lower() in VIDEO_EXTS else 'image'
            items.append(Item(kind, inp, _name(osp.basename(inp)), False))
        else:
            missing.append(inp)
    return disambiguate(items), missing


def disambiguate(items: list[Item]) -> list[Item]:
    """Make output names unique: a name used twice gets the file's extension, then a counter."""
    def dupes(names):
        seen = {}
        for n in names:
            seen[n.lower()] = seen.get(n.lower(), 0) + 1
        return {n for n, c in seen.items() if c > 1}

    clash = dupes(i.name for i in items)
    items = [i._replace(name=f'{i.name}_{osp.splitext(i.path)[1].lstrip(".").lower()}')
             if i.name.lower() in clash else i for i in items]
    clash, used, out = dupes(i.name for i in items), {}, []
    for i in items:
        if i.name.lower() in clash:
            used[i.name.lower()] = used.get(i.name.lower(), 0) + 1
            i = i._replace(name=f'{i.name}-{used[i.name.lower()]}')
        out.append(i)
    return out


def _imwrite(path: str, img: np.ndarray, params=()) -> None:
    with atomic_path(path) as tmp:
        if not cv2.imwrite(tmp, img, list(params)):
            raise OSError(f'could not write {path}')


class Outputs:
    """Writes label maps, overlays and the summary under ``out``."""

    def __init__(self, out: str, parser: FaceParser, overlay: bool) -> None:
        self.out, self.parser, self.overlay = out, parser, overlay
        self.rows: list[list] = []
        self.last_flush = 0.0
        os.makedirs(out, exist_ok=True)

    def path(self, name: str, suffix: str) -> str:
        return osp.join(self.out, *name.split('/')) + suffix

    def add(self, name: str, source: str, image: np.ndarray, labels: np.ndarray,
            frame: bool = False) -> np.ndarray | None:
        """Write the label map (and with ``--overlay`` the overlay) of one image and add its
        row; a video ``frame`` gets no overlay file, its overlay (returned) goes to the video."""
        _imwrite(self.path(name, '.png'), labels)
        drawn = None
        if frame or self.overlay:
            drawn = overlay_labels(image, labels, self.parser.palette)
        if self.overlay and not frame:
            _imwrite(self.path(name, '_overlay.jpg'),
                     add_legend(drawn, labels, self.parser.classes, self.parser.palette),
                     (cv2.IMWRITE_JPEG_QUALITY, 92))
        areas = class_areas(labels, len(self.parser.classes))
        self.rows.append([name, source, labels.shape[0], labels.shape[1],
                          *(f'{a:.6f}' for a in areas)])
        return drawn

    def flush(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_flush < SUMMARY_EVERY_S:
            return
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator='\n')
        writer.writerow(['name', 'source', 'height', 'width', *self.parser.classes])
        writer.writerows(self.rows)
        write_text_atomic(osp.join(self.out, SUMMARY), buf.getvalue())
        self.last_flush = now


def _fail(message: str, failures: list[str], bar=None) -> None:
    failures.append(message)
    (bar.write if bar is not None else print)(f'error: {message}', file=sys.stderr)


def parse_images(items: list[Item], parser: FaceParser, outputs: Outputs, batch: int,
                 failures: list[str], bar) -> None:
    for start in range(0, len(items), batch):
        chunk, images = [], []
        for item in items[start:start + batch]:
            try:
                images.append(read_image(item.path))
                chunk.append(item)
            except FaceDataError as err:
                _fail(str(err), failures, bar)
                bar.update(1)
        if not images:
            continue
        for item, image, labels in zip(chunk, images, parser(images)):
            outputs.add(item.name, item.path, image, labels)
        bar.update(len(chunk))
        outputs.flush()


def _video_writer(path: str, fps: float, size) -> cv2.VideoWriter:
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps, size)
    if not writer.isOpened():
        raise OSError(f'cannot write video {path} (OpenCV has no mp4v encoder here)')
    return writer


def parse_video(item: Item, parser: FaceParser, outputs: Outputs, batch: int, fps: float | None,
                failures: list[str], bar) -> None:
    cap = cv2.VideoCapture(item.path)
    if not cap.isOpened():
        _fail(f'cannot read video {item.path}: OpenCV cannot open it', failures, bar)
        return
    fps = fps or cap.get(cv2.CAP_PROP_FPS) or 25.0
    if bar.total is not None:
        bar.total += max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT)))
        bar.refresh()
    final = outputs.path(item.name, '_overlay.mp4')
    writer, frames, interrupted = None, 0, False
    with atomic_path(final) as tmp:
        try:
            done = False
            while not done:
                images = []
                while len(images) < batch:
                    ok, frame = cap.read()
                    if not ok:
                        done = True
                        break
                    images.append(frame)
                if not images:
                    break
                if writer is None:
                    writer = _video_writer(tmp, fps, (images[0].shape[1], images[0].shape[0]))
                for image, labels in zip(images, parser(images)):
                    drawn = outputs.add(f'{item.name}/{frames:06d}', f'{item.path}#{frames}',
                                        image, labels, frame=True)
                    writer.write(drawn)
                    frames += 1
                bar.update(len(images))
                outputs.flush()
        except KeyboardInterrupt:  # keep the frames finished so far: the video is closed below
            interrupted = True
        finally:
            cap.release()
            if writer is not None:
                writer.release()
        if frames == 0:
            if interrupted:
                raise KeyboardInterrupt
            raise FaceDataError(f'cannot read video {item.path}: no frame could be decoded')
    if interrupted:
        raise KeyboardInterrupt

def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('config')
    ap.add_argument('checkpoint')
    ap.add_argument('inputs', nargs='+', metavar='INPUT', help='images, folders or videos')
    ap.add_argument('--out', required=True, help='output folder')
    ap.add_argument('--tta', action='store_true', help='flip test-time augmentation (left/right '
                                                       'swap)')
    ap.add_argument('--device', default='cpu', help='cpu, cuda or cuda:N')
    ap.add_argument('--batch', type=int, default=4, help='images per forward pass')
    ap.add_argument('--overlay', action='store_true', help='also write <name>_overlay.jpg')
    ap.add_argument('--video-fps', type=float, default=None,
                    help='frame rate of overlay videos (default: the input\'s)')
    args = ap.parse_args(argv)
    if args.batch < 1:
        ap.error('--batch must be at least 1')
    if args.video_fps is not None and args.video_fps <= 0:
        ap.error('--video-fps must be positive')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    with cli_errors(checkpoint=args.checkpoint):
        parser = FaceParser(args.config, args.checkpoint, device=args.device, tta=args.tta,
                            batch_size=args.batch)
        items, missing = collect(args.inputs, exclude=args.out)
        if not items and not missing:
            raise UserError(f'no images or videos found in {" ".join(args.inputs)}')
    failures: list[str] = []
    for inp in missing:
        _fail(f'input not found: {inp}', failures)
    outputs = Outputs(args.out, parser, args.overlay)
    images = [i for i in items if i.kind == 'image']
    videos = [i for i in items if i.kind == 'video']
    show = any(i.in_folder for i in items) or bool(videos)
    bar = tqdm(total=len(images), unit='img', disable=not show, file=sys.stderr)
    try:
        parse_images(images, parser, outputs, args.batch, failures, bar)
        for video in videos:
            try:
                parse_video(video, parser, outputs, args.batch, args.video_fps, failures, bar)
            except FaceDataError as err:
                _fail(str(err), failures, bar)
    except KeyboardInterrupt:
        bar.close()
        outputs.flush(force=True)
        print(f'interrupted: {len(outputs.rows)} images and frames written to {args.out}',
              file=sys.stderr)
        return 130
    bar.close()
    outputs.flush(force=True)
    print(f'{len(outputs.rows)} images and frames parsed, written to {args.out} '
          f'({SUMMARY}: class areas)')
    if failures:
        print(f'{len(failures)} input(s) failed (see the errors above)', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
