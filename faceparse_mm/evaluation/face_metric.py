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

Options beyond the protocol (all off by default, so the protocol's numbers never change):
``boundary_width`` adds boundary F1 (:mod:`.boundary`) to the per-class table and the results,
``per_image_out`` saves each image's confusion matrix (:mod:`.per_image`, for bootstrap intervals
and paired comparisons), ``pose_file`` adds mF1 per head-pose bucket (:mod:`.pose`).
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

from .boundary import boundary_counts, boundary_f1
from .per_image import save_per_image
from .pose import POSE_FILE, pose_buckets, pose_file_for, read_pose_file


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
        boundary_width: if given (pixels of the label map), also boundary F1 per class in the band
            of that width around the class's ground-truth edges (:mod:`.boundary`): ``mBF1``
            (over ``foreground``) and, with ``per_class``, ``BF1.<class>``.
        per_image_out: if given, write each image's confusion matrix (and boundary counts) to
            this ``.npz`` file (:mod:`.per_image`) when the metrics are computed.
        pose_file: if given, also mF1 per |yaw| and |pitch| bucket with the number of images in
            each (``yaw_0-15.mF1``, ``yaw_0-15.images``, ...; :mod:`.pose`); ``'auto'`` reads
            ``CelebAMask-HQ-pose-anno.txt`` beside the images' folder. A missing file is said
            once and the buckets are skipped.
        pose_edges: bucket edges in degrees per axis, e.g. ``dict(yaw=(15, 30, 45))``; default
            (15, 30, 45) for yaw and pitch.
    """

    default_prefix = None

    def __init__(self, ignore_index: int = 255, foreground: Sequence[int] | None = None,
                 per_class: bool = True, output_dir: str | None = None, format_only: bool = False,
                 keep_results: bool = False, collect_device: str = 'cpu',
                 prefix: str | None = None, boundary_width: int | None = None,
                 per_image_out: str | None = None, pose_file: str | None = None,
                 pose_edges: dict | None = None, **kwargs) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.ignore_index = ignore_index
        self.foreground = foreground
        self.per_class = per_class
        self.output_dir = output_dir
        self.format_only = format_only
        self.keep_results = keep_results
        if boundary_width is not None and int(boundary_width) < 1:
            raise ValueError(f'boundary_width must be a positive number of pixels, got '
                             f'{boundary_width}')
        self.boundary_width = None if boundary_width is None else int(boundary_width)
        self.per_image_out = per_image_out
        self.pose_file = pose_file
        self.pose_edges = dict(pose_edges or {})
        self._pose_said = False
        # one record per image (its name and counts) instead of the bare confusion matrix
        self._records = bool(self.boundary_width or per_image_out or pose_file)
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
            conf = confusion_matrix(pred, label, num_classes, self.ignore_index)
            if not self._records:
                self.results.append(conf)
                continue
            record = dict(conf=conf, name=sample.get('img_path'))
            if self.boundary_width:
                record['boundary'] = boundary_counts(pred, label, num_classes,
                                                     self.boundary_width, self.ignore_index)
            self.results.append(record)

    def compute_metrics(self, results: list) -> dict:
        logger: MMLogger = MMLogger.get_current_instance()
        if self.format_only:
            logger.info(f'results are saved to {osp.dirname(self.output_dir)}')
            return OrderedDict()
        classes = self.dataset_meta['classes']
        records = [r for r in results if isinstance(r, dict)]
        confs = [r['conf'] if isinstance(r, dict) else r for r in results]
        conf = np.sum(confs, axis=0)
        m = metrics_from_confusion(conf, self.foreground)
        fg = list(self.foreground) if self.foreground is not None else list(range(1, len(classes)))
        if self.boundary_width:
            m['BF1'] = boundary_f1(np.sum([r['boundary'] for r in records], axis=0))
            values = m['BF1'][fg]
            values = values[~np.isnan(values)]
            m['mBF1'] = float(values.mean() * 100) if values.size else float('nan')
        self._log_table(classes, m)
        out = OrderedDict((k, round(m[k], 2)) for k in ('aAcc', 'mAcc', 'mIoU', 'mF1'))
        if self.boundary_width:
            out['mBF1'] = round(m['mBF1'], 2)
        if self.per_class:
            for name, iou, f1 in zip(classes, m['IoU'], m['F1']):
                out[f'IoU.{name}'] = round(float(iou) * 100, 2)
                out[f'F1.{name}'] = round(float(f1) * 100, 2)
            for name, bf1 in zip(classes, m.get('BF1', ())):
                out[f'BF1.{name}'] = round(float(bf1) * 100, 2)
        names = [r['name'] if r['name'] is not None else f'#{i}' for i, r in enumerate(records)]
        if self.per_image_out:
            save_per_image(self.per_image_out, names, np.stack(confs), classes, fg,
                           boundary=(np.stack([r['boundary'] for r in records])
                                     if self.boundary_width else None),
                           width=self.boundary_width)
            print_log(f'per-image confusion counts of {len(names)} images written to '
                      f'{self.per_image_out}', logger='current')
        if self.pose_file:
            out.update(self._pose_metrics(np.stack(confs), names, fg))
        return out

    def _pose_metrics(self, confs: np.ndarray, names: list, fg: list) -> dict:
        """``{axis}_{bucket}.mF1`` and ``.images`` per head-pose bucket; {} (said once) when the
        pose file is missing."""
        path = self.pose_file
        if path == 'auto':
            named = [n for n in names if not n.startswith('#')]
            path = pose_file_for(named[0]) if named else None
        if not path or not osp.isfile(path):
            if not self._pose_said:
                where = path or f'{POSE_FILE} (the samples carry no img_path to find it by)'
                print_log(f'no head-pose file {where}: pose buckets skipped', logger='current',
                          level=30)
                self._pose_said = True
            return {}
        buckets, missing = pose_buckets(confs, names, read_pose_file(path), self.pose_edges)
        out, table = OrderedDict(), PrettyTable()
        table.field_names = ['Axis', 'Bucket (deg)', 'Images', 'mF1']
        for b in buckets:
            mf1 = metrics_from_confusion(b['conf'], fg)['mF1'] if b['images'] else float('nan')
            out[f"{b['axis']}_{b['bucket']}.mF1"] = round(mf1, 2)
            out[f"{b['axis']}_{b['bucket']}.images"] = b['images']
            table.add_row([b['axis'], b['bucket'], b['images'], f'{mf1:.2f}'])
        note = f'\n{missing} images have no pose in {path}' if missing else ''
        print_log(f'mF1 per head-pose bucket ({path}):\n{table.get_string()}{note}',
                  logger='current')
        return out

    @staticmethod
    def _log_table(classes, m) -> None:
        table = PrettyTable()
        columns = ['Acc', 'IoU', 'F1'] + (['BF1'] if 'BF1' in m else [])
        table.field_names = ['Class'] + columns
        for i, name in enumerate(classes):
            table.add_row([name] + [f'{m[k][i] * 100:.2f}' for k in columns])
        summary = '  '.join(f'{k}: {m[k]:.2f}' for k in ('aAcc', 'mAcc', 'mIoU', 'mF1', 'mBF1')
                            if k in m)
        print_log('per class results:\n' + table.get_string() + '\n' + summary, logger='current')
