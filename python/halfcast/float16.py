"""float32 -> float16 / bfloat16 conversion: a drop-in for ``onnxconverter_common.float16``.

Replace ``from onnxconverter_common import float16`` by ``import halfcast.float16 as float16``;
the functions keep their names, parameters, defaults and return types. The conversion itself is
libhalfcast_c's (SPEC section 1): the converted model passes onnx's checker, loads in ONNX Runtime
(including models with If/Loop/Scan and Cast nodes), and is byte for byte what the C++ library and
the ``halfcast convert`` command produce for the same options.

Beyond the Python tool, every function takes keyword-only extras: ``target="bfloat16"``,
``keep_io_types`` as a list of input/output names, ``fp16_ops`` (custom ops declared 16-bit
capable) and ``return_report=True`` (the result comes with a :class:`halfcast.Report`).
:func:`convert_float_to_float16_file` converts file to file, streaming external data, for models
over 2 GB: the model never exists as one protobuf in Python.

Differences from the Python tool, on purpose:

- the input model is never modified (the Python tool edits it in place when shape inference is
  off); :func:`convert_tensor_float_to_float16` does modify its tensor, as the Python tool does;
- clipping is reported through ``logging`` (logger ``"halfcast"``, one warning per conversion with
  counts) instead of one ``warnings.warn`` per tensor;
- errors are :class:`halfcast.HalfcastError` subclasses carrying the library's message; those for
  bad arguments and models already in float16 are also ``ValueError``, as before.
"""
from __future__ import annotations

import ctypes
import logging
import os
import tempfile
from typing import Iterable, Iterator, List, Literal, Optional, Sequence, Tuple, Union, overload

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.external_data_helper import load_external_data_for_tensor

from . import _capi
from .errors import InvalidArgumentError
from .report import Report

__all__ = [
    "DEFAULT_OP_BLOCK_LIST", "convert_float_to_float16", "convert_float_to_float16_model_path",
    "convert_float_to_float16_file", "convert_tensor_float_to_float16", "convert_np_to_float16",
]

logger = logging.getLogger("halfcast")

#: Op types kept in float32 by default (ONNX Runtime cannot run them in float16); the same list
#: as onnxconverter-common's, and the library's default for ``op_block_list=None``.
DEFAULT_OP_BLOCK_LIST: List[str] = [
    "ArrayFeatureExtractor", "Binarizer", "CastMap", "CategoryMapper", "DictVectorizer",
    "FeatureVectorizer", "Imputer", "LabelEncoder", "LinearClassifier", "LinearRegressor",
    "Normalizer", "OneHotEncoder", "RandomUniformLike", "SVMClassifier", "SVMRegressor", "Scaler",
    "TreeEnsembleClassifier", "TreeEnsembleRegressor", "ZipMap", "NonMaxSuppression", "TopK",
    "RoiAlign", "Resize", "Range", "CumSum", "Min", "Max", "Upsample",
]

KeepIoTypes = Union[bool, Sequence[str]]
PathLike = Union[str, "os.PathLike[str]"]

# Above this many tensor bytes a converted model cannot come back as one serialized protobuf
# (2 GiB, less room for the graph itself); it is then rebuilt from external data instead.
_SERIALIZE_LIMIT = (2 << 30) - (64 << 20)


