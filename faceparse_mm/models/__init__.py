from . import backbones, decode_heads, losses, modules, necks, segmentors  # noqa: F401
