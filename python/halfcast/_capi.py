"""The C ABI of libhalfcast_c (capi/include/halfcast/halfcast_c.h) declared through ctypes.

Private: the public modules (halfcast.float16, halfcast.auto_mixed_precision) build on it. This
module finds and loads the library, checks its ABI version, declares every function it uses,
turns statuses into exceptions, and moves tensors between numpy and the library.

Library lookup, first match wins (see :func:`library`):

1. the environment variable ``HALFCAST_LIBRARY`` (a path to libhalfcast_c.so);
2. a copy bundled in the package (``halfcast/_lib/libhalfcast_c.so``, put there when the wheel is
   built with ``--config-settings bundle-library=PATH`` or ``HALFCAST_BUNDLE_LIBRARY=PATH``);
3. ``ctypes.util.find_library("halfcast_c")`` (an installed library: ldconfig's cache,
   LD_LIBRARY_PATH through the dynamic loader).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import threading
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .errors import HalfcastError, LibraryError, error_from_status

#: HALFCAST_C_ABI_VERSION of the header this binding follows.
ABI_VERSION = 1

# halfcast_option keys (pinned values of the header).
OPTION_MIN_POSITIVE_VAL = 0
OPTION_MAX_FINITE_VAL = 1
OPTION_KEEP_IO_TYPES = 2
OPTION_KEEP_IO_NAMES = 3
OPTION_DISABLE_SHAPE_INFER = 4
OPTION_OP_BLOCK_LIST = 5
OPTION_NODE_BLOCK_LIST = 6
OPTION_NODE_INDEX_BLOCK_LIST = 7
OPTION_CHECK_FP16_READY = 8
OPTION_TARGET = 9
OPTION_RTOL = 10
OPTION_ATOL = 11
OPTION_STRATEGY = 12
OPTION_MAX_EVALUATIONS = 13
OPTION_FP16_OPS = 14
OPTION_TIME_LIMIT = 15
OPTION_SAFETY_MARGIN = 16
OPTION_MAX_RETAINED_BYTES = 17
OPTION_CHECK_ORT_CPU = 22

TARGETS = {"float16": 0, "bfloat16": 1}
STRATEGIES = {"error-guided": 0, "error_guided": 0, "bisect": 1}

# halfcast_report_value keys, as attribute names of halfcast.Report.
REPORT_VALUES = (
    "nodes_converted", "nodes_kept", "casts_inserted", "casts_removed",
    "initializers_converted", "values_clipped", "bytes_before", "bytes_after", "evaluations",
    "float32_inputs", "matmul_flops_total", "matmul_flops_16bit",
)

# halfcast_element_type <-> numpy. bfloat16 has no numpy type: its bit patterns travel as uint16.
ELEMENT_BFLOAT16 = 16
ELEMENT_FLOAT16 = 10
ELEMENT_FLOAT = 1
_NUMPY_OF_ELEMENT = {
    1: np.dtype(np.float32), 2: np.dtype(np.uint8), 3: np.dtype(np.int8),
    4: np.dtype(np.uint16), 5: np.dtype(np.int16), 6: np.dtype(np.int32),
    7: np.dtype(np.int64), 9: np.dtype(np.bool_), 10: np.dtype(np.float16),
    11: np.dtype(np.float64), 12: np.dtype(np.uint32), 13: np.dtype(np.uint64),
    16: np.dtype(np.uint16),
}
_ELEMENT_OF_NUMPY = {dtype: element for element, dtype in _NUMPY_OF_ELEMENT.items()
                     if element != ELEMENT_BFLOAT16}

_LOG_LEVELS = {0: logging.DEBUG, 1: logging.INFO, 2: logging.WARNING, 3: logging.ERROR}

_p = ctypes.c_void_p
_pp = ctypes.POINTER(ctypes.c_void_p)
_str = ctypes.c_char_p
_size = ctypes.c_size_t
_int = ctypes.c_int
_i64 = ctypes.c_int64

LOG_FN = ctypes.CFUNCTYPE(None, _int, _str, _p)
VALIDATE_FN = ctypes.CFUNCTYPE(_int, _p, _p, _p)
EVALUATOR_FN = ctypes.CFUNCTYPE(_p, _p, _size, _p, _p, _p)
PROGRESS_FN = ctypes.CFUNCTYPE(_int, _p, _p)

# (name, restype, argtypes) of every function this binding calls.
_FUNCTIONS: Sequence[Tuple[str, Any, List[Any]]] = (
    ("halfcast_version", _str, []),
    ("halfcast_abi_version", _int, []),
    ("halfcast_status_create", _p, [_int, _str]),
    ("halfcast_status_code_of", _int, [_p]),
    ("halfcast_status_message", _str, [_p]),
    ("halfcast_status_destroy", None, [_p]),
    ("halfcast_buffer_data", _p, [_p]),
    ("halfcast_buffer_size", _size, [_p]),
    ("halfcast_buffer_destroy", None, [_p]),
    ("halfcast_model_load_file", _p, [_str, _pp]),
    ("halfcast_model_load_bytes", _p, [_p, _size, _pp]),
    ("halfcast_save_options_create", _p, [_pp]),
    ("halfcast_save_options_destroy", None, [_p]),
    ("halfcast_save_options_set_external_data", _p, [_p, _int, _i64, _str]),
    ("halfcast_model_save", _p, [_p, _str, _p]),
    ("halfcast_model_serialize", _p, [_p, _pp]),
    ("halfcast_model_destroy", None, [_p]),
    ("halfcast_tensor_create", _p, [_int, ctypes.POINTER(_i64), _size, _p, _size, _int, _pp]),
    ("halfcast_tensor_destroy", None, [_p]),
    ("halfcast_tensor_element_type", _int, [_p]),
    ("halfcast_tensor_rank", _size, [_p]),
    ("halfcast_tensor_dims", ctypes.POINTER(_i64), [_p]),
    ("halfcast_tensor_data", _p, [_p]),
    ("halfcast_tensor_byte_size", _size, [_p]),
    ("halfcast_named_tensors_create", _p, [_pp]),
    ("halfcast_named_tensors_destroy", None, [_p]),
    ("halfcast_named_tensors_add", _p, [_p, _str, _p]),
    ("halfcast_named_tensors_count", _size, [_p]),
    ("halfcast_named_tensors_name", _str, [_p, _size]),
    ("halfcast_named_tensors_tensor", _p, [_p, _size]),
    ("halfcast_feeds_create", _p, [_pp]),
    ("halfcast_feeds_destroy", None, [_p]),
    ("halfcast_feeds_add", _p, [_p, _p]),
    ("halfcast_convert_options_create", _p, [_pp]),
    ("halfcast_convert_options_destroy", None, [_p]),
    ("halfcast_convert_options_set_bool", _p, [_p, _int, _int]),
    ("halfcast_convert_options_set_int", _p, [_p, _int, _i64]),
    ("halfcast_convert_options_set_double", _p, [_p, _int, ctypes.c_double]),
    ("halfcast_convert_options_set_strings", _p, [_p, _int, ctypes.POINTER(_str), _size]),
    ("halfcast_convert_options_set_ints", _p, [_p, _int, ctypes.POINTER(_i64), _size]),
    ("halfcast_convert_options_set_log_callback", _p, [_p, LOG_FN, _p]),
    ("halfcast_mixed_precision_options_create", _p, [_pp]),
    ("halfcast_mixed_precision_options_destroy", None, [_p]),
    ("halfcast_mixed_precision_options_set_bool", _p, [_p, _int, _int]),
    ("halfcast_mixed_precision_options_set_int", _p, [_p, _int, _i64]),
    ("halfcast_mixed_precision_options_set_double", _p, [_p, _int, ctypes.c_double]),
    ("halfcast_mixed_precision_options_set_strings", _p,
     [_p, _int, ctypes.POINTER(_str), _size]),
    ("halfcast_mixed_precision_options_set_log_callback", _p, [_p, LOG_FN, _p]),
    ("halfcast_mixed_precision_options_set_validate_callback", _p, [_p, VALIDATE_FN, _p]),
    ("halfcast_mixed_precision_options_set_evaluator_callback", _p, [_p, EVALUATOR_FN, _p]),
    ("halfcast_mixed_precision_options_set_progress_callback", _p, [_p, PROGRESS_FN, _p]),
    ("halfcast_progress_evaluations", _i64, [_p]),
    ("halfcast_progress_elapsed_seconds", ctypes.c_double, [_p]),
    ("halfcast_progress_segment_count", _size, [_p]),
    ("halfcast_progress_segment", _int,
     [_p, _size, ctypes.POINTER(_size), ctypes.POINTER(_size), ctypes.POINTER(_int)]),
    ("halfcast_progress_text", _str, [_p]),
    ("halfcast_report_get", _p, [_p, _int, ctypes.POINTER(_i64)]),
    ("halfcast_report_kept_node", _p, [_p, _size] + [ctypes.POINTER(_str)] * 5),
    ("halfcast_report_to_json", _p, [_p, _pp]),
    ("halfcast_report_destroy", None, [_p]),
    ("halfcast_convert_float_to_float16", _p, [_p, _p, _pp, _pp]),
    ("halfcast_convert_file", _p, [_str, _str, _p, _p, _pp]),
    ("halfcast_auto_convert_mixed_precision", _p, [_p, _p, _p, _pp, _pp]),
    ("halfcast_auto_convert_mixed_precision_file", _p, [_str, _str, _p, _p, _p, _pp]),
)

_lock = threading.Lock()
_lib: Optional[ctypes.CDLL] = None
_lib_path: Optional[str] = None


def _candidates() -> List[Tuple[str, Optional[str]]]:
    """The places to look for the library, in order: (description, path or None)."""
    found: List[Tuple[str, Optional[str]]] = []
    env = os.environ.get("HALFCAST_LIBRARY")
    if env:
        found.append((f"HALFCAST_LIBRARY={env}", env))
    else:
        found.append(("HALFCAST_LIBRARY (not set)", None))
    bundled_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_lib")
    bundled = os.path.join(bundled_dir, "libhalfcast_c.so")
    found.append((f"bundled copy {bundled}", bundled if os.path.exists(bundled) else None))
    system = ctypes.util.find_library("halfcast_c")
    found.append((f"ctypes.util.find_library('halfcast_c') -> {system}", system))
    return found


def _load() -> Tuple[ctypes.CDLL, str]:
    tried: List[str] = []
    for description, path in _candidates():
        if path is None:
            tried.append(f"  {description}: not found")
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError as error:
            tried.append(f"  {description}: {error}")
            if description.startswith("HALFCAST_LIBRARY="):
                break  # an explicit choice that fails is an error, not a reason to look on
            continue
        return lib, path
    raise LibraryError(
        "halfcast: libhalfcast_c not found; tried, in order:\n" + "\n".join(tried) +
        "\nSet HALFCAST_LIBRARY to the library's path, install halfcast (cmake --install), or "
        "reinstall this package with the library bundled: "
        "python3 -m pip install ./python "
        "--config-settings bundle-library=build/capi/libhalfcast_c.so")


def library() -> ctypes.CDLL:
    """The loaded libhalfcast_c, loading it (and checking its ABI version) on first use.

    Raises:
        LibraryError: no library found (the message lists every place tried), or the library
            implements another ABI than this package (HALFCAST_C_ABI_VERSION).
    """
    global _lib, _lib_path
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is not None:
            return _lib
        lib, path = _load()
        try:
            lib.halfcast_abi_version.restype = ctypes.c_int
            lib.halfcast_abi_version.argtypes = []
            abi = lib.halfcast_abi_version()
        except AttributeError as error:
            raise LibraryError(f"halfcast: {path} is not libhalfcast_c ({error})") from error
        if abi != ABI_VERSION:
            raise LibraryError(
                f"halfcast: {path} implements C ABI version {abi}, this package needs "
                f"{ABI_VERSION} (HALFCAST_C_ABI_VERSION); install matching versions")
        for name, restype, argtypes in _FUNCTIONS:
            try:
                function = getattr(lib, name)
            except AttributeError as error:
                raise LibraryError(f"halfcast: {path} lacks {name}: too old a library") from error
            function.restype = restype
            function.argtypes = argtypes
        _lib, _lib_path = lib, path
        return lib


def library_path() -> str:
    """The path the library was loaded from (loading it if needed)."""
    library()
    assert _lib_path is not None
    return _lib_path


# ----- statuses -----

def take_status(status: Optional[int]) -> Optional[HalfcastError]:
    """The exception a non-NULL halfcast_status* carries (freeing the status); None for NULL."""
    if not status:
        return None
    lib = library()
    code = lib.halfcast_status_code_of(status)
    message = lib.halfcast_status_message(status)
    lib.halfcast_status_destroy(status)
    return error_from_status(code, (message or b"").decode("utf-8", "replace"))


def check(status: Optional[int]) -> None:
    """Raises the error a halfcast_status* carries, after freeing it."""
    error = take_status(status)
    if error is not None:
        raise error


class Handle:
    """Owns one library handle and destroys it once (close, with-block, or garbage collection)."""

    __slots__ = ("ptr", "_destroy")

    def __init__(self, destroy: Callable[[Any], None], ptr: Optional[ctypes.c_void_p] = None):
        self.ptr = ptr if ptr is not None else ctypes.c_void_p()
        self._destroy = destroy

    @classmethod
    def create(cls, create: Callable[..., Any], destroy: Callable[[Any], None],
               *args: Any) -> "Handle":
        handle = cls(destroy)
        check(create(*args, ctypes.byref(handle.ptr)))
        return handle

    def release(self) -> ctypes.c_void_p:
        """Gives up ownership (the handle now belongs to whoever takes the pointer)."""
        ptr, self.ptr = self.ptr, ctypes.c_void_p()
        return ptr

    def close(self) -> None:
        if self.ptr:
            self._destroy(self.ptr)
            self.ptr = ctypes.c_void_p()

    def __enter__(self) -> "Handle":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


def buffer_bytes(buffer: ctypes.c_void_p) -> bytes:
    """A copy of a halfcast_buffer's bytes; destroys the buffer."""
    lib = library()
    try:
        size = lib.halfcast_buffer_size(buffer)
        return ctypes.string_at(lib.halfcast_buffer_data(buffer), size) if size else b""
    finally:
        lib.halfcast_buffer_destroy(buffer)