def _convert_options(min_positive_val: float, max_finite_val: float,
                     keep_io_types: KeepIoTypes, disable_shape_infer: bool,
                     op_block_list: Optional[Iterable[str]],
                     node_block_list: Optional[Iterable[str]], check_fp16_ready: bool,
                     target: str, fp16_ops: Optional[Iterable[str]]) -> _capi.Options:
    options = _capi.Options("convert")
    options.set_double(_capi.OPTION_MIN_POSITIVE_VAL, min_positive_val)
    options.set_double(_capi.OPTION_MAX_FINITE_VAL, max_finite_val)
    if isinstance(keep_io_types, (bool, np.bool_, int)) or keep_io_types is None:
        options.set_bool(_capi.OPTION_KEEP_IO_TYPES, bool(keep_io_types))
    else:
        names = [keep_io_types] if isinstance(keep_io_types, str) else list(keep_io_types)
        if names:
            options.set_strings(_capi.OPTION_KEEP_IO_NAMES, names)
    options.set_bool(_capi.OPTION_DISABLE_SHAPE_INFER, disable_shape_infer)
    if op_block_list is not None:
        options.set_strings(_capi.OPTION_OP_BLOCK_LIST, op_block_list)
    if node_block_list is not None:
        options.set_strings(_capi.OPTION_NODE_BLOCK_LIST, node_block_list)
    options.set_bool(_capi.OPTION_CHECK_FP16_READY, check_fp16_ready)
    options.set_int(_capi.OPTION_TARGET, _capi.target_value(target))
    if fp16_ops is not None:
        options.set_strings(_capi.OPTION_FP16_OPS, fp16_ops)
    options.set_logger(logger)
    return options


def _take_report(report: ctypes.c_void_p) -> Report:
    try:
        return Report._from_capi(_capi.read_report(report))
    finally:
        _capi.library().halfcast_report_destroy(report)


def _model_bytes(model: onnx.ModelProto) -> bytes:
    if not isinstance(model, onnx.ModelProto):
        raise ValueError(f"Expected model type is an ONNX ModelProto but got {type(model)}")
    try:
        return model.SerializeToString()
    except ValueError as error:  # protobuf refuses messages over 2 GB
        raise ValueError(
            f"halfcast: the model is too large to pass in memory ({error}); save it with "
            "external data and use convert_float_to_float16_file(input_path, output_path) "
            "or convert_float_to_float16_model_path") from error


def _tensors(graph: onnx.GraphProto) -> Iterator[TensorProto]:
    """Every tensor of a graph: initializers, sparse ones, node attributes, subgraphs."""
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
        yield sparse.indices
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors
            if attribute.HasField("g"):
                yield from _tensors(attribute.g)
            for subgraph in attribute.graphs:
                yield from _tensors(subgraph)


def _to_model_proto(handle: _capi.Handle, bytes_after: int) -> onnx.ModelProto:
    """The converted model as a ModelProto; over 2 GB it is rebuilt from external data."""
    if bytes_after < _SERIALIZE_LIMIT:
        return onnx.load_model_from_string(_capi.serialize(handle))
    # Too large for one protobuf: the library writes it with external data, and the tensors are
    # read back one by one, so no message over 2 GB is ever parsed.
    lib = _capi.library()
    with tempfile.TemporaryDirectory(prefix="halfcast_") as folder:
        path = os.path.join(folder, "model.onnx")
        with _capi.save_options(True, 1024, None) as save:
            _capi.check(lib.halfcast_model_save(handle.ptr, _capi.fspath(path), save.ptr))
        model = onnx.load(path, load_external_data=False)
        for tensor in _tensors(model.graph):
            if tensor.data_location == TensorProto.EXTERNAL:
                load_external_data_for_tensor(tensor, folder)
                del tensor.external_data[:]
                tensor.ClearField("data_location")  # as a tensor that was never external
    return model


# Models of this many serialized bytes go through halfcast_convert_file over in-memory files
# (below): the graphs of many small nodes, where parsing dominates. Above _MEMORY_FILE_MAX the
# bytes are the weights, and copying them through tmpfs costs more than it saves (measured on
# the 1.5 GB transformer: 7.7 s against 2.2 s; docs/performance.md).
_MEMORY_FILE_MIN = 1 << 20
_MEMORY_FILE_MAX = 64 << 20


