from . import backbones, decode_heads, losses, modules, segmentors  # noqa: F401