# ----- models -----

def model_from_bytes(data: bytes) -> Handle:
    lib = library()
    handle = Handle(lib.halfcast_model_destroy)
    check(lib.halfcast_model_load_bytes(data, len(data), ctypes.byref(handle.ptr)))
    return handle


def model_from_file(path: str) -> Handle:
    lib = library()
    return Handle.create(lib.halfcast_model_load_file, lib.halfcast_model_destroy, fspath(path))


def serialize(model: Handle) -> bytes:
    lib = library()
    buffer = ctypes.c_void_p()
    check(lib.halfcast_model_serialize(model.ptr, ctypes.byref(buffer)))
    return buffer_bytes(buffer)


def save_options(external_data: bool, threshold: int, location: Optional[str]) -> Handle:
    lib = library()
    handle = Handle.create(lib.halfcast_save_options_create, lib.halfcast_save_options_destroy)
    if external_data:
        check(lib.halfcast_save_options_set_external_data(
            handle.ptr, 1, int(threshold), location.encode() if location else None))
    return handle


def fspath(path: Any) -> bytes:
    """A path (str, bytes or os.PathLike) as the bytes the C API wants."""
    return os.fsencode(os.fspath(path))


# ----- options -----

def _strings(values: Iterable[str]) -> Tuple[Any, int]:
    encoded = [str(v).encode("utf-8") for v in values]
    array = (ctypes.c_char_p * len(encoded))(*encoded)
    return array, len(encoded)