def _convert_through_memory_files(data: bytes, options: _capi.Options
                                  ) -> Optional[Tuple[onnx.ModelProto, Report]]:
    """Converts serialized model bytes with halfcast_convert_file, over files held in memory.

    halfcast_convert_file parses onto an arena, builds onnx's schema registry while it reads and
    converts in place; for a graph of many small nodes that is about a third faster than loading
    the bytes into a model handle, converting a copy and serializing it. The input is a memfd, the
    output a file in /dev/shm (tmpfs), so nothing touches a disk. Returns None where that is not
    possible or not worth it (not Linux, /dev/shm missing or too small, a model under 1 MiB or
    over 64 MiB) or on any error; the caller then takes the model-handle path, which reports the
    error with its proper message.
    """
    if not _MEMORY_FILE_MIN <= len(data) <= _MEMORY_FILE_MAX or not hasattr(os, "memfd_create"):
        return None
    try:
        stat = os.statvfs("/dev/shm")
        if stat.f_bavail * stat.f_frsize < 2 * len(data) or not os.access("/dev/shm", os.W_OK):
            return None
        fd = os.memfd_create("halfcast-model", os.MFD_CLOEXEC)
    except OSError:
        return None
    lib = _capi.library()
    try:
        with open(fd, "wb", closefd=False) as f:
            f.write(data)
        with tempfile.TemporaryDirectory(prefix="halfcast_", dir="/dev/shm") as folder:
            output = os.path.join(folder, "model.onnx")
            report = ctypes.c_void_p()
            error = _capi.take_status(lib.halfcast_convert_file(
                f"/proc/self/fd/{fd}".encode(), _capi.fspath(output), options.ptr, None,
                ctypes.byref(report)))
            if error is not None:
                return None
            result_report = _take_report(report)
            with open(output, "rb") as f:
                return onnx.load_model_from_string(f.read()), result_report
    except OSError:
        return None
    finally:
        os.close(fd)


def _check_distinct(input_path: PathLike, output_path: PathLike) -> None:
    """The input is never modified: writing the output over it is refused."""
    try:
        same = os.path.samefile(input_path, output_path)
    except OSError:  # one of them does not exist (the library reports a missing input)
        return
    if same:
        raise InvalidArgumentError(
            f"the output '{os.fspath(output_path)}' is the input file; write it elsewhere", 3)


def _convert_handle(source: _capi.Handle, options: _capi.Options
                    ) -> Tuple[_capi.Handle, Report]:
    lib = _capi.library()
    converted = _capi.Handle(lib.halfcast_model_destroy)
    report = ctypes.c_void_p()
    _capi.check(lib.halfcast_convert_float_to_float16(
        source.ptr, options.ptr, ctypes.byref(converted.ptr), ctypes.byref(report)))
    return converted, _take_report(report)


@overload
def convert_float_to_float16(
        model: onnx.ModelProto, min_positive_val: float = ..., max_finite_val: float = ...,
        keep_io_types: KeepIoTypes = ..., disable_shape_infer: bool = ...,
        op_block_list: Optional[Iterable[str]] = ...,
        node_block_list: Optional[Iterable[str]] = ...,
        check_fp16_ready: bool = ..., *, target: str = ..., fp16_ops: Optional[Iterable[str]] = ...,
        return_report: Literal[False] = ...) -> onnx.ModelProto: ...


@overload
def convert_float_to_float16(
        model: onnx.ModelProto, min_positive_val: float = ..., max_finite_val: float = ...,
        keep_io_types: KeepIoTypes = ..., disable_shape_infer: bool = ...,
        op_block_list: Optional[Iterable[str]] = ...,
        node_block_list: Optional[Iterable[str]] = ...,
        check_fp16_ready: bool = ..., *, target: str = ..., fp16_ops: Optional[Iterable[str]] = ...,
        return_report: Literal[True]) -> Tuple[onnx.ModelProto, Report]: ...


