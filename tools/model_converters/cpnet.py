"""Convert a CPNet R50-D8 checkpoint in the layout of the Context Prior authors' training
(ycszen/ContextPrior, ``config/cpnet_r50-d8.py``: mmseg's EncoderDecoder with their ``CPHead``; no
checkpoint was released) for ``configs/cpnet-r50-d8_celebamask.py``.

    python tools/model_converters/cpnet.py SRC DST

The rules are ``faceparse_mm/converters/rules/cpnet.py``: every source key must map to a key of
our model and every model key must be filled, otherwise the conversion stops with the list of
offending keys; a checkpoint of another architecture is refused in one line. Loaded with
``weights_only=True``; written atomically, with the classes and palette it was trained on.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from faceparse_mm.converters.core import main  # noqa: E402

if __name__ == '__main__':
    main('cpnet', script=osp.basename(__file__))
