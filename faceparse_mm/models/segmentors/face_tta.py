"""Flip test-time augmentation for faces.

mmseg's ``SegTTAModel`` averages the softmax of every augmented view after the segmentor has
flipped each view's logits back (``BaseSegmentor.postprocess_result``). For faces that is not
enough: in a horizontally flipped view the network sees the left eye where the right eye was, so
its ``l_eye`` channel describes the right eye. :class:`FaceSegTTAModel` exchanges the paired
channels (brows, eyes, ears) of every horizontally flipped view before the views are merged.
Logits are (C, H, W) per sample; the merged prediction is the argmax of the mean softmax.
"""
from __future__ import annotations

from typing import List, Sequence

import torch
from mmseg.models.segmentors.seg_tta import SegTTAModel
from mmseg.utils import SampleList

from faceparse_mm.registry import MODELS


def swap_channels(logits, pairs: Sequence[Sequence[int]], dim: int = 0):
    """Return ``logits`` with the channels of each (a, b) pair exchanged along ``dim``."""
    order = list(range(logits.shape[dim]))
    for a, b in pairs:
        order[a], order[b] = order[b], order[a]
    return logits.index_select(dim, torch.tensor(order, device=logits.device))


@MODELS.register_module()
class FaceSegTTAModel(SegTTAModel):
    """``SegTTAModel`` that swaps left/right channels of horizontally flipped views.

    Args:
        flip_pairs: (left, right) class pairs, required: the dataset's
            ``METAINFO['flip_pairs']`` (the protocol configs pass ``flip_pairs``).
        module, data_preprocessor: as ``SegTTAModel``.
    """

    def __init__(self, flip_pairs=None, **kwargs) -> None:
        if flip_pairs is None:
            raise TypeError("FaceSegTTAModel needs flip_pairs: the dataset's left/right class "
                            "pairs (its METAINFO['flip_pairs'])")
        super().__init__(**kwargs)
        self.flip_pairs = [tuple(p) for p in flip_pairs]

    def merge_preds(self, data_samples_list: List[SampleList]) -> SampleList:
        for data_samples in data_samples_list:
            for sample in data_samples:
                if sample.metainfo.get('flip') and sample.metainfo.get(
                        'flip_direction') in ('horizontal', 'diagonal'):
                    sample.seg_logits.data = swap_channels(sample.seg_logits.data,
                                                           self.flip_pairs)
        return super().merge_preds(data_samples_list)
