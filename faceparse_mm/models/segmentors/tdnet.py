"""TDNet, the temporally distributed network (Hu, Caba Heilbron, Wang, Lin, Sclaroff and Perazzi,
"Temporally Distributed Networks for Fast Video Semantic Segmentation", CVPR 2020).

One deep network's work spread over consecutive frames. m shallow sub-networks (TD4-PSP18: four
PSPNet-ResNet-18 paths) each compute a channel slice of a deep PSPNet feature
(:class:`~faceparse_mm.models.modules.PyramidPoolingSlice`); at frame t of a clip only
sub-network ``t mod m`` runs. Its feature z_t (N, C, h, w) is encoded into queries and values
(:class:`~faceparse_mm.models.modules.TemporalEncoding`) and the attention propagation
(:class:`~faceparse_mm.models.modules.AttentionPropagation`) chains the keys and values of the
previous m - 1 frames (64-d keys, those frames subsampled by 4) into the current frame:

    a_1 = APM(K_{t-m+1}, V_{t-m+1}, Q_{t-m+2});  a_j = APM(K, a_{j-1} + V, Q) of the next frames;
    a = APM(K_{t-1}, a_{m-2} + V_{t-1}, Q_t)           (N, C, h, w), the current frame's queries
    logits = head_p(norm_p(a + V_t))                    (N, num_classes, h, w), p = t mod m

``norm`` is the authors' layer normalisation of each channel's h x w map with per-position affine
maps (:class:`~faceparse_mm.models.modules.SpatialLayerNorm`, stored at their 97 x 193 and
resized to other sizes); ``output_norm='channel'`` normalises each position over the channels
instead (timm's ``LayerNorm2d``, 2 C parameters, nothing tied to a size). Images (N, 3, H, W) ->
logits resized to (N, num_classes, H, W).

State and order. At test time the model is a stream: each frame (a batch is taken frame by frame,
in order) runs one sub-network and leaves its subsampled queries, keys and values in a memory of
the last m - 1 frames. The data samples' ``clip`` and ``frame_index`` (set by
:class:`~faceparse_mm.datasets.FaceClipDataset`) delimit clips: frame 0, or another clip, starts
a fresh stream (empty memory, sub-network 0), so a clip's first frame gives exactly what a new
model gives. Frames out of order within a clip are refused with the frame named (the test
dataloader must be sequential: ``DefaultSampler(shuffle=False)``, one process). The same frame
twice in a row (the flipped view of flip TTA, batch 1) reuses the memory before that frame and
leaves the memory as the first view left it. Images without clip metainfo (benchmarks, a
camera) continue the current stream; a size change starts a new one; :meth:`reset` starts one
explicitly. Until m - 1 frames are in memory nothing is propagated (``head(norm(V_t))``), as the
authors' test code; ``tools/analysis/benchmark.py`` therefore runs ``stream_history`` (m - 1)
frames before it counts and times one. (Its ``fold_bn`` check compares two calls, which are two
different frames of the stream here, so that mode reports itself unavailable.)

Training (the paper's): a sample is m consecutive frames of a clip (``FaceClipDataset(
num_frames=m)``; the collated batch is flattened frame-major), labelled on its last frame. At
iteration i, sub-network ``p = i mod m`` takes the last frame and sub-networks p-1, p-2, ... the
frames before it (the order they would run in at test time), all m with gradients; the chain
above gives the logits. Loss = decode (OHEM CE on ``head_p(norm_p(a + V_t))``) + ``sub_loss_weight``
(0.5) x the same loss on ``head_p(norm_p(V_t))`` (the frame without propagation: what the first
frames of a clip get) + the auxiliary FCN head of sub-network p on its stage-3 map (weight 0.1,
training only), as the authors' ``td4_psp``. Their knowledge distillation from a full PSPNet-101
teacher (KL divergence to the teacher's logits, weight 1, and to its sliced logits, 0.5) is left
out: it needs a trained teacher on the same data.

Where the authors' code (feinanshan/TDNet, td4_psp18.py and Training/.../td4_psp.py) differs:

- Their norm is ``nn.LayerNorm([97, 193])``: statistics over each channel's h x w map with one
  affine weight per position, so only 769 x 1537 inputs run. Ours is the same layer at that size
  and resizes its affine maps at any other size (the default, ``norm_size=(97, 193)``);
  ``output_norm='channel'`` is a norm over the channels at each position instead (the paper's
  layer normalisation in the transformer sense; 4 x 2 x 512 parameters against 4 x 2 x 97 x 193).
- Their test code never resets its queue (one video); ours resets at every clip boundary.
- Backbone (config): their ResNet-18 (7x7 stem) dilated to output stride 8 dilates conv1 of the
  blocks of stages 3 and 4 by (1, 2) and (4, 8) and conv2 by 2 and 4: mmseg's ``ResNet``
  (``contract_dilation``, ``multi_grid=(4, 8)``) for conv1 and ``Conv2DilatedResNet``'s
  ``conv2_dilations`` for conv2.
- The first 1x1 conv of queries and keys has no bias before its BN (theirs: 4 x 2 x 64 = 512
  parameters more; the converter folds it into the BN's running mean).

Inference parameters with 19 classes: 52,777,556 against the authors' 52,778,068 (-512, the
biases above); their total 54,830,068 adds the unused ImageNet ``fc`` of each ResNet
(tests/models/test_tdnet.py). The authors' released checkpoint converts with
``tools/model_converters/tdnet.py`` (tests/converters/test_tdnet.py).
"""
from __future__ import annotations

