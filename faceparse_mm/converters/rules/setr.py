"""mmsegmentation's SETR-PUP (``setr_vit-l_pup_8xb1-80k_cityscapes-768x768``: ``EncoderDecoder``
with a ``VisionTransformer`` ViT-L/16 learnt at 768 x 768, a ``SETRUPHead`` and three
``SETRUPHead`` auxiliary heads, Cityscapes-trained; mmseg's released checkpoint holds its state
dict under ``state_dict``) for ``configs/setr-pup-vit-b16_celebamask.py``, which builds the same
modules with the same arguments except the encoder's width (ViT-B/16 learnt at 512): every key
keeps its name, and the checkpoint loads into the config with ``model_options`` (ViT-L/16 at
768: its 48 x 48 position embedding is kept and, as in mmseg's own model, resized bilinearly to
the tokens of each input)."""
from mmseg.datasets import CityscapesDataset

from ..core import ConversionRules, register

_CITYSCAPES = CityscapesDataset.METAINFO
#: ViT-L/16 learnt at 768 x 768, as mmseg's Cityscapes SETR-PUP
VIT_L16_768 = {
    'model.backbone.img_size': (768, 768), 'model.backbone.embed_dims': 1024,
    'model.backbone.num_layers': 24, 'model.backbone.num_heads': 16,
    'model.backbone.out_indices': (9, 14, 19, 23), 'model.decode_head.in_channels': 1024,
    **{f'model.auxiliary_head.{i}.in_channels': 1024 for i in range(3)}}

RULES = register(ConversionRules(
    name='setr',
    source_repo='https://github.com/open-mmlab/mmsegmentation',
    source_model='configs/setr/setr_vit-l_pup_8xb1-80k_cityscapes-768x768.py (mmseg 1.2.2)',
    config='configs/setr-pup-vit-b16_celebamask.py',
    model_config='configs/_base_/models/setr-pup-vit-b16.py',
    renames=((r'(backbone\..*|decode_head\..*|auxiliary_head\.[012]\..*)', r'\1'),),
    model_options=VIT_L16_768,
    signature=('backbone.cls_token', 'backbone.pos_embed', 'backbone.patch_embed.projection.weight',
               'decode_head.up_convs.3.0.conv.weight', 'auxiliary_head.2.up_convs.1.0.conv.weight'),
    dataset_meta=dict(classes=list(_CITYSCAPES['classes']),
                      palette=[list(c) for c in _CITYSCAPES['palette']]),
    note='Cityscapes-trained (19 Cityscapes classes); ViT-L/16 at 768: test it with the '
         '--cfg-options the conversion prints.',
))
