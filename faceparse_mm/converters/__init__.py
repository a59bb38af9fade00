"""Checkpoint converters: the authors' released state dicts into this zoo's models.

One mechanism (:mod:`.core`: renames by rule, a conv bias folded into the next BatchNorm, Conv1d
weights as 1x1 Conv2d, every source tensor used once and every model tensor filled, a checkpoint
of another architecture refused in one line) and one rule table per architecture
(:data:`RULES`, filled by the modules of :mod:`.rules`). ``tools/model_converters/<name>.py`` is
the command line of each.
"""
from .core import RULES, ConversionRules, convert, convert_file, load_source_state

__all__ = ['RULES', 'ConversionRules', 'convert', 'convert_file', 'load_source_state']

from . import rules  # noqa: E402,F401  (registers every rule table in RULES)