class Options:
    """A convert or mixed-precision options handle with typed setters."""

    def __init__(self, kind: str) -> None:
        lib = library()
        self._kind = kind
        prefix = f"halfcast_{kind}_options_"
        self._set_bool = getattr(lib, prefix + "set_bool")
        self._set_int = getattr(lib, prefix + "set_int")
        self._set_double = getattr(lib, prefix + "set_double")
        self._set_strings = getattr(lib, prefix + "set_strings")
        self._set_log = getattr(lib, prefix + "set_log_callback")
        self.handle = Handle.create(getattr(lib, prefix + "create"),
                                    getattr(lib, prefix + "destroy"))
        self._keep_alive: List[Any] = []  # callbacks must outlive every call using them

    @property
    def ptr(self) -> ctypes.c_void_p:
        return self.handle.ptr

    def set_bool(self, option: int, value: bool) -> None:
        check(self._set_bool(self.ptr, option, 1 if value else 0))

    def set_int(self, option: int, value: int) -> None:
        check(self._set_int(self.ptr, option, int(value)))

    def set_double(self, option: int, value: float) -> None:
        check(self._set_double(self.ptr, option, float(value)))

    def set_strings(self, option: int, values: Iterable[str]) -> None:
        array, count = _strings(values)
        check(self._set_strings(self.ptr, option, array, count))

    def set_ints(self, option: int, values: Iterable[int]) -> None:
        ints = [int(v) for v in values]
        array = (ctypes.c_int64 * len(ints))(*ints)
        check(library().halfcast_convert_options_set_ints(self.ptr, option, array, len(ints)))

    def set_logger(self, logger: logging.Logger) -> None:
        """Sends the library's messages to `logger` (DEBUG/INFO/WARNING/ERROR)."""
        def log(level: int, message: bytes, _user_data: Any) -> None:
            try:
                python_level = _LOG_LEVELS.get(level, logging.WARNING)
                if logger.isEnabledFor(python_level):
                    logger.log(python_level, "%s", message.decode("utf-8", "replace"))
            except Exception:  # noqa: BLE001 - nothing may unwind into C
                pass
        callback = LOG_FN(log)
        self._keep_alive.append(callback)
        check(self._set_log(self.ptr, callback, None))

    def keep(self, obj: Any) -> Any:
        self._keep_alive.append(obj)
        return obj

    def close(self) -> None:
        self.handle.close()

    def __enter__(self) -> "Options":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def target_value(target: str) -> int:
    try:
        return TARGETS[str(target).lower()]
    except KeyError:
        raise ValueError(f"target must be 'float16' or 'bfloat16', not {target!r}") from None


