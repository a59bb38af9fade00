"""Convert mmsegmentation's SETR-PUP ViT-L/16 Cityscapes checkpoint
(``setr_pup_vit-large_*_cityscapes*.pth``) for ``configs/setr-pup-vit-b16_celebamask.py``
with the ViT-L/16 ``--cfg-options`` that the conversion prints.

    python tools/model_converters/setr.py SRC DST

The rules are ``faceparse_mm/converters/rules/setr.py``: every source key must map to a key of
our model and every model key must be filled, otherwise the conversion stops with the list of
offending keys; a checkpoint of another architecture is refused in one line. Loaded with
``weights_only=True``; written atomically, with the classes and palette it was trained on.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from faceparse_mm.converters.core import main  # noqa: E402

if __name__ == '__main__':
    main('setr', script=osp.basename(__file__))
