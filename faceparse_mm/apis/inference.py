"""Face parsing with a trained model, without a Runner.

    from faceparse_mm.apis import FaceParser
    parser = FaceParser('configs/bisenetv1-fp_celebamask.py', 'work_dirs/fp_converted.pth')
    labels = parser('face.jpg')                       # (H, W) uint8 ids at the image's size
    labels, probs = parser(img, return_probs=True)    # probs (19, H, W) float32
    vis = parser.overlay(img, labels)                 # BGR uint8, the checkpoint's palette

Inputs: a file path, or an array that is **BGR uint8 (H, W, 3)**, exactly as ``cv2.imread`` and
``mmcv.imread`` return it (RGB arrays are not detected: convert them first), or a list of these
(answered with a list, run in batches of ``batch_size``).

What runs is the config's test path: every image is resized to the model's input size (whatever
its size or aspect ratio: stretched, never cropped; area interpolation when shrinking, bilinear
when enlarging), passed through the config's test pipeline without its loading transforms
(``PackSegInputs``; with ``tta=True`` the config's ``tta_pipeline``, a plain and a flipped view),
the model's own data preprocessor (BGR -> RGB, mean/std) and ``test_step``; flip TTA merges the
views with the config's ``tta_model`` (:class:`FaceSegTTAModel`: flipped logits flipped back with
the left/right channels swapped, mean of the softmax). Labels (and probabilities) are computed at
the input size and resized back to the image's size by nearest neighbour (pixel centres), so
``labels == probs.argmax(0)`` holds at every size.

The model's input size is read from the config (:func:`model_input_size`); the class names and
palette from the checkpoint's ``meta.dataset_meta`` (written by training and by our converters),
else from the config's test dataset ``METAINFO``, with a warning.
"""
from __future__ import annotations

import copy
import os
import warnings
from typing import Sequence

import cv2
import numpy as np
import torch
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

from faceparse_mm.compat import load_checkpoint
from faceparse_mm.errors import FaceDataError, UserError
from faceparse_mm.registry import DATASETS, MODELS
from faceparse_mm.utils.build import build_segmentor, training_only_modules
from faceparse_mm.utils.cli import load_config
from faceparse_mm.visualization.overlay import add_legend, overlay_labels

__all__ = ['FaceParser', 'model_input_size', 'read_image', 'resize_image', 'resize_nearest']

#: pipeline transforms that read files; inference gets images in memory instead
LOADING_PREFIX = 'Load'


def read_image(path) -> np.ndarray:
    """An image file as BGR uint8 (H, W, 3) (grey and 16-bit images converted, alpha dropped);
    :class:`FaceDataError` naming the file if it cannot be read or is a truncated JPEG."""
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError as err:
        raise FaceDataError(f'cannot read image {path}: {err.strerror or err}') from None
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if img is None:
        raise FaceDataError(f'cannot read image {path}: not a decodable image file')
    if data[:2] == b'\xff\xd8' and data.rstrip(b'\x00')[-2:] != b'\xff\xd9':
        raise FaceDataError(f'cannot read image {path}: truncated JPEG (no end marker)')
    return img


def _check_array(img, name: str = 'image') -> np.ndarray:
    if not isinstance(img, np.ndarray):
        raise UserError(f'{name}: expected a file path or a BGR uint8 array (H, W, 3), got '
                        f'{type(img).__name__}')
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3 or 0 in img.shape:
        raise UserError(f'{name}: expected a BGR uint8 array (H, W, 3), got {img.dtype} '
                        f'{tuple(img.shape)}')
    return np.ascontiguousarray(img)  # views such as img[:, ::-1] are fine


