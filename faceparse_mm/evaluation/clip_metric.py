"""FaceClipMetric: the protocol's per-frame metric plus temporal consistency, over face clips.

Per frame, exactly :class:`~faceparse_mm.evaluation.FaceParsingMetric` (this class is one: its
``process`` and ``compute_metrics`` do the per-frame part, so aAcc / mAcc / mIoU / mF1 and the
per-class IoU / F1 are the same numbers it gives on the frames as a set of images).

Temporal consistency (flicker; lower is better): over every pair of consecutive frames (t-1, t)
of a clip, the pixels whose ground truth does not change (``gt_t == gt_{t-1}``, neither
``ignore_index``) are "stable"; a stable pixel flickers when its predicted label changes
(``pred_t != pred_{t-1}``). With the counts summed over all pairs of all clips:

- ``flicker`` = flickering / stable pixels, in percent;
- ``flicker.<class>`` (with ``per_class``) = the same over the stable pixels whose ground truth
  is that class (NaN for a class never stable);
- ``mFlicker`` = the mean of the per-class values over ``foreground`` (as mF1), so that the
  large, easy background does not hide the flicker of small parts;
- ``frame_pairs`` = how many pairs were compared.

A perfect prediction has zero flicker; one that alternates between two labels on a static
ground truth flickers on every stable pixel (100%). Frames must arrive clip after clip and in
order within a clip (the data samples' ``clip`` and ``frame_index``, set by
:class:`~faceparse_mm.datasets.FaceClipDataset`); anything else is refused with the frame
named, since pairs could not be formed.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Sequence

import numpy as np
import torch
from mmengine.logging import print_log

from faceparse_mm.registry import METRICS

from .face_metric import FaceParsingMetric

__all__ = ['FaceClipMetric', 'flicker_counts', 'flicker_from_counts']


def flicker_counts(pred_prev, pred, label_prev, label, num_classes: int,
                   ignore_index: int = 255) -> np.ndarray:
    """(2, num_classes) int64: per ground-truth class, the stable pixels (row 0) and those of
    them whose prediction changed (row 1), between two consecutive frames."""
    pred_prev, pred = torch.as_tensor(pred_prev).reshape(-1), torch.as_tensor(pred).reshape(-1)
    label_prev = torch.as_tensor(label_prev).reshape(-1).long()
    label = torch.as_tensor(label).reshape(-1).long()
    if not (pred_prev.shape == pred.shape == label_prev.shape == label.shape):
        raise ValueError('flicker_counts: two frames of one clip must have one size, got '
                         f'{pred_prev.numel()}, {pred.numel()}, {label_prev.numel()} and '
                         f'{label.numel()} pixels')
    stable = (label == label_prev) & (label != ignore_index)
    changed = stable & (pred != pred_prev)
    return np.stack([torch.bincount(label[stable], minlength=num_classes)[:num_classes].numpy(),
                     torch.bincount(label[changed], minlength=num_classes)[:num_classes].numpy()
                     ]).astype(np.int64)


def flicker_from_counts(counts: np.ndarray, foreground: Sequence[int] | None = None) -> dict:
    """``flicker`` and ``mFlicker`` (percent) and the per-class fractions (``per_class``, NaN
    where a class was never stable) from summed :func:`flicker_counts`."""
    stable, changed = counts[0].astype(np.float64), counts[1].astype(np.float64)
    with np.errstate(divide='ignore', invalid='ignore'):
        per_class = np.where(stable > 0, changed / stable, np.nan)
    fg = np.asarray(list(range(1, len(stable)) if foreground is None else foreground), int)
    values = per_class[fg]
    values = values[~np.isnan(values)]
    total = stable.sum()
    return dict(flicker=float(changed.sum() / total * 100) if total else float('nan'),
                mFlicker=float(values.mean() * 100) if values.size else float('nan'),
                per_class=per_class)


@METRICS.register_module()
class FaceClipMetric(FaceParsingMetric):
    """:class:`FaceParsingMetric` over the frames of face clips, plus flicker (see the module).

    Args: those of :class:`FaceParsingMetric` (``ignore_index``, ``foreground`` and ``per_class``
    apply to the flicker too).
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._reset_order()

    def _reset_order(self) -> None:
        self._last = None  # (clip, frame_index, pred, label) of the previous frame
        self._seen = set()  # clips already finished

    def _pair(self, sample: dict, num_classes: int):
        """The flicker counts of ``sample`` against the previous frame of its clip, or None
        for a clip's first frame."""
        clip, index = sample.get('clip'), sample.get('frame_index')
        if clip is None or index is None:
            raise ValueError(f'FaceClipMetric needs clip and frame_index in every data sample '
                             f'(FaceClipDataset sets them); {sample.get("img_path")} has none')
        pred = sample['pred_sem_seg']['data'].squeeze().cpu()
        label = sample['gt_sem_seg']['data'].squeeze().cpu()
        counts = None
        last = self._last
        if last is not None and last[0] == clip:
            if index != last[1] + 1:
                raise ValueError(f'FaceClipMetric: clip {clip!r} frame {index} '
                                 f'({sample.get("img_path")}) came after frame {last[1]}: the '
                                 f'frames of a clip must come in order (test_dataloader with '
                                 f'DefaultSampler(shuffle=False), one process)')
            counts = flicker_counts(last[2], pred, last[3], label, num_classes,
                                    self.ignore_index)
        else:
            if clip in self._seen:
                raise ValueError(f'FaceClipMetric: clip {clip!r} ({sample.get("img_path")}) '
                                 f'came back after other clips: clips must come one after '
                                 f'the other')
            if last is not None:
                self._seen.add(last[0])
        self._last = (clip, index, pred, label)
        return counts

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        start = len(self.results)
        super().process(data_batch, data_samples)
        frames = self.results[start:]
        del self.results[start:]
        num_classes = len(self.dataset_meta['classes'])
        flicker = np.zeros((2, num_classes), np.int64)
        pairs = 0
        if not self.format_only:
            for sample in data_samples:
                counts = self._pair(sample, num_classes)
                if counts is not None:
                    flicker += counts
                    pairs += 1
        self.results.append(dict(frames=frames, flicker=flicker, pairs=pairs))

    def compute_metrics(self, results: list) -> dict:
        self._reset_order()
        frames = [f for r in results for f in r['frames']]
        out = super().compute_metrics(frames)
        if self.format_only:
            return out
        counts = np.sum([r['flicker'] for r in results], axis=0)
        pairs = int(sum(r['pairs'] for r in results))
        f = flicker_from_counts(counts, self.foreground)
        out = OrderedDict(out)
        out['flicker'] = round(f['flicker'], 3)
        out['mFlicker'] = round(f['mFlicker'], 3)
        out['frame_pairs'] = pairs
        classes = self.dataset_meta['classes']
        if self.per_class:
            for name, value in zip(classes, f['per_class']):
                out[f'flicker.{name}'] = round(float(value) * 100, 3)
        rows = '  '.join(f'{name}: {v * 100:.2f}' for name, v in zip(classes, f['per_class'])
                         if not np.isnan(v))
        print_log(f'temporal consistency over {pairs} frame pairs: flicker {f["flicker"]:.3f}% '
                  f'of stable pixels, mFlicker {f["mFlicker"]:.3f}%\nper class: {rows}',
                  logger='current')
        return out
