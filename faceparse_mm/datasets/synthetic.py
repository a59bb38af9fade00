"""Procedural synthetic faces written in CelebAMask-HQ's exact on-disk layout.

The real release cannot be downloaded everywhere; tests, the demo and CI use faces generated here
and read by the same converter and dataset code as the real data. Layout::

    OUT/CelebA-HQ-img/{i}.jpg                      image_size x image_size RGB JPEG
    OUT/CelebAMask-HQ-mask-anno/{i // 2000}/{i:05d}_{part}.png
                                                   mask_size x mask_size, 3-channel, 0/255,
                                                   only the parts present
    OUT/CelebA-HQ-to-CelebA-mapping.txt            "idx orig_idx orig_file", 0-based orig_idx
    OUT/list_eval_partition.txt                    "000001.jpg 0" for every mapped file
    OUT/CelebAMask-HQ-pose-anno.txt                the count, "Yaw Pitch Raw", then
                                                   "{i}.jpg yaw pitch roll" (degrees): the pose
                                                   each face was drawn with (``face_pose``)

In memory, ``render_face`` returns the image as uint8 (image_size, image_size, 3) RGB and the masks
as {part name: bool (mask_size, mask_size)} for the parts present; ``merge_masks`` turns masks into
the expected uint8 label map (ids 1..18 = ``PART_NAMES`` index + 1, painted in id order).

Conventions: ``l_*`` parts are the **person's left**, which appears on the **image's right** (larger
x) in an unflipped, unrotated face. Every part is a set of polygons in a canonical unit square,
mapped by one random similarity transform (rotation up to ``max_rotation`` degrees, scale,
shift) and rasterised at both resolutions from the same continuous coordinates, so image and masks
align. Each part's mask is its whole annotated region; masks overlap (hair over forehead and ears,
hat over hair, glasses over eyes) and the image is painted in id order 1..18 like the converter
paints labels, so the merged label is what the image shows.

What makes the task non-trivial: mild yaw (features shifted sideways, the far-side eye, brow and
ear smaller), skin-coloured nose/ears/neck told apart only by position and shading, hair/hat/cloth/
background colours drawn from overlapping ranges, a shading gradient and texture noise on every
region, thin parts (brows, lips, earrings, glasses frames), see-through lenses labelled as glasses,
and optional parts with realistic frequencies (glasses ~20%, hat ~15%, earrings ~15%, necklace
~10%, open mouth ~40%, ears ~70%).

Reproducibility: a face is a function of its ``rng`` alone. The geometry and rendering helpers
below draw from it in a fixed order; reordering, adding or skipping a draw changes every face.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import importlib.util
import math
import multiprocessing
import os
import os.path as osp
import time
from typing import NamedTuple

import cv2
import numpy as np

if __package__:
    from .class_table import CLASS_ID, CLASSES, PART_NAMES
else:  # loaded as a lone file (tools/make_synthetic_celebamask.py, which avoids torch/mmseg):
    # load the class table (a leaf module) from its file next to this one
    _spec = importlib.util.spec_from_file_location(
        'faceparse_mm_class_table', osp.join(osp.dirname(osp.abspath(__file__)), 'class_table.py'))
    _class_table = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_class_table)
    CLASS_ID, CLASSES, PART_NAMES = (_class_table.CLASS_ID, _class_table.CLASSES,
                                     _class_table.PART_NAMES)

__all__ = ['PART_NAMES', 'render_face', 'merge_masks', 'make_synthetic_celebamask',
           'setup_generator_process', 'face_pose', 'yaw_degrees', 'write_pose_file']

CELEBA_SIZE = 202599
#: 1-based CelebA file numbers: 1..162770 train, 162771..182637 val, 182638..202599 test
CELEBA_TRAIN_LAST, CELEBA_VAL_LAST = 162770, 182637
_SHIFT = 4  # sub-pixel bits for cv2 drawing
# masks are 0/255 blocks: no row filter + run-length deflate; a 512x512 3-channel mask writes in
# 1.5 ms (4.6 ms with IMWRITE_PNG_COMPRESSION=1 + RLE) and the file comes out smaller
_PNG_FAST = [cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE]
if hasattr(cv2, 'IMWRITE_PNG_FILTER'):  # OpenCV >= 4.10
    _PNG_FAST += [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_NONE]
#: (x sign, side prefix): the person's left (``l_*``) is on the image's right (+x)
_SIDES = ((+1, 'l'), (-1, 'r'))
#: the far side's eye, brow and ear shrink by 1 - _FAR_SIDE_SHRINK * |yaw| (``_head``)
_FAR_SIDE_SHRINK = 0.35
#: a frontal face's eye centres sit _EYE_OFFSET face half-widths from its centre line
_EYE_OFFSET = 0.42
POSE_FILE = 'CelebAMask-HQ-pose-anno.txt'


# ------------------------------------------------------------------------------------------
# geometry in the canonical unit square
# ------------------------------------------------------------------------------------------


def _ellipse(cx, cy, ax, ay, angle=0.0, n=40):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    c, s = math.cos(angle), math.sin(angle)
    x, y = ax * np.cos(t), ay * np.sin(t)
    return np.stack([cx + c * x - s * y, cy + s * x + c * y], 1)


def _bezier(p0, p1, p2, n=16):
    t = np.linspace(0, 1, n)[:, None]
    p0, p1, p2 = map(np.asarray, (p0, p1, p2))
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t ** 2 * p2


class _Part:
    """Filled polygons plus stroked polylines (width in unit-square units)."""

    def __init__(self):
        self.polys: list[np.ndarray] = []
        self.lines: list[tuple[np.ndarray, float]] = []
        self.holes: list[np.ndarray] = []

    def hole(self, pts):
        self.holes.append(np.asarray(pts, np.float64))
        return self

    def poly(self, pts):
        self.polys.append(np.asarray(pts, np.float64))
        return self

    def line(self, pts, width):
        self.lines.append((np.asarray(pts, np.float64), width))
        return self


class _Head(NamedTuple):
    """The measures every part is placed by (unit-square units)."""

    cx: float  # centre of the canonical face
    cy: float
    fw: float  # half-width of the face oval
    fh: float  # half-height of the face oval
    yaw: float  # in -0.6..0.6; > 0 turns the face towards +x
    dx: float  # sideways shift of the features that the yaw causes
    side_scale: dict  # x sign -> size factor of that side's eye, brow and ear
    outline: np.ndarray  # the face oval (the skin part)


def _head(rng) -> _Head:
    """Draw the face oval, its proportions and the yaw."""
    cx, cy = 0.5, 0.46
    fw = rng.uniform(0.16, 0.21)
    fh = fw * rng.uniform(1.2, 1.42)
    yaw = rng.uniform(-0.6, 0.6)
    dx = yaw * fw * 0.3
    # near side (the one the face turns away from) keeps its size, the far side shrinks
    side_scale = {+1: 1 - max(yaw, 0) * _FAR_SIDE_SHRINK,
                  -1: 1 - max(-yaw, 0) * _FAR_SIDE_SHRINK}
    outline = _ellipse(cx + dx * 0.3, cy, fw, fh)
    return _Head(cx, cy, fw, fh, yaw, dx, side_scale, outline)


def _eyes_and_brows(rng, head: _Head, parts: dict) -> dict:
    """Add both eyes (ellipses) and brows (arched strokes); return {side: (x, y, w, h)} of the
    eyes."""
    cx, cy, fw, fh, dx = head.cx, head.cy, head.fw, head.fh, head.dx
    eye_y = cy - 0.14 * fh + rng.uniform(-0.02, 0.02) * fh
    brow_y = cy - 0.40 * fh
    eyes = {}
    for sign, side in _SIDES:
        s = head.side_scale[sign]
        ex = cx + dx + sign * _EYE_OFFSET * fw * (0.85 + 0.15 * s)
        ew = 0.2 * fw * s * rng.uniform(0.9, 1.1)
        eh = ew * rng.uniform(0.33, 0.5)
        eyes[side] = (ex, eye_y, ew, eh)
        parts[f'{side}_eye'] = _Part().poly(_ellipse(ex, eye_y, ew, eh))
        bw = ew * rng.uniform(1.15, 1.4)
        arch = rng.uniform(0.01, 0.03) * fh * 4
        by = brow_y + rng.uniform(-0.02, 0.02) * fh
        brow = _bezier((ex - bw, by + 0.25 * arch), (ex + sign * 0.2 * bw, by - arch),
                       (ex + bw, by + 0.15 * arch))
        parts[f'{side}_brow'] = _Part().line(brow, rng.uniform(0.011, 0.02) * s)
    return eyes


def _nose(rng, head: _Head, parts: dict) -> None:
    """Add the nose: a kite from between the eyes down to above the mouth."""
    cy, fw, fh = head.cy, head.fw, head.fh
    nx = head.cx + head.dx * 1.3
    nw = fw * rng.uniform(0.11, 0.16)
    parts['nose'] = _Part().poly([(nx, cy - 0.08 * fh), (nx - nw, cy + 0.27 * fh),
                                  (nx, cy + 0.31 * fh), (nx + nw, cy + 0.27 * fh)])


def _mouth_and_lips(rng, head: _Head, parts: dict, mouth_open: float | None = None) -> None:
    """Add the upper and lower lips and, for an open mouth, the mouth between them.
    ``mouth_open`` in 0..1 sets the opening (1: the widest a face draws) after the same draws."""
    fw, fh = head.fw, head.fh
    mx, my = head.cx + head.dx * 1.1, head.cy + 0.55 * fh
    mw = fw * rng.uniform(0.28, 0.38)
    # an open mouth parts the lips by about a fifth of its width at the centre (teeth showing)
    open_h = rng.uniform(0.08, 0.16) * fh if rng.random() < 0.4 else 0.0
    if mouth_open is not None:
        open_h = float(mouth_open) * 0.16 * fh
    up = rng.uniform(0.05, 0.09) * fh
    lo = rng.uniform(0.07, 0.12) * fh
    left, right = (mx - mw, my), (mx + mw, my)
    parts['u_lip'] = _Part().poly(np.concatenate([
        _bezier(left, (mx, my - 2 * up), right),
        _bezier(right, (mx, my - 0.6 * open_h), left)]))
    parts['l_lip'] = _Part().poly(np.concatenate([
        _bezier(left, (mx, my + 1.2 * open_h), right),
        _bezier(right, (mx, my + 2 * lo + open_h), left)]))
    if open_h:
        parts['mouth'] = _Part().poly(_ellipse(mx, my + 0.3 * open_h, 0.85 * mw, open_h * 1.1))


def _neck_necklace_cloth(rng, head: _Head, parts: dict) -> None:
    """Add the neck (below the jaw only), an optional necklace and (usually) the clothing."""
    cx, cy, fw, fh = head.cx, head.cy, head.fw, head.fh
    chin = cy + fh
    neck = [(cx - 0.55 * fw, cy + 0.55 * fh), (cx + 0.55 * fw, cy + 0.55 * fh),
            (cx + 0.62 * fw, 1.05), (cx - 0.62 * fw, 1.05)]
    parts['neck'] = _Part().poly(neck).hole(head.outline)
    if rng.random() < 0.1:
        ny = chin + rng.uniform(0.04, 0.09)
        parts['neck_l'] = _Part().line(
            _bezier((cx - 0.6 * fw, ny - 0.03), (cx, ny + 0.05), (cx + 0.6 * fw, ny - 0.03)),
            rng.uniform(0.012, 0.02))
    if rng.random() < 0.9:
        top = chin + rng.uniform(0.08, 0.16)
        sh = rng.uniform(0.35, 0.5)
        parts['cloth'] = _Part().poly([
            (cx - 0.6, 1.1), (cx - sh, top + 0.04), (cx - 0.65 * fw, top),
            (cx, top + rng.uniform(0.02, 0.12)), (cx + 0.65 * fw, top), (cx + sh, top + 0.04),
            (cx + 0.6, 1.1)])


def _hair(rng, head: _Head, parts: dict) -> str:
    """Add the hair (a cap cut at the hairline, plus side falls for long hair) unless bald;
    return the style ('short', 'bangs', 'long' or 'bald')."""
    cx, cy, fw, fh, dx = head.cx, head.cy, head.fw, head.fh, head.dx
    style = rng.choice(['short', 'bangs', 'long', 'bald'], p=[0.35, 0.25, 0.35, 0.05])
    if style == 'bald':
        return style
    hairline = cy - (0.45 if style == 'bangs' else 0.68) * fh + rng.uniform(-0.04, 0.04) * fh
    cap = _ellipse(cx + dx * 0.2, cy - 0.2 * fh, fw * rng.uniform(1.08, 1.2),
                   fh * rng.uniform(0.98, 1.1), n=60)
    cap[:, 1] = np.minimum(cap[:, 1], hairline)
    hair = _Part().poly(cap)
    if style == 'long':
        drop = cy + fh + rng.uniform(0.0, 0.2)  # from the chin down
        for sign in (+1, -1):
            x0 = cx + sign * fw * 0.8
            x1 = cx + sign * fw * rng.uniform(1.25, 1.45)
            hair.poly([(x0, cy - 0.3 * fh), (x1, cy - 0.3 * fh), (x1, drop),
                       (x0 + sign * 0.02, drop)])
    parts['hair'] = hair
    return style


def _ears_and_earrings(rng, head: _Head, style: str, parts: dict) -> None:
    """Add the ears (often hidden by long hair, sometimes missing) and, on a face that has them,
    an earring under each ear present."""
    cx, cy, fw, fh, dx = head.cx, head.cy, head.fw, head.fh, head.dx
    earrings = rng.random() < 0.2
    for sign, side in _SIDES:
        hidden = style == 'long' and rng.random() < 0.7
        if hidden or rng.random() < 0.15:
            continue
        s = head.side_scale[sign]
        ex = cx + dx * 0.3 + sign * (fw + 0.012)
        ey, eh = cy - 0.05 * fh, 0.2 * fh * s
        parts[f'{side}_ear'] = _Part().poly(_ellipse(ex, ey, 0.045 * s * fw / 0.19, eh))
        if earrings:
            r = rng.uniform(0.013, 0.02)
            parts.setdefault('ear_r', _Part()).poly(
                _ellipse(ex, ey + eh + r * 0.8, r, r * 1.2, n=16))


def _hat(rng, head: _Head, parts: dict) -> None:
    """Maybe add a hat: a dome cut flat at the bottom, often with a brim."""
    if rng.random() >= 0.15:
        return
    fw, fh = head.fw, head.fh
    hx, hy = head.cx + head.dx * 0.2, head.cy - rng.uniform(0.55, 0.75) * fh
    dome = _ellipse(hx, hy, fw * rng.uniform(1.1, 1.3), fh * rng.uniform(0.5, 0.7), n=60)
    dome[:, 1] = np.minimum(dome[:, 1], hy + 0.04 * fh)
    hat = _Part().poly(dome)
    if rng.random() < 0.6:  # brim
        hat.poly(_ellipse(hx, hy + 0.03 * fh, fw * rng.uniform(1.4, 1.8), 0.025))
    parts['hat'] = hat


def _glasses(rng, eyes: dict, parts: dict):
    """Maybe add glasses (two lenses over the eyes plus the bridge); return ``(lens outlines,
    frame width)`` for rendering, or None."""
    if rng.random() >= 0.2:
        return None
    g = _Part()
    lenses = []
    for side in ('l', 'r'):
        ex, ey, ew, eh = eyes[side]
        lens = _ellipse(ex, ey, ew * rng.uniform(1.5, 1.8), ew * rng.uniform(1.0, 1.3))
        g.poly(lens)
        lenses.append(lens)
    (lx, ly, lw, _), (rx, ry, rw, _) = eyes['l'], eyes['r']
    frame_w = rng.uniform(0.005, 0.012)
    g.line([(rx + rw * 1.5, ry - 0.01), (lx - lw * 1.5, ly - 0.01)], frame_w)
    parts['eye_g'] = g
    return lenses, frame_w


def _face_geometry(rng, mouth_open: float | None = None):
    """Parts (name -> _Part, only those present) and per-face attributes.

    The helpers run in a fixed order (the order of their random draws); hair comes before the
    ears because long hair hides them. ``mouth_open`` overrides the mouth opening
    (``_mouth_and_lips``; the face clips animate it) without changing any draw.
    """
    head = _head(rng)
    parts: dict[str, _Part] = {'skin': _Part().poly(head.outline)}
    eyes = _eyes_and_brows(rng, head, parts)
    _nose(rng, head, parts)
    _mouth_and_lips(rng, head, parts, mouth_open)
    _neck_necklace_cloth(rng, head, parts)
    style = _hair(rng, head, parts)
    _ears_and_earrings(rng, head, style, parts)
    _hat(rng, head, parts)
    glasses = _glasses(rng, eyes, parts)
    return parts, dict(yaw=head.yaw, style=style, glasses=glasses)


# ------------------------------------------------------------------------------------------
# rasterisation
# ------------------------------------------------------------------------------------------


def _rotation_degrees(rng, max_rotation):
    """The in-plane rotation of a face (degrees; > 0 is clockwise on screen, y pointing down):
    the first draw of ``_transform``."""
    return rng.uniform(-max_rotation, max_rotation)


def _transform(rng, max_rotation):
    angle = math.radians(_rotation_degrees(rng, max_rotation))
    scale = rng.uniform(0.85, 1.15)
    tx, ty = rng.uniform(-0.06, 0.06, 2)
    c, s = scale * math.cos(angle), scale * math.sin(angle)
    # rotate/scale about the face centre, then shift
    A = np.array([[c, -s], [s, c]])
    centre = np.array([0.5, 0.5])
    return lambda p: (p - centre) @ A.T + centre + (tx, ty), scale


def _draw(canvas, part, value, size, tf, scale):
    k = size * (1 << _SHIFT)
    for poly in part.polys:
        pts = np.round(tf(poly) * k).astype(np.int32)
        cv2.fillPoly(canvas, [pts], value, lineType=cv2.LINE_8, shift=_SHIFT)
    for pts, width in part.lines:
        p = np.round(tf(pts) * k).astype(np.int32)
        thick = max(1, int(round(width * scale * size)))
        cv2.polylines(canvas, [p], False, value, thickness=thick, lineType=cv2.LINE_8,
                      shift=_SHIFT)
    for poly in part.holes:
        pts = np.round(tf(poly) * k).astype(np.int32)
        hole = np.zeros_like(canvas)
        cv2.fillPoly(hole, [pts], 1, lineType=cv2.LINE_8, shift=_SHIFT)
        canvas[(hole > 0) & (canvas == value)] = 0


def _noise(rng, size, cells, channels=1):
    small = rng.standard_normal((cells, cells, channels)).astype(np.float32)
    big = cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)
    return big.reshape(size, size, channels)


def _part_masks(parts, size, tf, scale):
    """{name: bool (size, size) region} for each part that lands on the canvas, in id order."""
    masks = {}
    for name in PART_NAMES:
        if name in parts:
            m = np.zeros((size, size), np.uint8)
            _draw(m, parts[name], 1, size, tf, scale)
            if m.any():
                masks[name] = m.astype(bool)
    return masks


def _label_map(parts, masks, size, tf, scale):
    """The uint8 label map at image resolution: the parts in ``masks`` painted in id order,
    except the glasses, whose see-through lenses are painted separately (``_glasses_masks``)."""
    label = np.zeros((size, size), np.uint8)
    for name in PART_NAMES:
        if name in masks and name != 'eye_g':
            own = np.zeros_like(label)
            _draw(own, parts[name], 1, size, tf, scale)
            label[own > 0] = CLASS_ID[name]
    return label


def _glasses_masks(glasses_part, glasses, size, tf, scale):
    """Bool (size, size) masks of the glasses' lens area (lenses plus bridge) and of the frame
    (a ring around each lens plus the bridge)."""
    lens = np.zeros((size, size), np.uint8)
    _draw(lens, glasses_part, 1, size, tf, scale)
    lenses, frame_w = glasses
    ring = _Part()
    for poly in lenses:
        ring.line(np.concatenate([poly, poly[:1]]), frame_w)
    ring.lines += glasses_part.lines
    frame = np.zeros((size, size), np.uint8)
    _draw(frame, ring, 1, size, tf, scale)
    return lens.astype(bool), frame.astype(bool)


def _colours(rng):
    """An RGB colour table for one face, one row per class id (background included)."""
    tones = np.array([[255, 219, 190], [240, 190, 160], [224, 172, 130], [198, 134, 90],
                      [161, 102, 64], [110, 70, 45], [80, 52, 38]], np.float32)
    skin = tones[rng.integers(len(tones))] * rng.uniform(0.9, 1.08, 3)
    hairs = np.array([[25, 20, 18], [60, 40, 25], [110, 75, 40], [200, 165, 110],
                      [150, 150, 150], [140, 60, 30], [90, 60, 120]], np.float32)
    hair = hairs[rng.integers(len(hairs))] * rng.uniform(0.8, 1.2, 3)
    if rng.random() < 0.2:
        background = skin * rng.uniform(0.85, 1.15, 3)  # background close to skin
    elif rng.random() < 0.2:
        background = hair * rng.uniform(0.8, 1.2, 3)
    else:
        background = rng.uniform(0, 255, 3)
    metals = ([230, 200, 60], [200, 200, 210])  # gold, silver
    c = {}  # class name -> colour; the draws happen in this order
    c['background'] = background
    c['skin'] = skin
    c['l_brow'] = c['r_brow'] = hair * rng.uniform(0.5, 0.9)
    c['l_eye'] = c['r_eye'] = rng.uniform(200, 245, 3)
    c['eye_g'] = rng.choice([20, 60, 160, 200]) * rng.uniform(0.8, 1.2, 3)  # glasses frame
    c['l_ear'] = c['r_ear'] = skin * rng.uniform(0.88, 1.0)
    c['ear_r'] = rng.choice([*metals, [240, 240, 240]]) * rng.uniform(0.85, 1.1, 3)
    c['nose'] = skin * rng.uniform(0.9, 0.98)
    c['mouth'] = rng.uniform([40, 5, 10], [110, 40, 45])
    lip = np.array([rng.uniform(150, 220), rng.uniform(60, 120), rng.uniform(70, 130)])
    c['u_lip'] = lip * rng.uniform(0.75, 0.92)
    c['l_lip'] = lip
    c['neck'] = skin * rng.uniform(0.82, 0.97)
    c['neck_l'] = rng.choice([*metals, [180, 40, 40]]) * rng.uniform(0.85, 1.1, 3)
    c['cloth'] = rng.uniform(0, 255, 3) if rng.random() < 0.7 else hair * rng.uniform(0.7, 1.3, 3)
    c['hair'] = hair
    c['hat'] = rng.uniform(0, 255, 3) if rng.random() < 0.6 else hair * rng.uniform(0.6, 1.4, 3)
    table = np.zeros((len(CLASSES), 3), np.float32)
    for name, colour in c.items():
        table[CLASS_ID[name]] = colour
    return np.clip(table, 0, 255)


def _paint_pupils(rng, img, label, parts, tf, scale):
    """Paint a dark pupil (one random colour for both) where it falls on a visible eye."""
    size = label.shape[0]
    detail = np.zeros_like(label)
    for side in ('l', 'r'):
        if f'{side}_eye' in parts:
            (pts,) = parts[f'{side}_eye'].polys
            ecx, ecy = pts.mean(0)
            ew = (pts[:, 0].max() - pts[:, 0].min()) / 2
            pupil = _Part().poly(_ellipse(ecx + rng.uniform(-0.3, 0.3) * ew, ecy,
                                          ew * 0.42, ew * 0.42, n=20))
            _draw(detail, pupil, 1, size, tf, scale)
    on_eye = (detail == 1) & ((label == CLASS_ID['l_eye']) | (label == CLASS_ID['r_eye']))
    img[on_eye] = rng.uniform(10, 90, 3).astype(np.float32)


def _add_texture(rng, img, label):
    """Add texture noise to every region, plus stronger horizontal stripes on hair and brows."""
    n = label.shape[0]
    texture = _noise(rng, n, 12, 3)  # in-place float32 ops: the values of a * 10 + b * 6
    texture *= 10
    fine = _noise(rng, n, 48, 1)
    fine *= 6
    texture += fine
    img += texture
    hair_px = ((label == CLASS_ID['hair']) | (label == CLASS_ID['l_brow'])
               | (label == CLASS_ID['r_brow']))
    stripes = cv2.resize(rng.standard_normal((4, 64)).astype(np.float32), (n, n),
                         interpolation=cv2.INTER_LINEAR)
    stripes *= 18
    img[hair_px] += stripes[hair_px][:, None]


def _add_shading(rng, img):
    """Multiply the image by a linear light gradient in a random direction."""
    n = img.shape[0]
    gx, gy = np.meshgrid(np.linspace(-1, 1, n, dtype=np.float32),
                         np.linspace(-1, 1, n, dtype=np.float32))
    theta = rng.uniform(0, 2 * np.pi)
    shade = 1 + rng.uniform(0.1, 0.3) * (math.cos(theta) * gx + math.sin(theta) * gy)
    img *= shade[..., None]


def _paint_glasses(rng, img, label, lens_mask, frame_mask, frame_colour):
    """Tint what the lenses cover and paint the frame, both only in front of hair and hat."""
    tint = rng.uniform(0.55, 0.9, 3).astype(np.float32)
    in_front = label < CLASS_ID['hair']  # hair and hat hide the glasses
    lens_mask &= in_front
    frame_mask &= in_front
    img[lens_mask] *= tint
    img[frame_mask] = frame_colour + rng.normal(0, 4, 3)


def _finish(rng, img):
    """Add sensor grain, quantise to uint8 and soften slightly."""
    grain = rng.standard_normal(img.shape)  # the same draws as rng.normal(0, 3, shape)
    grain *= 3
    img += grain.astype(np.float32)
    img = np.clip(img, 0, 255).astype(np.uint8)
    return cv2.GaussianBlur(img, (3, 3), 0.6)


def render_face(rng: np.random.Generator, image_size: int = 512, mask_size: int = 256,
                max_rotation: float = 20.0):
    """Render one face.

    Returns ``(image, masks)``: ``image`` uint8 (image_size, image_size, 3) RGB; ``masks`` maps each
    present part name to a bool (mask_size, mask_size) array (its whole region, overlaps allowed).
    The steps run in a fixed order (the order of their random draws).
    """
    parts, attrs = _face_geometry(rng)
    tf, scale = _transform(rng, max_rotation)
    masks = _part_masks(parts, mask_size, tf, scale)
    label = _label_map(parts, masks, image_size, tf, scale)
    colours = _colours(rng)
    img = np.take(colours, label, axis=0)  # (n, n, 3) float32, the flat colour of each label
    _paint_pupils(rng, img, label, parts, tf, scale)
    _add_texture(rng, img, label)
    _add_shading(rng, img)
    if attrs['glasses'] is not None:
        lens_mask, frame_mask = _glasses_masks(parts['eye_g'], attrs['glasses'], image_size, tf,
                                               scale)
        _paint_glasses(rng, img, label, lens_mask, frame_mask, colours[CLASS_ID['eye_g']])
    return _finish(rng, img), masks


def yaw_degrees(yaw: float) -> float:
    """The head yaw in degrees that the generator's ``yaw`` parameter (-0.6..0.6) implies.

    The generator draws no 3-D head: it turns a face by shifting the features sideways and
    shrinking the far side's eye, brow and ear by ``s = 1 - 0.35 |yaw|``. Read as a head seen from
    far away, a vertical cylinder, a feature at angle ``phi`` from the line of sight has a width
    ``~ cos(phi)``; the eyes of a frontal face sit at ``sin(phi0) = 0.42`` (face half-widths from
    the centre line), so the far eye's shrink says the head turned by
    ``theta = acos(s cos(phi0)) - phi0``: 0 at yaw 0, about 19.4 degrees at the largest yaw
    drawn. Positive: the face turned towards the image's right (+x), as ``_Head.yaw``."""
    phi0 = math.asin(_EYE_OFFSET)
    shrink = 1 - _FAR_SIDE_SHRINK * min(abs(yaw), 1 / _FAR_SIDE_SHRINK)
    return math.copysign(math.degrees(math.acos(shrink * math.cos(phi0)) - phi0), yaw)