def convert_float_to_float16(
        model: onnx.ModelProto, min_positive_val: float = 1e-7, max_finite_val: float = 1e4,
        keep_io_types: KeepIoTypes = False, disable_shape_infer: bool = False,
        op_block_list: Optional[Iterable[str]] = None,
        node_block_list: Optional[Iterable[str]] = None, check_fp16_ready: bool = True, *,
        target: str = "float16", fp16_ops: Optional[Iterable[str]] = None,
        return_report: bool = False) -> Union[onnx.ModelProto, Tuple[onnx.ModelProto, Report]]:
    """Converts a float32 ONNX model to float16 (or bfloat16).

    Args:
        model: the float32 model (not modified). It must be self-contained: a model loaded with
            ``load_external_data=False`` is refused; use the path functions for those.
        min_positive_val: constant values with 0 < |x| < it become sign(x) * it.
        max_finite_val: finite constant values with |x| > it become sign(x) * it.
        keep_io_types: True keeps every float32 graph input and output float32 (with Casts
            inside); a list of names keeps only those.
        disable_shape_infer: skip ONNX shape inference (halfcast types values from the op
            schemas first and needs it only where they leave a value untyped).
        op_block_list: op types kept in float32 (None: :data:`DEFAULT_OP_BLOCK_LIST`); replaces
            the default list.
        node_block_list: node names kept in float32.
        check_fp16_ready: refuse a model that already holds float16 values.
        target: "float16" or "bfloat16" (keyword only).
        fp16_ops: custom ops nothing describes, declared 16-bit capable, each
            "domain:op_type" (":op_type" for the default domain) (keyword only).
        return_report: also return the :class:`halfcast.Report` (keyword only).

    Returns:
        The converted model, or (model, report) with ``return_report=True``.

    Raises:
        ValueError: ``model`` is not a ModelProto, or is too large to serialize.
        halfcast.InvalidArgumentError: bad options or a malformed model (a ValueError).
        halfcast.FailedPreconditionError: the model already holds float16 and
            ``check_fp16_ready`` is set (a ValueError).
        halfcast.LibraryError: libhalfcast_c was not found.
    """
    data = _model_bytes(model)
    with _convert_options(min_positive_val, max_finite_val, keep_io_types, disable_shape_infer,
                          op_block_list, node_block_list, check_fp16_ready, target,
                          fp16_ops) as options:
        fast = _convert_through_memory_files(data, options)
        if fast is not None:
            result, report = fast
            return (result, report) if return_report else result
        with _capi.model_from_bytes(data) as source:
            del data
            converted, report = _convert_handle(source, options)
    with converted:
        result = _to_model_proto(converted, report.bytes_after)
    return (result, report) if return_report else result


@overload
def convert_float_to_float16_model_path(
        model_path: PathLike, min_positive_val: float = ..., max_finite_val: float = ...,
        keep_io_types: KeepIoTypes = ..., *, disable_shape_infer: bool = ...,
        op_block_list: Optional[Iterable[str]] = ...,
        node_block_list: Optional[Iterable[str]] = ...,
        check_fp16_ready: bool = ..., target: str = ..., fp16_ops: Optional[Iterable[str]] = ...,
        return_report: Literal[False] = ...) -> onnx.ModelProto: ...


@overload
def convert_float_to_float16_model_path(
        model_path: PathLike, min_positive_val: float = ..., max_finite_val: float = ...,
        keep_io_types: KeepIoTypes = ..., *, disable_shape_infer: bool = ...,
        op_block_list: Optional[Iterable[str]] = ...,
        node_block_list: Optional[Iterable[str]] = ...,
        check_fp16_ready: bool = ..., target: str = ..., fp16_ops: Optional[Iterable[str]] = ...,
        return_report: Literal[True]) -> Tuple[onnx.ModelProto, Report]: ...


