"""halfcast: convert ONNX models from float32 to float16 / bfloat16, whole or mixed precision.

A pure-Python package over libhalfcast_c (ctypes, no compiled extension), and a drop-in for
onnxconverter-common's modules::

    import halfcast.float16 as float16                      # was: from onnxconverter_common
    import halfcast.auto_mixed_precision as auto_mixed_precision

    model_fp16 = float16.convert_float_to_float16(model, keep_io_types=True)

The library is found through HALFCAST_LIBRARY, then a copy bundled in this package, then
ctypes.util.find_library("halfcast_c") (see :func:`library_path`). Messages of the library go
to the ``logging`` logger "halfcast".
"""
from __future__ import annotations

from ._capi import ABI_VERSION, library_path
from .errors import (AbortedError, AlreadyExistsError, CancelledError, DataLossError,
                     DeadlineExceededError, FailedPreconditionError, HalfcastError, InternalError,
                     InvalidArgumentError, LibraryError, NotFoundError, OutOfRangeError,
                     PermissionDeniedError, ResourceExhaustedError, UnauthenticatedError,
                     UnavailableError, UnimplementedError, UnknownError)
from .report import KeptNode, Report

__version__ = "0.1.0"

__all__ = [
    "ABI_VERSION", "library_path", "library_version", "Report", "KeptNode", "HalfcastError",
    "LibraryError", "CancelledError", "UnknownError", "InvalidArgumentError",
    "DeadlineExceededError", "NotFoundError", "AlreadyExistsError", "PermissionDeniedError",
    "ResourceExhaustedError", "FailedPreconditionError", "AbortedError", "OutOfRangeError",
    "UnimplementedError", "InternalError", "UnavailableError", "DataLossError",
    "UnauthenticatedError", "float16", "auto_mixed_precision",
]


def library_version() -> str:
    """The loaded libhalfcast_c's version, "MAJOR.MINOR.PATCH" (loads the library if needed)."""
    from . import _capi
    return _capi.library().halfcast_version().decode()


def __getattr__(name: str):
    # `halfcast.float16` after a bare `import halfcast`, without importing onnx up front.
    if name in ("float16", "auto_mixed_precision"):
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
