"""Convert RolandGao/RegSeg's ``exp48_decoder26`` checkpoints (e.g.
``cityscapes_exp48_decoder26_trainval_1000_epochs_1024_crop_bootstrapped_run1``) for
``configs/regseg_celebamask.py``.

    python tools/model_converters/regseg.py SRC DST

The rules are ``faceparse_mm/converters/rules/regseg.py``: every source key must map to a key of
our model and every model key must be filled, otherwise the conversion stops with the list of
offending keys; a checkpoint of another architecture is refused in one line. Loaded with
``weights_only=True`` (the state dict under ``model``, as the authors save it); written
atomically, with the classes and palette it was trained on (Cityscapes').
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from faceparse_mm.converters.core import main  # noqa: E402

if __name__ == '__main__':
    main('regseg', script=osp.basename(__file__))