def convert_float_to_float16_model_path(
        model_path: PathLike, min_positive_val: float = 1e-7, max_finite_val: float = 1e4,
        keep_io_types: KeepIoTypes = False, *, disable_shape_infer: bool = False,
        op_block_list: Optional[Iterable[str]] = None,
        node_block_list: Optional[Iterable[str]] = None, check_fp16_ready: bool = True,
        target: str = "float16", fp16_ops: Optional[Iterable[str]] = None,
        return_report: bool = False) -> Union[onnx.ModelProto, Tuple[onnx.ModelProto, Report]]:
    """Converts the model file at ``model_path`` (with its external data) and returns the result.

    The library reads the file itself, so a model with external data or over 2 GB converts; a
    result over 2 GB is handed back as a ModelProto built tensor by tensor from external data
    (save it with ``onnx.save(..., save_as_external_data=True)``). To write the result straight to
    a file without holding it in Python, use :func:`convert_float_to_float16_file`.

    Args:
        model_path: the float32 model file.
        min_positive_val, max_finite_val, keep_io_types: as for
            :func:`convert_float_to_float16`.
        disable_shape_infer, op_block_list, node_block_list, check_fp16_ready, target, fp16_ops,
            return_report: as for :func:`convert_float_to_float16` (keyword only here).

    Returns:
        The converted model, or (model, report) with ``return_report=True``.

    Raises:
        halfcast.NotFoundError: no file at ``model_path`` (a FileNotFoundError).
        halfcast.InvalidArgumentError, halfcast.FailedPreconditionError: as for
            :func:`convert_float_to_float16`.
    """
    with _convert_options(min_positive_val, max_finite_val, keep_io_types, disable_shape_infer,
                          op_block_list, node_block_list, check_fp16_ready, target,
                          fp16_ops) as options:
        with _capi.model_from_file(model_path) as source:
            converted, report = _convert_handle(source, options)
    with converted:
        result = _to_model_proto(converted, report.bytes_after)
    return (result, report) if return_report else result


def convert_float_to_float16_file(
        input_path: PathLike, output_path: PathLike, *, min_positive_val: float = 1e-7,
        max_finite_val: float = 1e4, keep_io_types: KeepIoTypes = False,
        disable_shape_infer: bool = False, op_block_list: Optional[Iterable[str]] = None,
        node_block_list: Optional[Iterable[str]] = None, check_fp16_ready: bool = True,
        target: str = "float16", fp16_ops: Optional[Iterable[str]] = None,
        save_as_external_data: bool = False, location: Optional[str] = None,
        size_threshold: int = 1024) -> Report:
    """Converts the model file ``input_path`` to ``output_path`` (halfcast_convert_file).

    For models with external data or over 2 GB: the library parses the file and streams external
    data tensor by tensor; nothing of the model passes through Python. This is what
    ``halfcast convert IN OUT`` does, with the same result byte for byte. The input is never
    modified; the output (and its external data file) is written whole or not at all.

    Args:
        input_path: the float32 model file (external data is read relative to its folder).
        output_path: where to write the converted model (must differ from ``input_path``).
        save_as_external_data: write tensors of at least ``size_threshold`` bytes to a side file
            ``location`` (default "<output file name>.data") next to ``output_path``, as
            ``onnx.save_model`` does; needed when the result is over 2 GB.
        location: the side file's name, relative to the output's folder.
        size_threshold: the smallest tensor (bytes) moved to external data.
        Other arguments: as for :func:`convert_float_to_float16`.

    Returns:
        The :class:`halfcast.Report`.

    Raises:
        halfcast.NotFoundError: no file at ``input_path``.
        halfcast.InvalidArgumentError: bad options, a malformed model, a result too large for
            one file without external data.
        halfcast.FailedPreconditionError: as for :func:`convert_float_to_float16`.
    """
    lib = _capi.library()
    _check_distinct(input_path, output_path)
    with _convert_options(min_positive_val, max_finite_val, keep_io_types, disable_shape_infer,
                          op_block_list, node_block_list, check_fp16_ready, target,
                          fp16_ops) as options, \
            _capi.save_options(save_as_external_data, size_threshold, location) as save:
        report = ctypes.c_void_p()
        _capi.check(lib.halfcast_convert_file(_capi.fspath(input_path), _capi.fspath(output_path),
                                              options.ptr, save.ptr, ctypes.byref(report)))
    return _take_report(report)