def resize_image(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``img`` resized to ``size`` = (h, w): area interpolation when shrinking, else bilinear."""
    h, w = size
    if img.shape[:2] == (h, w):
        return img
    shrink = h * w < img.shape[0] * img.shape[1]
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def _nearest_index(src: int, dst: int) -> np.ndarray:
    return np.minimum(((np.arange(dst) + 0.5) * src / dst).astype(np.int64), src - 1)


def resize_nearest(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The last two axes of ``array`` resized to ``size`` = (h, w) by nearest neighbour, each
    output pixel taking the input pixel under its centre (the same for labels and probabilities,
    unlike cv2's and torch's legacy ``nearest``, which differ from each other)."""
    h, w = array.shape[-2:]
    if (h, w) == tuple(size):
        return array
    rows, cols = _nearest_index(h, size[0]), _nearest_index(w, size[1])
    return array[..., rows[:, None], cols[None, :]]


def _size_pair(value) -> tuple[int, int] | None:
    """(h, w) from a size written as an int or as mmcv's (w, h) ``scale``."""
    if value is None:
        return None
    if isinstance(value, int):
        return value, value
    w, h = value
    return int(h), int(w)


def _type(transform) -> str:
    return str(transform.get('type', '')).split('.')[-1]


def _pipeline(cfg, key: str):
    if key == 'test':
        dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
        return dataset.get('pipeline') or cfg.get('test_pipeline') or []
    return cfg.get(f'{key}_pipeline') or []


def model_input_size(cfg: Config) -> tuple[int, int]:
    """The (h, w) the config's model is evaluated at, from the first of:

    1. ``model.data_preprocessor.size`` (a fixed input size);
    2. a ``Resize`` in the test pipeline (its ``scale``);
    3. the test dataset's ``synthetic.mask_size`` (generated faces: images loaded at label size);
    4. the training pipeline's ``Resize``/``RandomResize`` ``scale``: the protocol's label size,
       which the test pipeline loads images at (``LoadImageAtLabelSize``), 512 for the full configs.
    """
    size = _size_pair((cfg.model.get('data_preprocessor') or {}).get('size'))
    if size:
        return size
    for t in _pipeline(cfg, 'test'):
        if _type(t) == 'Resize' and t.get('scale'):
            return _size_pair(t['scale'])
    dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    synthetic = dataset.get('synthetic') or {}
    if synthetic.get('mask_size'):
        return _size_pair(int(synthetic['mask_size']))
    for t in _pipeline(cfg, 'train'):
        if _type(t) in ('Resize', 'RandomResize') and t.get('scale'):
            return _size_pair(t['scale'])
    raise UserError('cannot tell the model\'s input size from the config (no '
                    'model.data_preprocessor.size, test Resize, synthetic.mask_size or training '
                    'Resize scale): pass input_size=(h, w)')


def _config_metainfo(cfg: Config) -> dict:
    dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    cls = DATASETS.get(dataset.get('type')) if isinstance(dataset.get('type'), str) else None
    meta = dict(getattr(cls, 'METAINFO', None) or {})
    meta.update(dataset.get('metainfo') or {})
    return meta


def _num_classes(model) -> int:
    """The number of channels the segmentor predicts (mmseg's segmentors set ``out_channels``
    from their last decode head)."""
    head = model.decode_head[-1] if isinstance(model.decode_head, torch.nn.ModuleList) \
        else model.decode_head
    return int(getattr(model, 'out_channels', None) or head.out_channels)


class FaceParser:
    """A trained face parser for images in memory or on disk (see the module docstring).

    Args:
        config: config file or :class:`mmengine.config.Config`.
        checkpoint: checkpoint file (loaded with ``weights_only=True``).
        device: ``'cpu'``, ``'cuda'`` or ``'cuda:N'``.
        tta: flip test-time augmentation with the left/right swap (the config's ``tta_model``).
        batch_size: images per forward pass when called with a list.
        input_size: (h, w) to run the model at instead of :func:`model_input_size`.

    Attributes: ``classes`` and ``palette`` (RGB), the checkpoint's ``dataset_meta`` (or the
    config's), ``input_size`` (h, w), ``model`` (the segmentor, eval mode).
    """

    def __init__(self, config, checkpoint: str, device: str = 'cpu', tta: bool = False,
                 batch_size: int = 4, input_size: Sequence[int] | None = None) -> None:
        cfg = load_config(config) if isinstance(config, (str, os.PathLike)) else copy.deepcopy(
            config)
        self.cfg = cfg
        self.device = self._device(device)
        self.batch_size = max(1, int(batch_size))
        self.input_size = tuple(int(s) for s in input_size) if input_size else \
            model_input_size(cfg)
        self.model = build_segmentor(cfg, offline=True)
        state = self._load(checkpoint)
        self.model.to(self.device).eval()
        self.num_classes = _num_classes(self.model)
        self.dataset_meta = self._dataset_meta(state, checkpoint)
        self.classes = tuple(self.dataset_meta['classes'])
        self.palette = [tuple(int(c) for c in colour) for colour in self.dataset_meta['palette']]
        self.tta = bool(tta)
        self.tta_model = self._tta_model() if self.tta else None
        pipeline = [t for t in copy.deepcopy(list(_pipeline(cfg, 'tta' if self.tta else 'test')))
                    if not _type(t).startswith(LOADING_PREFIX)]
        if not any(_type(t) in ('PackSegInputs', 'TestTimeAug') for t in pipeline):
            pipeline.append(dict(type='PackSegInputs'))  # e.g. a dataset without a pipeline
        self.pipeline = Compose(pipeline)

    # ---------------------------------------------------------------------------------- set-up

    @staticmethod
    def _device(device) -> torch.device:
        try:
            dev = torch.device(device)
        except (RuntimeError, TypeError) as err:
            raise UserError(f'device {device!r}: {err}') from None
        if dev.type == 'cuda' and not torch.cuda.is_available():
            raise UserError(f'device {device!r}: no CUDA device here (use device=\'cpu\')')
        if dev.type not in ('cpu', 'cuda'):
            raise UserError(f'device {device!r}: only cpu and cuda are supported')
        return dev

    def _load(self, checkpoint) -> dict:
        if not os.path.isfile(checkpoint):
            raise UserError(f'checkpoint file not found: {checkpoint}')
        state = load_checkpoint(checkpoint)
        weights = state.get('state_dict', state) if isinstance(state, dict) else None
        if not isinstance(weights, dict) or not weights:
            raise UserError(f'checkpoint {checkpoint} holds no state_dict')
        weights = {k[len('module.'):] if k.startswith('module.') else k: v
                   for k, v in weights.items()}
        result = self.model.load_state_dict(weights, strict=False)
        optional = tuple(f'{n}.' for n in training_only_modules(self.model))
        missing = [k for k in result.missing_keys if not k.startswith(optional)]
        if missing or result.unexpected_keys:
            raise UserError(
                f'checkpoint {checkpoint} does not fit the config\'s model: '
                f'{len(missing)} missing keys (e.g. {missing[:3]}), '
                f'{len(result.unexpected_keys)} unexpected (e.g. {result.unexpected_keys[:3]})')
        return state

    def _dataset_meta(self, state: dict, checkpoint: str) -> dict:
        meta = dict(((state.get('meta') or {}).get('dataset_meta') or {}))
        config_meta = _config_metainfo(self.cfg)
        absent = [key for key in ('classes', 'palette') if not meta.get(key)]
        for key in absent:
            if not config_meta.get(key):
                raise UserError(f'checkpoint {checkpoint} has no meta.dataset_meta.{key} and '
                                f'the config\'s test dataset names none either')
            meta[key] = config_meta[key]
        if absent:
            warnings.warn(f'checkpoint {checkpoint} has no meta.dataset_meta.'
                          f'{" or ".join(absent)}: using the config\'s test dataset METAINFO',
                          stacklevel=3)
        if len(meta['classes']) != self.num_classes:
            raise UserError(f'checkpoint {checkpoint} names {len(meta["classes"])} classes but '
                            f'the model predicts {self.num_classes}')
        if len(meta['palette']) < self.num_classes:
            raise UserError(f'checkpoint {checkpoint}: the palette has {len(meta["palette"])} '
                            f'colours for {self.num_classes} classes')
        return meta

    def _tta_model(self):
        tta_cfg = self.cfg.get('tta_model')
        if not tta_cfg or not self.cfg.get('tta_pipeline'):
            raise UserError('tta=True needs tta_model and tta_pipeline in the config')
        init_default_scope(self.cfg.get('default_scope', 'faceparse_mm'))
        tta_cfg = copy.deepcopy(tta_cfg)
        tta_cfg['module'] = self.model
        return MODELS.build(tta_cfg)

    # ------------------------------------------------------------------------------- inference

    def _image(self, item, index: int) -> np.ndarray:
        if isinstance(item, (str, os.PathLike)):
            return read_image(item)
        return _check_array(item, f'image {index}')

    def _prepare(self, img: np.ndarray, name: str) -> dict:
        x = resize_image(img, self.input_size)
        return self.pipeline(dict(img=x, img_path=name, img_shape=x.shape[:2],
                                  ori_shape=x.shape[:2]))

    @torch.no_grad()
    def _forward(self, images: list[np.ndarray], names: list[str]) -> list[tuple]:
        """Labels (h, w) uint8 and probabilities (C, h, w) float32 at the input size."""
        batch = pseudo_collate([self._prepare(img, n) for img, n in zip(images, names)])
        if not self.tta:
            samples = self.model.test_step(batch)
            return [(s.pred_sem_seg.data[0].to(torch.uint8).cpu().numpy(),
                     s.seg_logits.data.softmax(0).float().cpu().numpy()) for s in samples]
        # batch['inputs'] is [view][image]; each view runs as one batch
        views = [self.model.test_step(dict(inputs=inputs, data_samples=samples))
                 for inputs, samples in zip(batch['inputs'], batch['data_samples'])]
        per_image = list(zip(*views))
        # merge_preds swaps the left/right channels of each flipped view's seg_logits (in place)
        # and sets the merged argmax; the probabilities are the mean softmax it took it from
        with warnings.catch_warnings():  # mmseg's merge sets a 2-D pred_sem_seg
            warnings.filterwarnings('ignore', message='The shape of value will convert')
            merged = self.tta_model.merge_preds(per_image)
        out = []
        for sample, image_views in zip(merged, per_image):
            probs = torch.stack([v.seg_logits.data.softmax(0) for v in image_views]).mean(0)
            out.append((sample.pred_sem_seg.data.reshape(probs.shape[1:]).to(torch.uint8)
                        .cpu().numpy(), probs.float().cpu().numpy()))
        return out

    def __call__(self, img, return_probs: bool = False):
        """Parse one image (a path or a BGR uint8 array) or a list of them.

        Returns the label map, (H, W) uint8 ids at the image's size, or ``(labels, probs)``
        with ``probs`` (num_classes, H, W) float32 when ``return_probs``; a list of those for
        a list."""
        single = not isinstance(img, (list, tuple))
        items = [img] if single else list(img)
        results = []
        for start in range(0, len(items), self.batch_size):
            chunk = items[start:start + self.batch_size]
            images = [self._image(item, start + i) for i, item in enumerate(chunk)]
            names = [os.fspath(item) if isinstance(item, (str, os.PathLike))
                     else f'<image {start + i}>' for i, item in enumerate(chunk)]
            for image, (labels, probs) in zip(images, self._forward(images, names)):
                size = image.shape[:2]
                labels = resize_nearest(labels, size)
                results.append((labels, resize_nearest(probs, size)) if return_probs else labels)
        return results[0] if single else results

    def overlay(self, img, labels: np.ndarray, alpha: float = 0.5,
                legend: bool = False) -> np.ndarray:
        """``img`` (a path or BGR uint8 array) blended with the palette colours of ``labels``
        (BGR uint8, the image's size); ``legend`` adds a panel naming the classes present."""
        image = self._image(img, 0)
        drawn = overlay_labels(image, np.asarray(labels), self.palette, alpha)
        return add_legend(drawn, labels, self.classes, self.palette) if legend else drawn

