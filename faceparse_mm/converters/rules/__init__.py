"""One module per released checkpoint layout, each registering its :class:`ConversionRules`."""
from . import face_parsing_pytorch  # noqa: F401
