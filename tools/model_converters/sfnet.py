"""Convert the SFNet authors' ResNet-18 SFNet checkpoint (lxtGH/SFSegNets, ``DeepR18_SF_deeply``
or its ``_dsn`` variant, Cityscapes-trained) for ``configs/sfnet-r18_celebamask.py``.

    python tools/model_converters/sfnet.py SRC DST

The rules are ``faceparse_mm/converters/rules/sfnet.py``: every source key must map to a key of our
model and every model key must be filled (the deep-supervision heads only when the checkpoint has
them), otherwise the conversion stops with the list of offending keys; a checkpoint of another
architecture is refused in one line. Loaded with ``weights_only=True``; written atomically, with
the classes and palette it was trained on (Cityscapes').
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from faceparse_mm.converters.core import main  # noqa: E402

if __name__ == '__main__':
    main('sfnet', script=osp.basename(__file__))
