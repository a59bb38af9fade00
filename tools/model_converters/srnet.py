"""Convert the SR-Net authors' ResNet-50 SR-Net checkpoint (lxtGH/SFSegNets, ``SRNet_r50``:
``SRNet(19, trunk='resnet-50-deep', variant='D')``, Cityscapes-trained) for
``configs/srnet-r50-d8_celebamask.py``.

    python tools/model_converters/srnet.py SRC DST

The rules are ``faceparse_mm/converters/rules/srnet.py``: every source key must map to a key of our
model and every model key must be filled, otherwise the conversion stops with the list of
offending keys; a checkpoint of another architecture is refused in one line. Loaded with
``weights_only=True``; written atomically, with the classes and palette it was trained on
(Cityscapes').
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from faceparse_mm.converters.core import main  # noqa: E402

if __name__ == '__main__':
    main('srnet', script=osp.basename(__file__))