# ----- tensors -----

def element_type_of(array: np.ndarray) -> int:
    try:
        return _ELEMENT_OF_NUMPY[array.dtype]
    except KeyError:
        raise TypeError(f"halfcast: numpy dtype {array.dtype} has no halfcast element type "
                        "(supported: float32/16/64, int8-64, uint8-64, bool)") from None


def tensor_from_numpy(array: Any, element_type: Optional[int] = None,
                      borrow: bool = True) -> Tuple[Handle, np.ndarray]:
    """A halfcast tensor over `array` (C-contiguous copy if needed).

    Returns the handle and the array whose memory it views: keep that array alive while the
    tensor, or any set it was added to, is alive (borrow=True).
    """
    lib = library()
    data = np.asarray(array, order="C")  # (ascontiguousarray would make a 0-d array 1-d)
    if data.dtype.byteorder == ">":
        data = data.astype(data.dtype.newbyteorder("="))
    element = element_type if element_type is not None else element_type_of(data)
    dims = (ctypes.c_int64 * data.ndim)(*data.shape)
    handle = Handle(lib.halfcast_tensor_destroy)
    check(lib.halfcast_tensor_create(element, dims, data.ndim,
                                     data.ctypes.data if data.nbytes else None, data.nbytes,
                                     1 if borrow else 0, ctypes.byref(handle.ptr)))
    return handle, data


