"""The project's error types, one base class; a leaf module (standard library only).

The command-line tools print any :class:`FaceParseError` as one line with exit status 2
(``faceparse_mm.utils.cli.cli_errors``); everything else keeps its traceback.
"""
import pickle


class FaceParseError(Exception):
    """Base class of the errors a user can fix (a file, a config key, a checkpoint)."""


class UserError(FaceParseError):
    """An error caused by the command line or a config: printed as one line, exit status 2."""


class FaceDataError(FaceParseError, ValueError):
    """A bad image or label file; the message names the file."""


class ConversionError(FaceParseError):
    """Bad input to the dataset converter (missing folder, unreadable mask); names the file."""


class UnsafeCheckpointError(FaceParseError, pickle.UnpicklingError):
    """A checkpoint whose pickle refers to something outside the ``weights_only`` allow-list."""