def face_pose(rng: np.random.Generator, max_rotation: float = 20.0) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees of the face that ``render_face`` draws from this ``rng``
    (pass a fresh generator with the same seed): the draws of ``render_face`` up to the rotation
    are replayed, nothing is rasterised. Yaw: :func:`yaw_degrees`; pitch: 0 (the generator
    tilts no face up or down); roll: the in-plane rotation (> 0 clockwise on screen)."""
    _, attrs = _face_geometry(rng)
    roll = _rotation_degrees(rng, max_rotation)
    return yaw_degrees(attrs['yaw']), 0.0, float(roll)


def write_pose_file(out: str, ids, seed: int = 0, max_rotation: float = 20.0) -> str:
    """Write ``out/CelebAMask-HQ-pose-anno.txt`` in the release's format for the faces ``ids``
    generated with ``seed``: the number of images, the header ``Yaw Pitch Raw`` ("Raw" is the
    release's spelling of roll), then ``{i}.jpg yaw pitch roll`` (degrees, :func:`face_pose`).
    Each face's draws are replayed (about 0.3 ms a face), so the file can also be written for
    faces generated before it existed, without touching them."""
    ids = list(ids)
    lines = [str(len(ids)), 'Yaw Pitch Raw']
    for i in ids:
        yaw, pitch, roll = face_pose(np.random.default_rng([seed, i]), max_rotation)
        lines.append(f'{i}.jpg {yaw:.4f} {pitch:.4f} {roll:.4f}')

    def writer(p):
        with open(p, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        return True
    path = osp.join(out, POSE_FILE)
    _write(path, writer)
    return path


def merge_masks(masks: dict, size) -> np.ndarray:
    """The expected label map: parts painted in id order 1..18 (later overwrites earlier); a
    pixel is on when True or > 127 in any channel."""
    size = (size, size) if isinstance(size, int) else tuple(size)
    label = np.zeros(size, np.uint8)
    for name in PART_NAMES:
        if name in masks:
            m = np.asarray(masks[name])
            on = m if m.dtype == bool else (m.max(axis=2) if m.ndim == 3 else m) > 127
            label[on] = CLASS_ID[name]
    return label


# ------------------------------------------------------------------------------------------
# writing the release layout
# ------------------------------------------------------------------------------------------


def _write(path, writer):
    """Write via a temporary name in the same folder, then rename."""
    base, ext = osp.splitext(path)
    tmp = f'{base}.tmp{os.getpid()}{ext}'
    if not writer(tmp):
        raise OSError(f'cannot write {path}')
    os.replace(tmp, path)


def _orig_indices(num, start, seed):
    """Distinct CelebA 0-based indices, with the partition boundaries included when num >= 8."""
    rng = np.random.default_rng([seed, 10 ** 6])
    boundary = [CELEBA_TRAIN_LAST - 1, CELEBA_TRAIN_LAST, CELEBA_VAL_LAST - 1, CELEBA_VAL_LAST]
    chosen = list(boundary) if num >= 8 else []
    pool = rng.choice(CELEBA_SIZE, size=num + len(chosen), replace=False)
    for v in pool:
        if len(chosen) == num:
            break
        if v not in chosen:
            chosen.append(int(v))
    order = rng.permutation(num)
    return [chosen[k] for k in order]


def _partition(number):
    """The CelebA partition (0 train, 1 val, 2 test) of a 1-based CelebA file number."""
    return 0 if number <= CELEBA_TRAIN_LAST else 1 if number <= CELEBA_VAL_LAST else 2


def setup_generator_process() -> None:
    """Tune a process that does nothing but generate faces (pool workers, the CLI).

    Each face allocates and frees a few full-image float arrays; glibc returns such blocks to the
    kernel and the next face faults them back in. Raising the mmap/trim thresholds keeps them in
    the heap (150 faces at 1024/512 with 2 processes: 9.0 s instead of 10.8 s). Not called for
    in-process generation (``nproc=1``) so a training process that generates its data is left as
    it is. (Do not add ``cv2.setNumThreads`` here: in a forked child whose parent used OpenCV's
    thread pool it hangs.)
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or None)
        libc.mallopt(-1, 256 << 20)  # M_TRIM_THRESHOLD
        libc.mallopt(-3, 64 << 20)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError, TypeError):  # not glibc: only slower
        pass