def tensor_to_numpy(tensor: Any, bfloat16_as_float32: bool = False) -> np.ndarray:
    """A copy of a (borrowed) halfcast tensor as a numpy array.

    float16 becomes numpy.float16; bfloat16 becomes float32 values if `bfloat16_as_float32`,
    else its uint16 bit patterns.
    """
    lib = library()
    element = lib.halfcast_tensor_element_type(tensor)
    if element not in _NUMPY_OF_ELEMENT:
        raise TypeError(f"halfcast: tensor of element type {element} has no numpy type")
    rank = lib.halfcast_tensor_rank(tensor)
    dims_ptr = lib.halfcast_tensor_dims(tensor)
    shape = tuple(dims_ptr[i] for i in range(rank))
    size = lib.halfcast_tensor_byte_size(tensor)
    dtype = _NUMPY_OF_ELEMENT[element]
    if size:
        raw = (ctypes.c_char * size).from_address(lib.halfcast_tensor_data(tensor))
        array = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    else:
        array = np.zeros(shape, dtype=dtype)
    if element == ELEMENT_BFLOAT16 and bfloat16_as_float32:
        array = (array.astype(np.uint32) << 16).view(np.float32)
    return array


class NamedTensors:
    """A halfcast_named_tensors set built from numpy arrays (the arrays kept alive with it)."""

    def __init__(self, arrays: Mapping[str, Any]) -> None:
        lib = library()
        self.handle = Handle.create(lib.halfcast_named_tensors_create,
                                    lib.halfcast_named_tensors_destroy)
        self._arrays: List[np.ndarray] = []
        for name, value in arrays.items():
            element = None
            if isinstance(value, tuple) and len(value) == 2:  # (uint16 bits, BFLOAT16)
                value, element = value
            tensor, data = tensor_from_numpy(value, element)
            self._arrays.append(data)
            with tensor:
                check(lib.halfcast_named_tensors_add(self.handle.ptr, str(name).encode(),
                                                     tensor.ptr))


