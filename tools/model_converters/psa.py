"""Convert the Polarized Self-Attention authors' HRNetV2-OCR+PSA(s) checkpoint (DeLightCMU/PSA,
``ocrnet.HRNet_Mscale`` on HRNetV2-W48, Cityscapes-trained) for
``configs/psa-ocrnet-hrnet-w18_celebamask.py`` at the release's width (W48).

    python tools/model_converters/psa.py SRC DST

The rules are ``faceparse_mm/converters/rules/psa.py``: every source key must map to a key of our
model and every model key must be filled, otherwise the conversion stops with the list of
offending keys; a checkpoint of another architecture is refused in one line. The multi-scale
attention head (``scale_attn``) is dropped by name. The converted checkpoint's ``meta`` holds
the ``cfg_options`` (W48 widths) to pass to ``tools/test.py --cfg-options``. Loaded with
``weights_only=True``; written atomically, with the classes and palette it was trained on.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from faceparse_mm.converters.core import main  # noqa: E402

if __name__ == '__main__':
    main('psa', script=osp.basename(__file__))
