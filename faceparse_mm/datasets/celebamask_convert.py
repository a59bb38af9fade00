"""Convert the CelebAMask-HQ release into label maps and splits.

Label maps: for image ``i``, the per-part masks
``CelebAMask-HQ-mask-anno/{i // 2000}/{i:05d}_{part}.png`` are painted in id order 1..18 (a later
part overwrites an earlier one, so ``hat`` wins) into ``mask/{i}.png`` (8-bit, ids as in
``class_table.CLASSES``). A mask pixel is "on" when its value is > 127 in any colour channel;
masks may be 3-channel or single-channel; an absent file means an absent part.

Splits: ``official`` joins CelebA's ``list_eval_partition.txt`` (``000001.jpg 0``; 0 train, 1 val,
2 test) with ``CelebA-HQ-to-CelebA-mapping.txt`` on ``orig_file`` (its ``orig_idx`` is 0-based while
CelebA file names are 1-based). ``random`` is a seeded 9:1 train:test split, val carved from train.
``auto`` picks official when ``list_eval_partition.txt`` is in ROOT.

Every output is written to a temporary name and renamed; an output newer than all its inputs is
skipped, so a killed conversion resumes where it stopped.
"""
from __future__ import annotations

import datetime
import json
import multiprocessing
import os
import os.path as osp
import re
import time
from collections import defaultdict

import cv2
import numpy as np
from PIL import Image
from tqdm import tqdm

from faceparse_mm.errors import ConversionError
from faceparse_mm.utils.io import atomic_path, write_json_atomic, write_text_atomic

from .class_table import CLASS_ID, PART_NAMES

IMG_DIR = 'CelebA-HQ-img'
ANNO_DIR = 'CelebAMask-HQ-mask-anno'
MASK_DIR = 'mask'
SPLIT_DIR = 'splits'
MAPPING_FILE = 'CelebA-HQ-to-CelebA-mapping.txt'
PARTITION_FILE = 'list_eval_partition.txt'
_MASK_RE = re.compile(r'^(\d+)_(' + '|'.join(PART_NAMES) + r')\.png$')


# ------------------------------------------------------------------------------------------
# label maps
# ------------------------------------------------------------------------------------------


def read_part_mask(path: str, size: tuple[int, int] | None = None) -> np.ndarray:
    """Boolean mask of one part file: > 127 in any colour channel."""
    mask = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if mask is None:
        raise ConversionError(f'cannot read mask {path} (missing, corrupt or not an image)')
    if mask.dtype == np.uint16:
        mask = (mask >> 8).astype(np.uint8)
    if mask.ndim == 3:
        # channel-wise maximum; np.max(axis=2) on the interleaved array is ~10x slower
        mask = (cv2.max(cv2.max(mask[..., 0], mask[..., 1]), mask[..., 2])
                if mask.shape[2] >= 3 else mask[..., 0])
    if size is not None and mask.shape != tuple(size):
        raise ConversionError(f'mask {path} is {mask.shape[1]}x{mask.shape[0]}, '
                              f'expected {size[1]}x{size[0]} like the other masks')
    return mask > 127


def merge_parts(part_paths: dict[str, str], size: tuple[int, int]) -> np.ndarray:
    """Paint the given parts (name -> file) in id order into a uint8 label map of ``size``."""
    label = np.zeros(size, dtype=np.uint8)
    for name in PART_NAMES:
        path = part_paths.get(name)
        if path is not None:
            label[read_part_mask(path, size)] = CLASS_ID[name]
    return label


def scan_masks(root: str) -> dict[int, dict[str, str]]:
    """{image id: {part: path}} from one listing of each annotation folder."""
    anno = osp.join(root, ANNO_DIR)
    if not osp.isdir(anno):
        raise ConversionError(f'annotation folder {anno} does not exist (is ROOT the '
                              f'CelebAMask-HQ release folder?)')
    parts: dict[int, dict[str, str]] = defaultdict(dict)
    for sub in sorted(os.listdir(anno)):
        folder = osp.join(anno, sub)
        if not osp.isdir(folder):
            continue
        for fname in os.listdir(folder):
            m = _MASK_RE.match(fname)
            if m:
                parts[int(m.group(1))][m.group(2)] = osp.join(folder, fname)
    return parts


