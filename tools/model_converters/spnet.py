"""Convert an SPNet checkpoint of the authors' code (houqb/SPNet, ``SPNet(19, 'resnet50',
spm_on=True)`` as their ``tool/train.py`` saves it; 19 classes: their Cityscapes setting) for
``configs/spnet-r50_celebamask.py``.

    python tools/model_converters/spnet.py SRC DST

The rules are ``faceparse_mm/converters/rules/spnet.py``: every source key must map to a key of our
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
    main('spnet', script=osp.basename(__file__))
