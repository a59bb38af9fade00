"""One module per released checkpoint layout, each registering its :class:`ConversionRules`."""
from . import (
    ann,  # noqa: F401
    bisenetv2,  # noqa: F401
    cpnet,  # noqa: F401
    dynamic_routing,  # noqa: F401
    face_parsing_pytorch,  # noqa: F401
    hrnet,  # noqa: F401
    ocrnet,  # noqa: F401
    psa,  # noqa: F401
    pspnet,  # noqa: F401
    regseg,  # noqa: F401
    setr,  # noqa: F401
    sfnet,  # noqa: F401
    spnet,  # noqa: F401
    srnet,  # noqa: F401
    tdnet,  # noqa: F401
)