def add_outputs(outputs: Any, arrays: Mapping[str, Any]) -> None:
    """Adds numpy arrays to a library-owned set (the set copies borrowed data as they are added)."""
    lib = library()
    for name, value in arrays.items():
        element = None
        if isinstance(value, tuple) and len(value) == 2:
            value, element = value
        tensor, _data = tensor_from_numpy(value, element)
        with tensor:
            check(lib.halfcast_named_tensors_add(outputs, str(name).encode(), tensor.ptr))


def named_arrays(named_tensors: Any, bfloat16_as_float32: bool = False) -> Dict[str, np.ndarray]:
    """The arrays of a (borrowed) halfcast_named_tensors set, by name."""
    lib = library()
    result: Dict[str, np.ndarray] = {}
    for i in range(lib.halfcast_named_tensors_count(named_tensors)):
        name = lib.halfcast_named_tensors_name(named_tensors, i).decode("utf-8")
        result[name] = tensor_to_numpy(lib.halfcast_named_tensors_tensor(named_tensors, i),
                                       bfloat16_as_float32)
    return result


def named_elements(named_tensors: Any) -> Dict[str, int]:
    """The element type of each tensor of a (borrowed) set, by name."""
    lib = library()
    return {lib.halfcast_named_tensors_name(named_tensors, i).decode("utf-8"):
            lib.halfcast_tensor_element_type(lib.halfcast_named_tensors_tensor(named_tensors, i))
            for i in range(lib.halfcast_named_tensors_count(named_tensors))}


def status_for(error: BaseException, code: int = 2) -> int:
    """A new halfcast_status* (for a callback to return) describing a Python exception."""
    message = f"{type(error).__name__}: {error}".encode("utf-8", "replace")
    return library().halfcast_status_create(code, message)


# ----- reports -----

def read_report(report: ctypes.c_void_p) -> Dict[str, Any]:
    """Counters, kept nodes and JSON of a halfcast_report (not destroyed here)."""
    lib = library()
    values: Dict[str, Any] = {}
    for index, name in enumerate(REPORT_VALUES):
        value = ctypes.c_int64()
        error = take_status(lib.halfcast_report_get(report, index, ctypes.byref(value)))
        values[name] = None if error is not None else value.value
    kept = []
    for index in range(values.get("nodes_kept") or 0):
        fields = [ctypes.c_char_p() for _ in range(5)]
        check(lib.halfcast_report_kept_node(report, index, *[ctypes.byref(f) for f in fields]))
        kept.append(tuple((f.value or b"").decode("utf-8", "replace") for f in fields))
    buffer = ctypes.c_void_p()
    check(lib.halfcast_report_to_json(report, ctypes.byref(buffer)))
    return {"values": values, "kept": kept, "json": buffer_bytes(buffer).decode("utf-8")}
