#!/usr/bin/env python3
"""halfcast from Python through ctypes (no compiled extension) and numpy.

Converts a model to float16, then finds a mixed-precision version whose output a validate
callback written in Python accepts.

    HALFCAST_LIBRARY=<prefix>/lib/libhalfcast_c.so python3 example.py MODEL.onnx OUT_DIR

The model is the PaddleOCR text-direction classifier (input x: [1, 3, 48, 192]).
"""
import ctypes
import ctypes.util
import os
import sys

import numpy as np

ABI_VERSION = 1  # HALFCAST_C_ABI_VERSION of the header this binding follows
KEEP_IO_TYPES = 2  # HALFCAST_OPTION_KEEP_IO_TYPES
REPORT_NODES_CONVERTED, REPORT_NODES_KEPT, REPORT_EVALUATIONS = 0, 1, 8
ELEMENT_FLOAT, ELEMENT_FLOAT16 = 1, 10
TENSOR_COPY = 0
NUMPY_TYPES = {ELEMENT_FLOAT: np.float32, ELEMENT_FLOAT16: np.float16}

p = ctypes.c_void_p
lib = ctypes.CDLL(os.environ.get("HALFCAST_LIBRARY") or ctypes.util.find_library("halfcast_c"))
VALIDATE_FN = ctypes.CFUNCTYPE(ctypes.c_int, p, p, p)
for name, restype, argtypes in [
    ("halfcast_version", ctypes.c_char_p, []),
    ("halfcast_abi_version", ctypes.c_int, []),
    ("halfcast_status_code_of", ctypes.c_int, [p]),
    ("halfcast_status_message", ctypes.c_char_p, [p]),
    ("halfcast_status_destroy", None, [p]),
    ("halfcast_model_load_file", p, [ctypes.c_char_p, ctypes.POINTER(p)]),
    ("halfcast_model_save", p, [p, ctypes.c_char_p, p]),
    ("halfcast_model_destroy", None, [p]),
    ("halfcast_convert_options_create", p, [ctypes.POINTER(p)]),
    ("halfcast_convert_options_set_bool", p, [p, ctypes.c_int, ctypes.c_int]),
    ("halfcast_convert_options_destroy", None, [p]),
    ("halfcast_convert_float_to_float16", p, [p, p, ctypes.POINTER(p), ctypes.POINTER(p)]),
    ("halfcast_mixed_precision_options_create", p, [ctypes.POINTER(p)]),
    ("halfcast_mixed_precision_options_set_bool", p, [p, ctypes.c_int, ctypes.c_int]),
    ("halfcast_mixed_precision_options_set_validate_callback", p, [p, VALIDATE_FN, p]),
    ("halfcast_mixed_precision_options_destroy", None, [p]),
    ("halfcast_auto_convert_mixed_precision", p, [p, p, p, ctypes.POINTER(p), ctypes.POINTER(p)]),
    ("halfcast_tensor_create", p, [ctypes.c_int, ctypes.POINTER(ctypes.c_int64), ctypes.c_size_t,
                                   p, ctypes.c_size_t, ctypes.c_int, ctypes.POINTER(p)]),
    ("halfcast_tensor_destroy", None, [p]),
    ("halfcast_tensor_element_type", ctypes.c_int, [p]),
    ("halfcast_tensor_rank", ctypes.c_size_t, [p]),
    ("halfcast_tensor_dims", ctypes.POINTER(ctypes.c_int64), [p]),
    ("halfcast_tensor_data", p, [p]),
    ("halfcast_tensor_byte_size", ctypes.c_size_t, [p]),
    ("halfcast_named_tensors_create", p, [ctypes.POINTER(p)]),
    ("halfcast_named_tensors_add", p, [p, ctypes.c_char_p, p]),
    ("halfcast_named_tensors_count", ctypes.c_size_t, [p]),
    ("halfcast_named_tensors_name", ctypes.c_char_p, [p, ctypes.c_size_t]),
    ("halfcast_named_tensors_tensor", p, [p, ctypes.c_size_t]),
    ("halfcast_named_tensors_destroy", None, [p]),
    ("halfcast_feeds_create", p, [ctypes.POINTER(p)]),
    ("halfcast_feeds_add", p, [p, p]),
    ("halfcast_feeds_destroy", None, [p]),
    ("halfcast_report_get", p, [p, ctypes.c_int, ctypes.POINTER(ctypes.c_int64)]),
    ("halfcast_report_destroy", None, [p]),
]:
    function = getattr(lib, name)
    function.restype, function.argtypes = restype, argtypes


class HalfcastError(Exception):
    def __init__(self, code, message):
        super().__init__(f"{message} (code {code})")
        self.code = code


def check(status):
    """Raises the error a halfcast_status* carries, after freeing it."""
    if status:
        code, message = lib.halfcast_status_code_of(status), lib.halfcast_status_message(status)
        lib.halfcast_status_destroy(status)
        raise HalfcastError(code, message.decode())