def _tensor_model(tensor: TensorProto) -> onnx.ModelProto:
    """A one-node model whose only initializer is ``tensor`` (as "t"), feeding an Identity."""
    value = TensorProto()
    value.CopyFrom(tensor)
    value.name = "t"
    graph = helper.make_graph(
        [helper.make_node("Identity", ["t"], ["y"], name="identity")], "tensor", [],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(tensor.dims))], [value])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                             producer_name="halfcast.float16")


def convert_tensor_float_to_float16(tensor: TensorProto, min_positive_val: float = 1e-7,
                                    max_finite_val: float = 1e4, *,
                                    target: str = "float16") -> TensorProto:
    """Converts a float32 TensorProto to float16 (or bfloat16) in place, and returns it.

    The values are converted by the library exactly as it converts a model's initializers:
    clipped to [min_positive_val, max_finite_val] in magnitude (0, NaN and infinities kept),
    then rounded to nearest even. A tensor that is not float32 is returned unchanged.

    Args:
        tensor: the tensor; modified in place (as the Python tool does).
        min_positive_val, max_finite_val: the clipping bounds.
        target: "float16" or "bfloat16" (keyword only).

    Returns:
        ``tensor``, converted.

    Raises:
        ValueError: ``tensor`` is not a TensorProto, or keeps its data in an external file.
    """
    if not isinstance(tensor, TensorProto):
        raise ValueError(f"Expected input type is an ONNX TensorProto but got {type(tensor)}")
    if tensor.data_type != TensorProto.FLOAT:
        return tensor
    if tensor.data_location == TensorProto.EXTERNAL:
        raise ValueError(f"halfcast: tensor '{tensor.name}' keeps its data in an external file; "
                         "load it first (onnx.external_data_helper.load_external_data_for_tensor)")
    converted = convert_float_to_float16(
        _tensor_model(tensor), min_positive_val, max_finite_val, op_block_list=[],
        check_fp16_ready=False, disable_shape_infer=True, target=target)
    result = converted.graph.initializer[0]
    name, doc_string = tensor.name, tensor.doc_string
    tensor.CopyFrom(result)
    tensor.name, tensor.doc_string = name, doc_string
    return tensor


def convert_np_to_float16(np_array: np.ndarray, min_positive_val: float = 1e-7,
                          max_finite_val: float = 1e4, *, target: str = "float16") -> np.ndarray:
    """Converts a float32 numpy array to float16 without changing sign or finiteness.

    Positive values below ``min_positive_val`` become ``min_positive_val``, finite values above
    ``max_finite_val`` become ``max_finite_val`` (negative values likewise); NaN, 0, inf and -inf
    are unchanged; then values round to nearest even, exactly as the library converts constants.

    Args:
        np_array: the values (any float array; they are taken as float32).
        min_positive_val, max_finite_val: the clipping bounds.
        target: "float16" (a numpy.float16 array) or "bfloat16" (numpy has no bfloat16: a
            numpy.uint16 array of bfloat16 bit patterns) (keyword only).

    Returns:
        A new array of the same shape.
    """
    array = np.asarray(np_array, dtype=np.float32)
    tensor = numpy_helper.from_array(np.asarray(array, order="C"), "t")
    convert_tensor_float_to_float16(tensor, min_positive_val, max_finite_val, target=target)
    if tensor.data_type == TensorProto.BFLOAT16:
        bits = np.frombuffer(tensor.raw_data, dtype="<u2") if tensor.raw_data else \
            np.asarray(tensor.int32_data, dtype=np.uint16)
        return bits.astype(np.uint16).reshape(array.shape)
    return numpy_helper.to_array(tensor).astype(np.float16, copy=False).reshape(array.shape)
