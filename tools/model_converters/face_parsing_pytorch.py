"""Convert face-parsing.PyTorch's BiSeNet checkpoint (``79999_iter.pth``) for
``configs/bisenetv1-fp_celebamask.py``.

    python tools/model_converters/face_parsing_pytorch.py SRC DST

The source is a plain state dict (``cp.resnet.*``, ``cp.arm16.*``, ``ffm.*``, ``conv_out*.*``...).
Every source key must map to a key of our model and every model key must be filled: otherwise
the conversion stops with the list of offending keys. Loaded with ``weights_only=True``.
"""
import argparse
import datetime
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import torch  # noqa: E402

from faceparse_mm.compat import load_checkpoint  # noqa: E402
from faceparse_mm.datasets.class_table import CLASSES, PALETTE  # noqa: E402
from faceparse_mm.errors import UserError  # noqa: E402
from faceparse_mm.utils.build import build_segmentor  # noqa: E402
from faceparse_mm.utils.cli import cli_errors  # noqa: E402
from faceparse_mm.utils.io import atomic_path  # noqa: E402

#: (source prefix, target prefix), first match wins
PREFIXES = (
    ('cp.', 'backbone.context_path.'),
    ('ffm.', 'backbone.ffm.'),
    ('conv_out.conv.', 'decode_head.convs.0.'),
    ('conv_out.conv_out.', 'decode_head.conv_seg.'),
    ('conv_out16.conv.', 'auxiliary_head.0.convs.0.'),
    ('conv_out16.conv_out.', 'auxiliary_head.0.conv_seg.'),
    ('conv_out32.conv.', 'auxiliary_head.1.convs.0.'),
    ('conv_out32.conv_out.', 'auxiliary_head.1.conv_seg.'),
)
#: the config the converted checkpoint is for, and the model config that fixes its keys
CONFIG = 'configs/bisenetv1-fp_celebamask.py'
MODEL_CONFIG = 'configs/_base_/models/bisenetv1-fp.py'
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def map_key(key: str):
    for src, dst in PREFIXES:
        if key.startswith(src):
            return dst + key[len(src):]
    return None


def convert(state_dict: dict, reference: dict | None = None) -> dict:
    """Rename the keys of face-parsing.PyTorch's state dict and check the result against
    ``reference`` (our model's state dict; by default the model of ``MODEL_CONFIG``): every
    source key must have a place, every model key a source, every shape must agree."""
    if reference is None:
        reference = reference_state_dict()
    out, unknown = {}, []
    for key, value in state_dict.items():
        key = key[len('module.'):] if key.startswith('module.') else key
        new = map_key(key)
        if new is None:
            unknown.append(key)
        else:
            out[new] = value
    problems = []
    if unknown:
        problems.append(f'unknown source keys: {sorted(unknown)}')
    missing = sorted(set(reference) - set(out))
    extra = sorted(set(out) - set(reference))
    shapes = sorted(f'{k}: {tuple(out[k].shape)} vs {tuple(reference[k].shape)}'
                    for k in set(out) & set(reference) if out[k].shape != reference[k].shape)
    if missing:
        problems.append(f'model keys with no source: {missing}')
    if extra:
        problems.append(f'source keys with no place in the model: {extra}')
    if shapes:
        problems.append(f'shape mismatches: {shapes}')
    if problems:
        raise UserError('cannot convert: ' + '; '.join(problems))
    return out


def reference_state_dict(config: str = MODEL_CONFIG) -> dict:
    """Our model's state dict (random init, no download) for ``config`` (relative to the repo)."""
    return build_segmentor(osp.join(ROOT, config)).state_dict()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help="face-parsing.PyTorch checkpoint, e.g. 79999_iter.pth")
    parser.add_argument('dst', help='output checkpoint for ' + CONFIG)
    args = parser.parse_args(argv)
    with cli_errors(checkpoint=args.src):
        if not osp.isfile(args.src):
            raise UserError(f'checkpoint file not found: {args.src}')
        state = load_checkpoint(args.src)
        if isinstance(state, dict) and isinstance(state.get('state_dict'), dict):
            state = state['state_dict']
        if not isinstance(state, dict) or not all(
                isinstance(v, torch.Tensor) for v in state.values()):
            raise UserError(f'{args.src} is not a state dict (a dict of tensors)')
        converted = convert(state)
        meta = dict(source=osp.basename(args.src),
                    source_repo='https://github.com/zllrunning/face-parsing.PyTorch',
                    num_tensors=len(converted), converted_by=osp.basename(__file__),
                    config=CONFIG, date=datetime.datetime.now().isoformat(timespec='seconds'),
                    dataset_meta=dict(classes=list(CLASSES), palette=PALETTE))
        with atomic_path(args.dst) as tmp:
            torch.save({'meta': meta, 'state_dict': converted}, tmp)
    print(f'{len(converted)} tensors -> {args.dst} (for {CONFIG})')


if __name__ == '__main__':
    main()