def _face_job(job):
    out, i, image_size, mask_size, seed, max_rotation = job
    rng = np.random.default_rng([seed, i])
    img, masks = render_face(rng, image_size, mask_size, max_rotation)
    _write(osp.join(out, 'CelebA-HQ-img', f'{i}.jpg'),
           lambda p: cv2.imwrite(p, img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95]))
    folder = osp.join(out, 'CelebAMask-HQ-mask-anno', str(i // 2000))
    os.makedirs(folder, exist_ok=True)
    for name, m in masks.items():
        m3 = np.repeat((m.astype(np.uint8) * 255)[..., None], 3, axis=2)
        _write(osp.join(folder, f'{i:05d}_{name}.png'),
               lambda p, m3=m3: cv2.imwrite(p, m3, _PNG_FAST))
    return i


def make_synthetic_celebamask(out: str, num: int, image_size: int = 512, mask_size: int = 256,
                              seed: int = 0, nproc: int = 1, start_index: int = 0,
                              max_rotation: float = 20.0) -> dict:
    """Write ``num`` faces (ids ``start_index..``) in the release layout under ``out``."""
    start = time.perf_counter()
    os.makedirs(osp.join(out, 'CelebA-HQ-img'), exist_ok=True)
    ids = list(range(start_index, start_index + num))
    jobs = [(out, i, image_size, mask_size, seed, max_rotation) for i in ids]
    if nproc > 1:
        with multiprocessing.get_context('fork').Pool(nproc, setup_generator_process) as pool:
            for _ in pool.imap_unordered(_face_job, jobs, chunksize=8):
                pass
    else:
        for job in jobs:
            _face_job(job)
    orig = _orig_indices(num, start_index, seed)
    mapping = ['idx orig_idx orig_file'] + [f'{i} {o} {o + 1:06d}.jpg' for i, o in zip(ids, orig)]
    part = [f'{o + 1:06d}.jpg {_partition(o + 1)}' for o in sorted(orig)]
    for name, lines in (('CelebA-HQ-to-CelebA-mapping.txt', mapping),
                        ('list_eval_partition.txt', part)):
        def writer(p, lines=lines):
            with open(p, 'w') as f:
                f.write('\n'.join(lines) + '\n')
            return True
        _write(osp.join(out, name), writer)
    write_pose_file(out, ids, seed, max_rotation)
    seconds = time.perf_counter() - start
    return dict(count=num, seconds=seconds, faces_per_s=num / max(seconds, 1e-9))
