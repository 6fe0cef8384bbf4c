"""Exceptions raised by halfcast, one class per status code of the C API.

Every error the library reports is a :class:`HalfcastError` carrying the library's own message
(``str(error)``), its numeric ``code`` (absl::StatusCode / google.rpc.Code, as
``halfcast_status_code``) and ``code_name`` ("invalid_argument", ...). Each code has its own
subclass, which also derives from the built-in exception a Python user would expect, so code
written for onnxconverter-common (``except ValueError``) keeps working:

==========================  =====================  ============================
class                       also a                 raised for
==========================  =====================  ============================
InvalidArgumentError        ValueError             bad options, malformed model
FailedPreconditionError     ValueError             model already float16, validation failed
NotFoundError               FileNotFoundError      a missing model file
AlreadyExistsError          FileExistsError        a duplicated tensor name
PermissionDeniedError       PermissionError        an unwritable output
OutOfRangeError             IndexError             an index past the end
UnimplementedError          NotImplementedError    an unsupported feature
DeadlineExceededError       TimeoutError
CancelledError              -                      the progress callback stopped the search
AbortedError                -                      validate_fn or runtime raised
ResourceExhaustedError      -                      max_evaluations reached, out of memory
==========================  =====================  ============================

:class:`LibraryError` (an ImportError) is raised when libhalfcast_c cannot be found or loaded,
or implements another ABI than this package.
"""
from __future__ import annotations

from typing import Dict, Type

__all__ = [
    "HalfcastError", "CancelledError", "UnknownError", "InvalidArgumentError",
    "DeadlineExceededError", "NotFoundError", "AlreadyExistsError", "PermissionDeniedError",
    "ResourceExhaustedError", "FailedPreconditionError", "AbortedError", "OutOfRangeError",
    "UnimplementedError", "InternalError", "UnavailableError", "DataLossError",
    "UnauthenticatedError", "LibraryError", "error_from_status",
]


class HalfcastError(Exception):
    """An error reported by libhalfcast_c: ``str(error)`` is the library's message."""

    code: int = 2
    code_name: str = "unknown"

    def __init__(self, message: str, code: int | None = None) -> None:
        # One positional argument, so that built-in bases (OSError) keep it as their message.
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):  # picklable, for multiprocessing users
        return (type(self), (self.message, self.code))


class CancelledError(HalfcastError):
    """The operation was cancelled (a progress callback asked to stop)."""
    code, code_name = 1, "cancelled"


class UnknownError(HalfcastError):
    """An error the library could not classify."""
    code, code_name = 2, "unknown"


class InvalidArgumentError(HalfcastError, ValueError):
    """A bad argument: an option out of range, a malformed model, a mistyped feed."""
    code, code_name = 3, "invalid_argument"


class DeadlineExceededError(HalfcastError, TimeoutError):
    """A time limit was reached."""
    code, code_name = 4, "deadline_exceeded"


class NotFoundError(HalfcastError, FileNotFoundError):
    """A file or a named value does not exist."""
    code, code_name = 5, "not_found"


class AlreadyExistsError(HalfcastError, FileExistsError):
    """Something that must be unique already exists."""
    code, code_name = 6, "already_exists"


class PermissionDeniedError(HalfcastError, PermissionError):
    """The operating system refused access."""
    code, code_name = 7, "permission_denied"


class ResourceExhaustedError(HalfcastError):
    """A limit was reached: max_evaluations, or memory."""
    code, code_name = 8, "resource_exhausted"


class FailedPreconditionError(HalfcastError, ValueError):
    """The model is not in a state the operation accepts (already float16, fails validation)."""
    code, code_name = 9, "failed_precondition"


class AbortedError(HalfcastError):
    """Stopped by a callback's error (validate_fn or runtime raised: see ``__cause__``)."""
    code, code_name = 10, "aborted"


class OutOfRangeError(HalfcastError, IndexError):
    """An index or value beyond the valid range."""
    code, code_name = 11, "out_of_range"


class UnimplementedError(HalfcastError, NotImplementedError):
    """Something halfcast does not support."""
    code, code_name = 12, "unimplemented"


class InternalError(HalfcastError):
    """A bug in halfcast; please report it with the model."""
    code, code_name = 13, "internal"


class UnavailableError(HalfcastError):
    """A resource is temporarily unavailable."""
    code, code_name = 14, "unavailable"


class DataLossError(HalfcastError):
    """Data was lost or corrupted (a truncated file)."""
    code, code_name = 15, "data_loss"


class UnauthenticatedError(HalfcastError):
    """Missing credentials."""
    code, code_name = 16, "unauthenticated"


class LibraryError(ImportError):
    """libhalfcast_c could not be found or loaded, or implements another ABI version."""


_BY_CODE: Dict[int, Type[HalfcastError]] = {
    cls.code: cls for cls in (
        CancelledError, UnknownError, InvalidArgumentError, DeadlineExceededError, NotFoundError,
        AlreadyExistsError, PermissionDeniedError, ResourceExhaustedError,
        FailedPreconditionError, AbortedError, OutOfRangeError, UnimplementedError,
        InternalError, UnavailableError, DataLossError, UnauthenticatedError)
}


def error_from_status(code: int, message: str) -> HalfcastError:
    """The exception for a status code and message (UnknownError for a code it does not know)."""
    cls = _BY_CODE.get(code, UnknownError)
    return cls(message, code)