def scan_images(root: str) -> dict[int, str]:
    folder = osp.join(root, IMG_DIR)
    if not osp.isdir(folder):
        raise ConversionError(f'image folder {folder} does not exist')
    images = {}
    for fname in os.listdir(folder):
        stem, ext = osp.splitext(fname)
        if ext.lower() == '.jpg' and stem.isdigit():
            images[int(stem)] = osp.join(folder, fname)
    return images


def _check_image(path: str) -> None:
    try:
        with Image.open(path) as im:
            im.verify()
    except Exception as err:  # PIL raises many types for a bad file
        raise ConversionError(f'cannot read image {path}: {err}') from None


def _is_fresh(out: str, inputs: list[str]) -> bool:
    if not osp.exists(out):
        return False
    t = osp.getmtime(out)
    return all(osp.getmtime(p) <= t for p in inputs)


def _convert_one(job):
    """Worker: returns (idx, status, message); status in written|fresh|bad."""
    idx, image, part_paths, size, out, skip_bad = job
    try:
        inputs = list(part_paths.values()) + [image]
        if _is_fresh(out, inputs):
            return idx, 'fresh', ''
        _check_image(image)
        label = merge_parts(part_paths, size)
        with atomic_path(out) as tmp:
            if not cv2.imwrite(tmp, label):
                raise ConversionError(f'cannot write {out}')
        return idx, 'written', ''
    except ConversionError as err:
        if not skip_bad:
            raise
        return idx, 'bad', str(err)


def _detect_size(parts: dict[int, dict[str, str]]) -> tuple[int, int]:
    for idx in sorted(parts):
        for path in parts[idx].values():
            try:
                with Image.open(path) as im:
                    w, h = im.size
                return h, w
            except OSError:
                continue
    raise ConversionError('no readable part mask found under ' + ANNO_DIR)


# ------------------------------------------------------------------------------------------
# splits
# ------------------------------------------------------------------------------------------


def read_mapping(root: str) -> dict[int, str]:
    """{CelebA-HQ idx: CelebA orig_file} from the release's mapping file."""
    path = osp.join(root, MAPPING_FILE)
    if not osp.isfile(path):
        raise ConversionError(f'mapping file {path} is missing (needed for the official split)')
    mapping = {}
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            fields = line.split()
            if not fields or fields[0] == 'idx':
                continue
            if len(fields) != 3 or not fields[0].isdigit():
                raise ConversionError(f'{path}:{lineno}: expected "idx orig_idx orig_file", got '
                                      f'{line.strip()!r}')
            mapping[int(fields[0])] = fields[2]
    return mapping


def read_partition(root: str) -> dict[str, int]:
    path = osp.join(root, PARTITION_FILE)
    partition = {}
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2 or fields[1] not in ('0', '1', '2'):
                raise ConversionError(f'{path}:{lineno}: expected "000001.jpg 0|1|2", got '
                                      f'{line.strip()!r}')
            partition[fields[0]] = int(fields[1])
    return partition


def official_split(root: str, ids: list[int]) -> dict[str, list[int]]:
    mapping = read_mapping(root)
    partition = read_partition(root)
    names = ('train', 'val', 'test')
    split = {n: [] for n in names}
    for idx in ids:
        if idx not in mapping:
            raise ConversionError(f'image {idx} is not in {osp.join(root, MAPPING_FILE)}')
        orig_file = mapping[idx]
        if orig_file not in partition:
            raise ConversionError(f'{orig_file} (image {idx}) is not in '
                                  f'{osp.join(root, PARTITION_FILE)}')
        split[names[partition[orig_file]]].append(idx)
    return split


def random_split(ids: list[int], seed: int = 0, test_ratio: float = 0.1,
                 val_ratio: float = 0.1) -> dict[str, list[int]]:
    """Seeded train:test = 9:1, then ``val_ratio`` of train becomes val."""
    order = np.random.default_rng(seed).permutation(sorted(ids))
    n_test = int(round(test_ratio * len(order)))
    test, train = order[:n_test], order[n_test:]
    n_val = int(round(val_ratio * len(train)))
    val, train = train[:n_val], train[n_val:]
    return {'train': sorted(int(i) for i in train), 'val': sorted(int(i) for i in val),
            'test': sorted(int(i) for i in test)}


