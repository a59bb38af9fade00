"""FaceParsingMetric: the protocol's metric for every architecture.

One confusion matrix ``C`` (rows: ground truth, columns: prediction) accumulated over the whole
split, pixels labelled ``ignore_index`` left out. From it, per class ``c``:

- Acc  = C[c, c] / sum_j C[c, j]                      (recall, per-class accuracy)
- IoU  = C[c, c] / (sum_j C[c, j] + sum_i C[i, c] - C[c, c])
- F1   = 2 C[c, c] / (sum_j C[c, j] + sum_i C[i, c])   (Dice)

and aAcc = trace(C) / sum(C). A ratio whose denominator is 0 (for IoU and F1: a class absent from
both prediction and ground truth) is NaN and left out of the means. mAcc and mIoU average all 19
classes (background included); mF1 averages the foreground classes (the face-parsing literature's
headline number). Values are percentages, like mmseg's ``IoUMetric``. Implementations that clamp
an empty denominator to 1 agree with these wherever the denominator is non-zero, but turn
"undefined" into 0, which drags the means down for classes absent from a split.
"""
from __future__ import annotations

import os
import os.path as osp
from collections import OrderedDict
from typing import Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from PIL import Image
from prettytable import PrettyTable

from faceparse_mm.registry import METRICS


def confusion_matrix(pred: np.ndarray | torch.Tensor, label: np.ndarray | torch.Tensor,
                     num_classes: int, ignore_index: int = 255) -> np.ndarray:
    """(num_classes, num_classes) int64 matrix, rows = label, columns = prediction."""
    pred = torch.as_tensor(pred).reshape(-1).long()
    label = torch.as_tensor(label).reshape(-1).long()
    keep = label != ignore_index
    pred, label = pred[keep], label[keep]
    bad = (label < 0) | (label >= num_classes)
    if bool(bad.any()):
        raise ValueError(f'label values {sorted(set(label[bad].tolist()))[:5]} are outside '
                         f'0..{num_classes - 1} and are not ignore_index={ignore_index}')
    if pred.numel() and (int(pred.min()) < 0 or int(pred.max()) >= num_classes):
        raise ValueError(f'predicted class ids must be in 0..{num_classes - 1}')
    counts = torch.bincount(label * num_classes + pred, minlength=num_classes ** 2)
    return counts.reshape(num_classes, num_classes).cpu().numpy().astype(np.int64)


def metrics_from_confusion(conf: np.ndarray, foreground: Sequence[int] | None = None) -> dict:
    """Per-class Acc/IoU/F1 (fractions, NaN where undefined) and the summary (percent)."""
    conf = conf.astype(np.float64)
    tp = np.diag(conf)
    gt = conf.sum(axis=1)
    pred = conf.sum(axis=0)
    with np.errstate(divide='ignore', invalid='ignore'):
        acc = np.where(gt > 0, tp / gt, np.nan)
        union = gt + pred - tp
        iou = np.where(union > 0, tp / union, np.nan)
        f1 = np.where(gt + pred > 0, 2 * tp / (gt + pred), np.nan)
    if foreground is None:
        foreground = range(1, len(tp))
    fg = np.asarray(list(foreground), dtype=int)

    def mean(values):
        values = values[~np.isnan(values)]
        return float(values.mean() * 100) if values.size else float('nan')

    total = conf.sum()
    return dict(
        aAcc=float(tp.sum() / total * 100) if total else float('nan'),
        mAcc=mean(acc), mIoU=mean(iou), mF1=mean(f1[fg]),
        Acc=acc, IoU=iou, F1=f1)


@METRICS.register_module()
class FaceParsingMetric(BaseMetric):
    """Confusion-matrix metric over a whole split: aAcc, mAcc, mIoU, mF1 and per-class IoU/F1.

    Args:
        ignore_index: label value left out of the confusion matrix.
        foreground: class ids averaged into mF1; default all but class 0 (background).
        per_class: also return ``IoU.<class>`` and ``F1.<class>`` keys (percent) so that results
            files carry the per-class numbers; the per-class table is logged either way.
        output_dir / format_only / keep_results: as for mmseg's ``IoUMetric``: write predicted
            label maps (PNG, class ids) to ``output_dir``; with ``format_only`` compute nothing.
    """

    default_prefix = None

    def __init__(self, ignore_index: int = 255, foreground: Sequence[int] | None = None,
                 per_class: bool = True, output_dir: str | None = None, format_only: bool = False,
                 keep_results: bool = False, collect_device: str = 'cpu',
                 prefix: str | None = None, **kwargs) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.ignore_index = ignore_index
        self.foreground = foreground
        self.per_class = per_class
        self.output_dir = output_dir
        self.format_only = format_only
        self.keep_results = keep_results
        if output_dir:
            os.makedirs(output_dir, exist_ok=True)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        num_classes = len(self.dataset_meta['classes'])
        for sample in data_samples:
            pred = sample['pred_sem_seg']['data'].squeeze()
            if self.output_dir:
                name = osp.splitext(osp.basename(sample['img_path']))[0]
                Image.fromarray(pred.cpu().numpy().astype(np.uint8)).save(
                    osp.join(self.output_dir, f'{name}.png'))
            if self.format_only:
                continue
            label = sample['gt_sem_seg']['data'].squeeze().to(pred.device)
            if label.shape != pred.shape:
                raise ValueError(f'prediction {tuple(pred.shape)} and label {tuple(label.shape)} '
                                 f'differ in size for {sample.get("img_path")}')
            self.results.append(confusion_matrix(pred, label, num_classes, self.ignore_index))

    def compute_metrics(self, results: list) -> dict:
        logger: MMLogger = MMLogger.get_current_instance()
        if self.format_only:
            logger.info(f'results are saved to {osp.dirname(self.output_dir)}')
            return OrderedDict()
        classes = self.dataset_meta['classes']
        conf = np.sum(results, axis=0)
        m = metrics_from_confusion(conf, self.foreground)
        self._log_table(classes, m)
        out = OrderedDict((k, round(m[k], 2)) for k in ('aAcc', 'mAcc', 'mIoU', 'mF1'))
        if self.per_class:
            for name, iou, f1 in zip(classes, m['IoU'], m['F1']):
                out[f'IoU.{name}'] = round(float(iou) * 100, 2)
                out[f'F1.{name}'] = round(float(f1) * 100, 2)
        return out

    @staticmethod
    def _log_table(classes, m) -> None:
        table = PrettyTable()
        table.field_names = ['Class', 'Acc', 'IoU', 'F1']
        for i, name in enumerate(classes):
            table.add_row([name] + [f'{m[k][i] * 100:.2f}' for k in ('Acc', 'IoU', 'F1')])
        summary = '  '.join(f'{k}: {m[k]:.2f}' for k in ('aAcc', 'mAcc', 'mIoU', 'mF1'))
        print_log('per class results:\n' + table.get_string() + '\n' + summary, logger='current')
