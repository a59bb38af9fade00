"""faceparse_mm: a face-parsing model zoo on mmsegmentation 1.x.

Importing the package first applies :mod:`faceparse_mm.compat` (so that mmseg imports on
mmcv-lite and mmengine checkpoints load with ``weights_only=True``), then registers the
project's datasets, transforms, metrics and models in the ``faceparse_mm`` scope.
"""
from . import compat

compat.apply()

from . import (  # noqa: E402,F401
    datasets,
    engine,
    evaluation,
    models,
    registry,  # noqa: E402,F401
    visualization,
)
from .version import __version__  # noqa: E402

__all__ = ['__version__', 'compat', 'registry']