# ------------------------------------------------------------------------------------------
# the whole conversion
# ------------------------------------------------------------------------------------------


def convert(root: str, split: str = 'auto', val_ratio: float = 0.1, seed: int = 0,
            nproc: int = 1, skip_bad: bool = False, progress: bool = True,
            log=print) -> dict:
    """Convert ``root`` in place; returns the summary also written to ``splits/meta.json``."""
    if not osp.isdir(root):
        raise ConversionError(f'dataset root {root} does not exist')
    if split not in ('auto', 'official', 'random'):
        raise ConversionError(f'--split must be auto, official or random, not {split!r}')
    if split == 'auto':
        split = 'official' if osp.isfile(osp.join(root, PARTITION_FILE)) else 'random'
        log(f'split: {split} ({PARTITION_FILE} {"found" if split == "official" else "not found"} '
            f'in {root})')
    elif split == 'official' and not osp.isfile(osp.join(root, PARTITION_FILE)):
        raise ConversionError(f'{osp.join(root, PARTITION_FILE)} is missing (needed for '
                              f'--split official; download it from CelebA or use --split random)')
    start = time.perf_counter()
    images = scan_images(root)
    parts = scan_masks(root)
    if not images:
        raise ConversionError(f'no images found in {osp.join(root, IMG_DIR)}')
    size = _detect_size(parts)
    ids = sorted(images)
    if split == 'official':  # fail on a bad mapping before spending time on masks
        official_split(root, ids)
    jobs = [(i, images[i], parts.get(i, {}), size, osp.join(root, MASK_DIR, f'{i}.png'), skip_bad)
            for i in ids]
    os.makedirs(osp.join(root, MASK_DIR), exist_ok=True)
    counts = {'written': 0, 'fresh': 0, 'bad': 0}
    bad: dict[int, str] = {}

    def consume(results):
        for idx, status, msg in results:
            counts[status] += 1
            if status == 'bad':
                bad[idx] = msg

    bar = None
    if progress:
        bar = tqdm(total=len(jobs), unit='img', desc='masks', mininterval=1.0)

    def tick(results):
        for r in results:
            if bar is not None:
                bar.update(1)
            yield r

    if nproc > 1:
        ctx = multiprocessing.get_context('fork')
        with ctx.Pool(nproc) as pool:
            consume(tick(pool.imap_unordered(_convert_one, jobs, chunksize=8)))
    else:
        consume(tick(map(_convert_one, jobs)))
    if bar is not None:
        bar.close()
    seconds = time.perf_counter() - start

    good = [i for i in ids if i not in bad]
    splits = official_split(root, good) if split == 'official' else random_split(
        good, seed=seed, val_ratio=val_ratio)
    for name, members in splits.items():
        write_text_atomic(osp.join(root, SPLIT_DIR, f'{name}.txt'),
                          ''.join(f'{i}\n' for i in members))
    if bad:
        write_text_atomic(osp.join(root, SPLIT_DIR, 'skipped.txt'),
                          ''.join(f'{i}\t{msg}\n' for i, msg in sorted(bad.items())))
    summary = dict(split=split, seed=seed if split == 'random' else None,
                   val_ratio=val_ratio if split == 'random' else None,
                   counts={k: len(v) for k, v in splits.items()}, mask_size=list(size),
                   images=len(ids), written=counts['written'], up_to_date=counts['fresh'],
                   skipped=sorted(bad), seconds=round(seconds, 2),
                   created=datetime.datetime.now().isoformat(timespec='seconds'))
    write_json_atomic(osp.join(root, SPLIT_DIR, 'meta.json'), summary)
    for i, msg in sorted(bad.items()):
        log(f'skipped {i}: {msg}')
    return summary


def load_split_meta(root: str) -> dict | None:
    path = osp.join(root, SPLIT_DIR, 'meta.json')
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)
