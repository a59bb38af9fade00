"""Polarized Self-Attention for segmentation (DeLightCMU/PSA, ``semantic-segmentation``: NVIDIA's
HRNet-OCR code with a PSA_s module as ``deattn`` in every BasicBlock; the released Cityscapes
checkpoints "HRNetV2-OCR+PSA(s)" / "(p)" are ``ocrnet.HRNet_Mscale`` = ``MscaleOCR`` on HRNetV2-W48,
saved by their ``train.py`` as ``{'state_dict': DistributedDataParallel state dict}``) for
``configs/psa-ocrnet-hrnet-w18_celebamask.py``, built at W48 (``model_options``) as released.

``backbone.*`` keeps its names (mmseg's HRNet has the authors' layout: stem ``conv1``/``bn1``/
``conv2``/``bn2``, ``layer1``, ``transition1..3``, ``stage2..4`` with ``branches`` and
``fuse_layers``); each block's ``deattn`` (PSA_s) -> ``polarized_self_attention`` (``conv_q_right``
-> ``ch_query``, ``conv_v_right`` -> ``ch_value``, ``conv_up`` -> ``ch_up``, ``conv_q_left`` ->
``sp_query``, ``conv_v_left`` -> ``sp_value``). ``ocr.aux_head`` (the soft object regions) ->
``decode_head.0`` (FCNHead); ``ocr.conv3x3_ocr`` -> ``decode_head.1.bottleneck``;
``ocr.ocr_distri_head.object_context_block`` ``f_pixel`` / ``f_object`` / ``f_down`` / ``f_up`` ->
``query_project`` / ``key_project`` / ``value_project`` / ``out_project`` and its
``conv_bn_dropout`` -> ``bottleneck`` of ``decode_head.1.object_context_block``; ``ocr.cls_head``
-> ``decode_head.1.conv_seg``. The biases of the two convs a BatchNorm follows (``conv3x3_ocr.0``,
``aux_head.0``) fold into that BN's running mean. ``scale_attn`` (the attention head of their
hierarchical multi-scale inference, 0.5/1.0/2.0) is not part of our model and is dropped: the
converted model computes their single-scale prediction (``MscaleOCR._fwd(x)['cls_out']``).
The "(p)" release (PSA_p modules, which this version of their code does not build) is not
covered.
"""
from mmseg.datasets import CityscapesDataset

from ..core import ConversionRules, register

_CITYSCAPES = CityscapesDataset.METAINFO
_BLOCK = r'(backbone\.(?:stage[2-4]\.\d+\.branches\.\d+\.\d+))'
_PSA = dict(conv_q_right='ch_query', conv_v_right='ch_value', conv_q_left='sp_query',
            conv_v_left='sp_value', conv_up='ch_up')
_OCR = r'ocr\.ocr_distri_head\.object_context_block'
_OURS = 'decode_head.1.object_context_block'
_W48 = (48, 96, 192, 384)

RULES = register(ConversionRules(
    name='psa',
    source_repo='https://github.com/DeLightCMU/PSA',
    source_model='semantic-segmentation network.ocrnet.HRNet_Mscale (MscaleOCR, trunk hrnetv2 '
                 'with PSA_s), HRNetV2-W48, 19 classes: "HRNetV2-OCR+PSA(s)"',
    config='configs/psa-ocrnet-hrnet-w18_celebamask.py',
    model_config='configs/_base_/models/psa-ocrnet-hrnet-w18.py',
    renames=(
        *((rf'{_BLOCK}\.deattn\.{theirs}\.(.*)', rf'\1.polarized_self_attention.{ours}.\2')
          for theirs, ours in _PSA.items()),
        (r'(backbone\..*)', r'\1'),
        (r'ocr\.aux_head\.0\.weight', r'decode_head.0.convs.0.conv.weight'),
        (r'ocr\.aux_head\.1\.0\.(.*)', r'decode_head.0.convs.0.bn.\1'),
        (r'ocr\.aux_head\.2\.(.*)', r'decode_head.0.conv_seg.\1'),
        (r'ocr\.conv3x3_ocr\.0\.weight', r'decode_head.1.bottleneck.conv.weight'),
        (r'ocr\.conv3x3_ocr\.1\.0\.(.*)', r'decode_head.1.bottleneck.bn.\1'),
        *((rf'{_OCR}\.{theirs}\.0\.weight', rf'{_OURS}.{ours}.0.conv.weight')
          for theirs, ours in (('f_pixel', 'query_project'), ('f_object', 'key_project'))),
        *((rf'{_OCR}\.{theirs}\.1\.0\.(.*)', rf'{_OURS}.{ours}.0.bn.\1')
          for theirs, ours in (('f_pixel', 'query_project'), ('f_object', 'key_project'))),
        *((rf'{_OCR}\.{theirs}\.2\.weight', rf'{_OURS}.{ours}.1.conv.weight')
          for theirs, ours in (('f_pixel', 'query_project'), ('f_object', 'key_project'))),
        *((rf'{_OCR}\.{theirs}\.3\.0\.(.*)', rf'{_OURS}.{ours}.1.bn.\1')
          for theirs, ours in (('f_pixel', 'query_project'), ('f_object', 'key_project'))),
        *((rf'{_OCR}\.{theirs}\.0\.weight', rf'{_OURS}.{ours}.conv.weight')
          for theirs, ours in (('f_down', 'value_project'), ('f_up', 'out_project'))),
        *((rf'{_OCR}\.{theirs}\.1\.0\.(.*)', rf'{_OURS}.{ours}.bn.\1')
          for theirs, ours in (('f_down', 'value_project'), ('f_up', 'out_project'))),
        (r'ocr\.ocr_distri_head\.conv_bn_dropout\.0\.weight', rf'{_OURS}.bottleneck.conv.weight'),
        (r'ocr\.ocr_distri_head\.conv_bn_dropout\.1\.0\.(.*)', rf'{_OURS}.bottleneck.bn.\1'),
        (r'ocr\.cls_head\.(.*)', r'decode_head.1.conv_seg.\1'),
    ),
    fold_bias=(
        (r'ocr\.aux_head\.0\.bias', r'decode_head.0.convs.0.bn.running_mean'),
        (r'ocr\.conv3x3_ocr\.0\.bias', r'decode_head.1.bottleneck.bn.running_mean'),
    ),
    unused=(r'scale_attn\..*',),
    model_options={
        'model.backbone.extra.stage2.num_channels': _W48[:2],
        'model.backbone.extra.stage3.num_channels': _W48[:3],
        'model.backbone.extra.stage4.num_channels': _W48,
        'model.decode_head.0.in_channels': list(_W48),
        'model.decode_head.0.channels': sum(_W48),
        'model.decode_head.1.in_channels': list(_W48),
    },
    signature=('backbone.stage2.0.branches.0.0.deattn.conv_q_right.weight',
               'ocr.conv3x3_ocr.0.weight', 'ocr.aux_head.0.weight', 'ocr.cls_head.weight'),
    dataset_meta=dict(classes=list(_CITYSCAPES['classes']),
                      palette=[list(c) for c in _CITYSCAPES['palette']]),
    note='Cityscapes-trained (19 Cityscapes classes), HRNetV2-W48; the multi-scale attention '
         'head (scale_attn) is dropped.',
))
