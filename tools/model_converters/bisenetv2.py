"""Convert CoinCheung/BiSeNet's BiSeNetV2 checkpoint (``model_final_v2_city.pth``, saved with its
booster heads) for ``configs/bisenetv2_celebamask.py``.

    python tools/model_converters/bisenetv2.py SRC DST

The rules are ``faceparse_mm/converters/rules/bisenetv2.py``: every source key must map to a key
of our model and every model key must be filled, otherwise the conversion stops with the list of
offending keys; a checkpoint of another architecture is refused in one line. Loaded with
``weights_only=True``; written atomically, with the classes and palette it was trained on
(Cityscapes').
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from faceparse_mm.converters.core import main  # noqa: E402

if __name__ == '__main__':
    main('bisenetv2', script=osp.basename(__file__))