class Handle:
    """Owns one halfcast handle; `destroy` is its halfcast_*_destroy function."""

    def __init__(self, create, destroy, *args):
        self.ptr = p()
        check(create(*args, ctypes.byref(self.ptr)))
        self._destroy = destroy

    def close(self):
        if self.ptr:
            self._destroy(self.ptr)
            self.ptr = p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    __del__ = close


def to_numpy(tensor):
    """A copy of a halfcast tensor (float32 or float16) as a numpy array."""
    dims = lib.halfcast_tensor_dims(tensor)
    shape = [dims[i] for i in range(lib.halfcast_tensor_rank(tensor))]
    dtype = NUMPY_TYPES[lib.halfcast_tensor_element_type(tensor)]
    raw = ctypes.string_at(lib.halfcast_tensor_data(tensor), lib.halfcast_tensor_byte_size(tensor))
    return np.frombuffer(raw, dtype=dtype).reshape(shape).astype(np.float32)


def named_arrays(named_tensors):
    return {lib.halfcast_named_tensors_name(named_tensors, i).decode():
            to_numpy(lib.halfcast_named_tensors_tensor(named_tensors, i))
            for i in range(lib.halfcast_named_tensors_count(named_tensors))}


def main(model_path, out_dir):
    if lib.halfcast_abi_version() != ABI_VERSION:
        sys.exit(f"libhalfcast_c ABI {lib.halfcast_abi_version()}, binding {ABI_VERSION}")
    model = Handle(lib.halfcast_model_load_file, lib.halfcast_model_destroy, model_path.encode())

    with Handle(lib.halfcast_convert_options_create, lib.halfcast_convert_options_destroy) as opts:
        check(lib.halfcast_convert_options_set_bool(opts.ptr, KEEP_IO_TYPES, 1))
        fp16, report = p(), p()
        check(lib.halfcast_convert_float_to_float16(model.ptr, opts.ptr, ctypes.byref(fp16),
                                                    ctypes.byref(report)))
    converted = ctypes.c_int64()
    check(lib.halfcast_report_get(report, REPORT_NODES_CONVERTED, ctypes.byref(converted)))
    lib.halfcast_report_destroy(report)
    path = os.path.join(out_dir, "model.fp16.onnx")
    try:
        check(lib.halfcast_model_save(fp16, path.encode(), None))
    finally:
        lib.halfcast_model_destroy(fp16)
    print(f"float16: {converted.value} nodes converted, saved to {path}")

    x = np.sin(0.001 * np.arange(3 * 48 * 192)).astype(np.float32).reshape(1, 3, 48, 192)
    dims = (ctypes.c_int64 * x.ndim)(*x.shape)
    calls = []

    def validate(reference, candidate, _user_data):
        # An exception must not unwind into C: report it as an error (-1) instead.
        try:
            calls.append(1)
            want, got = named_arrays(reference), named_arrays(candidate)
            return int(all(np.allclose(got[name], value, rtol=0, atol=0.01)
                           for name, value in want.items()))
        except Exception as error:  # noqa: BLE001
            print(f"validate failed: {error}", file=sys.stderr)
            return -1

    callback = VALIDATE_FN(validate)  # kept alive for the whole search
    with Handle(lib.halfcast_tensor_create, lib.halfcast_tensor_destroy, ELEMENT_FLOAT, dims,
                x.ndim, x.ctypes.data, x.nbytes, TENSOR_COPY) as tensor, \
         Handle(lib.halfcast_named_tensors_create, lib.halfcast_named_tensors_destroy) as inputs, \
         Handle(lib.halfcast_feeds_create, lib.halfcast_feeds_destroy) as feeds, \
         Handle(lib.halfcast_mixed_precision_options_create,
                lib.halfcast_mixed_precision_options_destroy) as options:
        check(lib.halfcast_named_tensors_add(inputs.ptr, b"x", tensor.ptr))
        check(lib.halfcast_feeds_add(feeds.ptr, inputs.ptr))
        check(lib.halfcast_mixed_precision_options_set_bool(options.ptr, KEEP_IO_TYPES, 1))
        check(lib.halfcast_mixed_precision_options_set_validate_callback(options.ptr, callback,
                                                                         None))
        mixed, report = p(), p()
        check(lib.halfcast_auto_convert_mixed_precision(model.ptr, feeds.ptr, options.ptr,
                                                        ctypes.byref(mixed), ctypes.byref(report)))
    kept, evaluations = ctypes.c_int64(), ctypes.c_int64()
    check(lib.halfcast_report_get(report, REPORT_NODES_KEPT, ctypes.byref(kept)))
    check(lib.halfcast_report_get(report, REPORT_EVALUATIONS, ctypes.byref(evaluations)))
    lib.halfcast_report_destroy(report)
    lib.halfcast_model_destroy(mixed)
    model.close()
    print(f"mixed precision: {kept.value} nodes kept in float32, {evaluations.value} evaluations, "
          f"{len(calls)} validate calls")
    return 0 if calls else 1


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(f"usage: {sys.argv[0]} MODEL.onnx OUT_DIR")
    sys.exit(main(sys.argv[1], sys.argv[2]))