from typing import List

import torch
from mmengine.model import ModuleDict, ModuleList
from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.models.utils import resize
from mmseg.utils import add_prefix
from timm.layers import LayerNorm2d

from faceparse_mm.datasets.face_clips import flatten_clip_batch
from faceparse_mm.models.modules.attention_propagation import (
    AttentionPropagation,
    TemporalEncoding,
)
from faceparse_mm.models.modules.pyramid_pooling_slice import PyramidPoolingSlice
from faceparse_mm.models.modules.spatial_layer_norm import SpatialLayerNorm
from faceparse_mm.registry import MODELS

__all__ = ['TDNet']


def _outside_inference(memory: list) -> list:
    """``memory`` usable in the current mode: entries kept under ``torch.inference_mode`` are
    copied when used outside it (autograd refuses inference tensors there)."""
    if torch.is_inference_mode_enabled() or not memory or not memory[-1][2].is_inference():
        return memory
    return [(path, *(None if t is None else t.clone() for t in tensors))
            for path, *tensors in memory]


@MODELS.register_module()
class TDNet(BaseSegmentor):
    """Args:
        backbone: one sub-network's backbone (built ``num_paths`` times, each with its own
            weights and the same ``init_cfg``).
        decode_head: one sub-network's head (built ``num_paths`` times), e.g. mmseg's
            ``FCNHead`` with ``in_channels`` = the slice width.
        num_paths: m.
        in_channels, in_index: channels and index of the backbone output that feeds the
            pyramid pooling (ResNet-18: 512, stage 4).
        num_slices: how many channel slices the PSPNet feature is cut into (default m // 2 as
            the authors' TD4; sub-network i keeps slice ``i mod num_slices``).
        pool_scales, pool_channels: the pyramid pooling branches (default C / 4 wide).
        key_channels, memory_stride: d_k and the subsampling of the kept frames (64, 4).
        attn_drop, proj_drop: the propagation's dropouts (0.1, 0.1).
        norm_cfg: of the pyramid pooling and the query/key encodings.
        output_norm: the norm before each head: 'spatial' (the authors': each channel's map
            normalised, per-position affine maps of ``norm_size``, resized to other sizes) or
            'channel' (each position over the channels, 2 C parameters).
        norm_size: (h, w) of the spatial norm's affine maps (the authors': (97, 193), the
            feature of a 769 x 1537 input).
        align_corners: of every bilinear resize (the authors': True).
        auxiliary_head: one sub-network's auxiliary head (built m times, training only).
        sub_loss_weight: weight of the loss on the frame without propagation (0.5).
    """

    training_only = ('auxiliary_head',)
    #: why a traced graph is not this model (see ``DynamicRoutingEncoderDecoder``)
    onnx_unexportable = ('state over a clip: each frame runs one of the sub-networks in turn '
                         'and attends over the kept keys and values of the previous frames')

    def __init__(self, backbone: dict, decode_head: dict, num_paths: int = 4,
                 in_channels: int = 512, in_index: int = 3, num_slices: int | None = None,
                 pool_scales=(1, 2, 3, 6), pool_channels: int | None = None,
                 key_channels: int = 64, memory_stride: int = 4, attn_drop: float = 0.1,
                 proj_drop: float = 0.1, norm_cfg=dict(type='BN'), output_norm: str = 'spatial',
                 norm_size=(97, 193), align_corners: bool = True,
                 auxiliary_head: dict | None = None, sub_loss_weight: float = 0.5,
                 train_cfg=None, test_cfg=None, data_preprocessor=None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        m = int(num_paths)
        if m < 1:
            raise ValueError(f'model.num_paths must be >= 1, got {num_paths}')
        num_slices = max(1, m // 2) if num_slices is None else int(num_slices)
        self.num_paths, self.num_slices, self.in_index = m, num_slices, in_index
        self.align_corners = align_corners
        self.sub_loss_weight = sub_loss_weight
        self.train_cfg, self.test_cfg = train_cfg, test_cfg
        mode = (test_cfg or {}).get('mode', 'whole')
        if mode != 'whole':
            raise ValueError(f"model.test_cfg.mode={mode!r}: TDNet is a stream over the frames "
                             f"of a clip, only 'whole' inference keeps them in order")
        self.backbones = ModuleList([MODELS.build(backbone) for _ in range(m)])
        self.pyramid_pooling = ModuleList([
            PyramidPoolingSlice(in_channels, pool_scales, pool_channels, num_slices,
                                i % num_slices, norm_cfg=norm_cfg, align_corners=align_corners)
            for i in range(m)])
        width = self.pyramid_pooling[0].out_channels
        self.encodings = ModuleList([
            TemporalEncoding(width, key_channels, width, memory_stride, norm_cfg=norm_cfg)
            for _ in range(m)])
        # propagation['i_j']: in sub-network i's chain, the step whose source frame sub-network
        # j computed (the authors' atn{i}_{j})
        self.propagation = ModuleDict({
            f'{i}_{j}': AttentionPropagation(width, key_channels, attn_drop, proj_drop)
            for i in range(m) for j in range(m) if i != j})
        if output_norm == 'spatial':
            self.output_norm = ModuleList([SpatialLayerNorm(norm_size) for _ in range(m)])
        elif output_norm == 'channel':
            self.output_norm = ModuleList([LayerNorm2d(width, eps=1e-5) for _ in range(m)])
        else:
            raise ValueError(f"model.output_norm must be 'spatial' or 'channel', got "
                             f"{output_norm!r}")
        if decode_head.get('in_channels') != width:
            raise ValueError(f'model.decode_head.in_channels must be the slice width {width} '
                             f'((in_channels + pooled channels) / num_slices), got '
                             f'{decode_head.get("in_channels")}')
        self.decode_head = ModuleList([MODELS.build(decode_head) for _ in range(m)])
        self.auxiliary_head = (ModuleList([MODELS.build(auxiliary_head) for _ in range(m)])
                               if auxiliary_head else None)
        self.num_classes = self.decode_head[0].num_classes
        self.out_channels = self.decode_head[0].out_channels
        self._train_position = 0
        self._stream = None

    # ------------------------------------------------------------------------------------------
    # one sub-network

    def extract_feat(self, inputs: torch.Tensor, path: int = 0):
        """Sub-network ``path``'s backbone outputs."""
        return self.backbones[path](inputs)

    def _features(self, path: int, img: torch.Tensor):
        feats = self.backbones[path](img)
        return feats, self.pyramid_pooling[path](feats[self.in_index])

    def _decode(self, path: int, value: torch.Tensor) -> torch.Tensor:
        return self.decode_head[path]([self.output_norm[path](value)])

    def propagate(self, path: int, memory: list, query: torch.Tensor, size):
        """Chain the ``memory`` entries ``(source path, queries, keys, values)`` (oldest first)
        into the current frame's ``query`` (N, h w, d_k) -> (N, C, h, w); None if empty."""
        out = None
        for j, (source, _, key, value) in enumerate(memory):
            last = j + 1 == len(memory)
            target = query if last else memory[j + 1][1]
            step = self.propagation[f'{path}_{source}']
            out = step(key, value if out is None else out + value, target,
                       size=tuple(size) if last else None)
        return out

    def _frame(self, path: int, img: torch.Tensor, memory: list):
        """One frame through sub-network ``path`` with ``memory`` (full or empty) -> (logits
        (N, num_classes, h, w), its memory entry)."""
        _, z = self._features(path, img)
        encoding = self.encodings[path]
        query, value = encoding(z)
        if len(memory) == self.num_paths - 1 and memory:
            value = value + self.propagate(path, memory, query, z.shape[2:])
        entry = (path, *(t.detach() for t in encoding.memory(z)))
        return self._decode(path, value), entry

    # ------------------------------------------------------------------------------------------
    # the stream (inference)

    @property
    def stream_history(self) -> int:
        """Frames a stream takes before every frame propagates (m - 1): what a benchmark runs
        first to time the steady state."""
        return self.num_paths - 1

    def reset(self) -> None:
        """Forget the frames seen: the next frame starts a new stream."""
        self._stream = None

    def _next(self, img: torch.Tensor, meta: dict) -> torch.Tensor:
        """One frame (1, 3, H, W) of the stream -> logits (1, num_classes, h, w)."""
        clip, index = meta.get('clip'), meta.get('frame_index')
        s = self._stream
        repeat = False
        if s is None or (clip is None and (s['clip'] is not None or s['size'] != img.shape[2:])):
            s = None
        elif clip is not None:
            if clip != s['clip'] or index == 0:
                s = None
            elif index is not None and s['index'] is not None:
                if index == s['index']:
                    repeat = True
                elif index != s['index'] + 1:
                    raise ValueError(
                        f'TDNet: clip {clip!r} frame {index} ({meta.get("img_path")}) follows '
                        f'frame {s["index"]}: the frames of a clip must come in order, one at a '
                        f'time (test_dataloader: DefaultSampler(shuffle=False), one process; '
                        f'flip TTA only at batch size 1)')
        if s is None:
            s = self._stream = dict(clip=clip, index=None, size=img.shape[2:], count=0,
                                    memory=[], before=[])
        if repeat:
            logits, _ = self._frame((s['count'] - 1) % self.num_paths, img,
                                    _outside_inference(s['before']))
            return logits
        logits, entry = self._frame(s['count'] % self.num_paths, img,
                                    _outside_inference(s['memory']))
        s['before'] = s['memory']
        s['memory'] = (s['memory'] + [entry])[-(self.num_paths - 1):] if self.num_paths > 1 \
            else []
        s['count'] += 1
        s['index'] = index
        return logits

    def _stream_logits(self, inputs: torch.Tensor, batch_img_metas: List[dict]) -> torch.Tensor:
        metas = batch_img_metas or [{}] * inputs.shape[0]
        return torch.cat([self._next(inputs[i:i + 1], metas[i]) for i in range(inputs.shape[0])])

    def encode_decode(self, inputs: torch.Tensor, batch_img_metas: List[dict]) -> torch.Tensor:
        """Images (N, 3, H, W), taken as N consecutive frames -> logits (N, C, H, W)."""
        logits = self._stream_logits(inputs, batch_img_metas)
        return resize(logits, size=inputs.shape[2:], mode='bilinear',
                      align_corners=self.align_corners, warning=False)

    def _forward(self, inputs: torch.Tensor, data_samples=None) -> torch.Tensor:
        metas = [s.metainfo for s in data_samples] if data_samples is not None else None
        return self._stream_logits(inputs, metas)

    def predict(self, inputs: torch.Tensor, data_samples=None):
        if data_samples is not None:
            metas = [s.metainfo for s in data_samples]
        else:
            shape = inputs.shape[2:]
            metas = [dict(ori_shape=shape, img_shape=shape, pad_shape=shape,
                          padding_size=[0, 0, 0, 0])] * inputs.shape[0]
        return self.postprocess_result(self.encode_decode(inputs, metas), data_samples)

    # ------------------------------------------------------------------------------------------
    # training

    def train_step(self, data, optim_wrapper):
        """As mmengine's, on the collated clip batch flattened frame-major."""
        return super().train_step(flatten_clip_batch(data), optim_wrapper)

    def _windows(self, inputs: torch.Tensor, data_samples):
        """Frame-major (m B, ...) -> m frames (B, 3, H, W) and their samples, oldest first."""
        m = self.num_paths
        sizes = {s.metainfo.get('window_size') for s in data_samples}
        if sizes != {m} or len(data_samples) % m:
            raise ValueError(
                f'TDNet trains on samples of num_paths={m} consecutive frames of a clip '
                f'(FaceClipDataset with num_frames={m}: train_dataloader.dataset.num_frames); got '
                f'{len(data_samples)} frames with window sizes {sorted(map(str, sizes))}')
        b = len(data_samples) // m
        for k in range(m):
            for i in range(b):
                meta = data_samples[k * b + i].metainfo
                first = data_samples[i].metainfo
                if meta.get('window_index') != k or meta.get('clip') != first.get('clip'):
                    raise ValueError(f'TDNet: the batch is not frame-major (frame {k} of sample '
                                     f'{i} is {meta.get("img_path")}); flatten it with '
                                     f'faceparse_mm.datasets.flatten_clip_batch')
        return ([inputs[k * b:(k + 1) * b] for k in range(m)],
                [data_samples[k * b:(k + 1) * b] for k in range(m)])

    def loss(self, inputs: torch.Tensor, data_samples) -> dict:
        m = self.num_paths
        frames, samples = self._windows(inputs, data_samples)
        p = self._train_position
        self._train_position = (p + 1) % m
        paths = [(p - (m - 1 - k)) % m for k in range(m)]
        memory = []
        for k in range(m - 1):
            _, z = self._features(paths[k], frames[k])
            memory.append((paths[k], *self.encodings[paths[k]].memory(z, with_query=k > 0)))
        feats, z = self._features(p, frames[-1])
        query, value = self.encodings[p](z)
        current = samples[-1]
        head = self.decode_head[p]
        losses = {}
        if memory:
            logits = self._decode(p, value + self.propagate(p, memory, query, z.shape[2:]))
            losses.update(add_prefix(head.loss_by_feat(logits, current), 'decode'))
        sub = head.loss_by_feat(self._decode(p, value), current)
        losses.update(add_prefix({k: v * self.sub_loss_weight for k, v in sub.items()
                                  if 'loss' in k}, 'sub'))
        if self.with_auxiliary_head:
            losses.update(add_prefix(self.auxiliary_head[p].loss(feats, current, self.train_cfg),
                                     'aux'))
        return losses
