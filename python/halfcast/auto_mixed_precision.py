"""Mixed precision found automatically: a drop-in for ``onnxconverter_common.auto_mixed_precision``.

Replace ``from onnxconverter_common import auto_mixed_precision`` by
``import halfcast.auto_mixed_precision as auto_mixed_precision``.
:func:`auto_convert_mixed_precision` keeps the Python tool's parameters, defaults, validation
rules and return type, and finds the fewest nodes to keep in float32 for the converted model to
validate on the given feeds (SPEC section 2).

Differences from the Python tool:

- candidates run on the library's built-in CPU evaluator (float16 storage emulated), so neither
  onnxruntime nor a GPU is needed; ``runtime=`` plugs in any runtime through a Python callable
  (ONNX Runtime's InferenceSession, say);
- the default search is error-guided (fewer evaluations); ``strategy="bisect"`` is the Python
  tool's segment bisection, reproduced exactly;
- ``feed_dict`` may be a list of feed dicts (every one must validate);
- progress is logged (logger ``"halfcast.auto_mixed_precision"``, INFO) instead of printed, and
  ``progress=`` receives it as a :class:`Progress`.
"""
from __future__ import annotations

import ctypes
import dataclasses
import logging
from typing import (Any, Callable, Dict, Iterable, List, Literal, Mapping, Optional, Sequence,
                    Tuple, Union, overload)

import numpy as np
import onnx

from . import _capi
from .errors import AbortedError, HalfcastError
from .float16 import PathLike, _check_distinct, _model_bytes, _take_report, _to_model_proto
from .report import Report

__all__ = ["auto_convert_mixed_precision", "auto_convert_mixed_precision_model_path",
           "Progress", "Segment"]

logger = logging.getLogger("halfcast.auto_mixed_precision")
_library_logger = logging.getLogger("halfcast")

Feeds = Union[Mapping[str, Any], Sequence[Mapping[str, Any]]]
#: validate_fn(reference_outputs, candidate_outputs) -> bool, each a list in graph output order.
ValidateFn = Callable[[List[np.ndarray], List[np.ndarray]], bool]
#: runtime(model_bytes, feeds) -> {output name: array}.
RuntimeFn = Callable[[bytes, Dict[str, np.ndarray]], Mapping[str, Any]]

_SEGMENT_STATES = {0: "untried", 1: "good", 2: "bad"}


@dataclasses.dataclass(frozen=True)
class Segment:
    """A run of top-level nodes the search treats together.

    Attributes:
        begin: position of its first node among the top-level nodes.
        size: its number of nodes.
        state: "untried", "good" (converted) or "bad" (kept in float32).
    """

    begin: int
    size: int
    state: str


@dataclasses.dataclass(frozen=True)
class Progress:
    """The search's state after one attempt.

    Attributes:
        evaluations: model runs so far.
        elapsed_seconds: time since the search began.
        segments: the segments in graph order.
        text: the segments as onnxconverter-common prints them: good sizes in *stars*, bad in
            (parentheses), untried plain.
    """

    evaluations: int
    elapsed_seconds: float
    segments: Tuple[Segment, ...]
    text: str


def _feed_sets(feed_dict: Feeds) -> List[Mapping[str, Any]]:
    if isinstance(feed_dict, Mapping):
        return [feed_dict]
    sets = list(feed_dict)
    if not sets or not all(isinstance(s, Mapping) for s in sets):
        raise ValueError("feed_dict must be a dict of input name -> array, or a non-empty list "
                         "of such dicts")
    return sets


def _ordered(arrays: Dict[str, np.ndarray], output_names: Sequence[str]) -> List[np.ndarray]:
    """The arrays in graph output order (as a runtime's run(None, ...) returns them)."""
    known = set(output_names)
    listed = [arrays[name] for name in output_names if name in arrays]
    rest = [arrays[name] for name in sorted(arrays) if name not in known]
    return listed + rest


class _Callbacks:
    """The Python callables behind the C callbacks, and the first exception one of them raised.

    An exception must not unwind into C: each callback catches it, reports an error to the
    library, and it is raised again (as the cause of the library's error) after the call.
    """

    def __init__(self, output_names: Sequence[str], validate_fn: Optional[ValidateFn],
                 runtime: Optional[RuntimeFn], progress: Optional[Callable[[Progress], Any]],
                 log_level: int = logging.INFO):
        self.log_level = log_level
        self.output_names = list(output_names)
        self.validate_fn = validate_fn
        self.runtime = runtime
        self.progress = progress
        self.error: Optional[BaseException] = None

    def install(self, options: _capi.Options) -> None:
        lib = _capi.library()
        if self.validate_fn is not None:
            fn = options.keep(_capi.VALIDATE_FN(self._validate))
            _capi.check(lib.halfcast_mixed_precision_options_set_validate_callback(
                options.ptr, fn, None))
        if self.runtime is not None:
            fn = options.keep(_capi.EVALUATOR_FN(self._evaluate))
            _capi.check(lib.halfcast_mixed_precision_options_set_evaluator_callback(
                options.ptr, fn, None))
        fn = options.keep(_capi.PROGRESS_FN(self._progress))
        _capi.check(lib.halfcast_mixed_precision_options_set_progress_callback(
            options.ptr, fn, None))

    def _remember(self, error: BaseException) -> None:
        if self.error is None:
            self.error = error

    def _validate(self, reference: Any, candidate: Any, _user_data: Any) -> int:
        try:
            want = _ordered(_capi.named_arrays(reference, True), self.output_names)
            got = _ordered(_capi.named_arrays(candidate, True), self.output_names)
            return 1 if self.validate_fn(want, got) else 0  # type: ignore[misc]
        except BaseException as error:  # noqa: BLE001 - nothing may unwind into C
            self._remember(error)
            return -1

    def _evaluate(self, model_bytes: Any, model_size: int, feeds: Any, outputs: Any,
                  _user_data: Any) -> Optional[int]:
        try:
            data = ctypes.string_at(model_bytes, model_size)
            result = self.runtime(data, _capi.named_arrays(feeds))  # type: ignore[misc]
            if not isinstance(result, Mapping):
                raise TypeError("runtime must return a mapping of output name -> array, not "
                                f"{type(result).__name__}")
            _capi.add_outputs(outputs, result)
            return None
        except BaseException as error:  # noqa: BLE001
            self._remember(error)
            return _capi.status_for(error, AbortedError.code)

    def _progress(self, progress: Any, _user_data: Any) -> int:
        try:
            lib = _capi.library()
            segments = []
            begin, size, state = ctypes.c_size_t(), ctypes.c_size_t(), ctypes.c_int()
            for i in range(lib.halfcast_progress_segment_count(progress)):
                if lib.halfcast_progress_segment(progress, i, ctypes.byref(begin),
                                                 ctypes.byref(size), ctypes.byref(state)):
                    segments.append(Segment(begin.value, size.value,
                                            _SEGMENT_STATES.get(state.value, "untried")))
            info = Progress(lib.halfcast_progress_evaluations(progress),
                            lib.halfcast_progress_elapsed_seconds(progress), tuple(segments),
                            (lib.halfcast_progress_text(progress) or b"").decode())
            logger.log(self.log_level, "attempt %d, %.1f s: %s", info.evaluations,
                       info.elapsed_seconds, info.text)
            if self.progress is not None and self.progress(info):
                return 1
            return 0
        except BaseException as error:  # noqa: BLE001
            self._remember(error)
            return 1

    def raise_for(self, error: HalfcastError) -> None:
        """Raises `error`, chained to the exception a callback raised, if any.

        KeyboardInterrupt and SystemExit raised in a callback (Ctrl-C during a search lands in
        one) are raised again as they are.
        """
        if self.error is not None and not isinstance(self.error, Exception):
            raise self.error
        if self.error is not None:
            raise error from self.error
        raise error


@dataclasses.dataclass(frozen=True)
class _SearchBounds:
    """How candidates are judged and how long and large the search may grow."""
    safety_margin: float = 0.2
    check_onnx_runtime_cpu: bool = True
    max_retained_bytes: int = 2 << 30
    time_limit_seconds: float = 0.0


def _mixed_options(rtol: Optional[float], atol: Optional[float], keep_io_types: bool,
                   target: str, op_block_list: Optional[Iterable[str]],
                   fp16_ops: Optional[Iterable[str]], min_positive_val: float,
                   max_finite_val: float, strategy: str, max_evaluations: int,
                   bounds: _SearchBounds) -> _capi.Options:
    options = _capi.Options("mixed_precision")
    # The library applies the Python tool's rules: rtol alone -> atol 1e-8, atol alone ->
    # rtol 1e-5, neither and no validate_fn -> an error (a ValueError).
    if rtol is not None:
        options.set_double(_capi.OPTION_RTOL, rtol)
    if atol is not None:
        options.set_double(_capi.OPTION_ATOL, atol)
    options.set_bool(_capi.OPTION_KEEP_IO_TYPES, bool(keep_io_types))
    options.set_int(_capi.OPTION_TARGET, _capi.target_value(target))
    if op_block_list is not None:
        options.set_strings(_capi.OPTION_OP_BLOCK_LIST, op_block_list)
    if fp16_ops is not None:
        options.set_strings(_capi.OPTION_FP16_OPS, fp16_ops)
    options.set_double(_capi.OPTION_MIN_POSITIVE_VAL, min_positive_val)
    options.set_double(_capi.OPTION_MAX_FINITE_VAL, max_finite_val)
    try:
        options.set_int(_capi.OPTION_STRATEGY, _capi.STRATEGIES[strategy])
    except KeyError:
        raise ValueError(f"strategy must be 'error-guided' or 'bisect', not {strategy!r}") from None
    options.set_int(_capi.OPTION_MAX_EVALUATIONS, max_evaluations)
    options.set_double(_capi.OPTION_SAFETY_MARGIN, bounds.safety_margin)
    options.set_bool(_capi.OPTION_CHECK_ORT_CPU, bool(bounds.check_onnx_runtime_cpu))
    options.set_int(_capi.OPTION_MAX_RETAINED_BYTES, bounds.max_retained_bytes)
    options.set_double(_capi.OPTION_TIME_LIMIT, bounds.time_limit_seconds)
    options.set_logger(_library_logger)
    return options


def _make_feeds(feed_dict: Feeds) -> Tuple[_capi.Handle, List[_capi.NamedTensors]]:
    lib = _capi.library()
    feeds = _capi.Handle.create(lib.halfcast_feeds_create, lib.halfcast_feeds_destroy)
    sets = [_capi.NamedTensors(s) for s in _feed_sets(feed_dict)]
    for named in sets:
        _capi.check(lib.halfcast_feeds_add(feeds.ptr, named.handle.ptr))
    return feeds, sets  # the sets own the arrays the feeds borrow: keep both alive


@overload
def auto_convert_mixed_precision(
        model: onnx.ModelProto, feed_dict: Feeds, validate_fn: Optional[ValidateFn] = ...,
        rtol: Optional[float] = ..., atol: Optional[float] = ..., keep_io_types: bool = ...,
        *, target: str = ..., op_block_list: Optional[Iterable[str]] = ...,
        fp16_ops: Optional[Iterable[str]] = ..., min_positive_val: float = ...,
        max_finite_val: float = ..., strategy: str = ..., max_evaluations: int = ...,
        progress: Optional[Callable[[Progress], Any]] = ..., runtime: Optional[RuntimeFn] = ...,
        safety_margin: float = ..., check_onnx_runtime_cpu: bool = ...,
        max_retained_bytes: int = ..., time_limit_seconds: float = ...,
        return_report: Literal[False] = ...) -> onnx.ModelProto: ...


@overload
def auto_convert_mixed_precision(
        model: onnx.ModelProto, feed_dict: Feeds, validate_fn: Optional[ValidateFn] = ...,
        rtol: Optional[float] = ..., atol: Optional[float] = ..., keep_io_types: bool = ...,
        *, target: str = ..., op_block_list: Optional[Iterable[str]] = ...,
        fp16_ops: Optional[Iterable[str]] = ..., min_positive_val: float = ...,
        max_finite_val: float = ..., strategy: str = ..., max_evaluations: int = ...,
        progress: Optional[Callable[[Progress], Any]] = ..., runtime: Optional[RuntimeFn] = ...,
        safety_margin: float = ..., check_onnx_runtime_cpu: bool = ...,
        max_retained_bytes: int = ..., time_limit_seconds: float = ...,
        return_report: Literal[True]) -> Tuple[onnx.ModelProto, Report]: ...


def auto_convert_mixed_precision(
        model: onnx.ModelProto, feed_dict: Feeds, validate_fn: Optional[ValidateFn] = None,
        rtol: Optional[float] = None, atol: Optional[float] = None, keep_io_types: bool = False,
        *, target: str = "float16", op_block_list: Optional[Iterable[str]] = None,
        fp16_ops: Optional[Iterable[str]] = None, min_positive_val: float = 1e-7,
        max_finite_val: float = 1e4, strategy: str = "error-guided", max_evaluations: int = 0,
        progress: Optional[Callable[[Progress], Any]] = None,
        runtime: Optional[RuntimeFn] = None,
        safety_margin: float = 0.2, check_onnx_runtime_cpu: bool = True,
        max_retained_bytes: int = 2 << 30, time_limit_seconds: float = 0.0,
        return_report: bool = False) -> Union[onnx.ModelProto, Tuple[onnx.ModelProto, Report]]:
    """Converts a model to mixed precision, keeping the fewest nodes in float32 that validate.

    Args:
        model: the float32 model (not modified).
        feed_dict: input name -> numpy array, as for a runtime's run call; or a list of such
            dicts (several runs; each must validate).
        validate_fn: ``validate_fn(reference, candidate) -> bool``, each a list of output
            arrays in graph output order (reference: the float32 model's). Candidate outputs
            are float16 arrays unless ``keep_io_types`` (bfloat16 outputs arrive as float32).
            Used instead of, or together with, rtol/atol (then both must accept).
        rtol, atol: accept when ``numpy.allclose(candidate, reference, rtol, atol)`` for every
            output. rtol alone: atol = 1e-8; atol alone: rtol = 1e-5.
        keep_io_types: keep float32 graph inputs and outputs float32. If False, float32 feeds
            are given to candidates as float16.
        target: "float16" or "bfloat16".
        op_block_list: op types always kept in float32 (None: DEFAULT_OP_BLOCK_LIST).
        fp16_ops: custom ops declared 16-bit capable ("domain:op_type").
        min_positive_val, max_finite_val: constant clipping, as for convert_float_to_float16.
        strategy: "error-guided" (default: fewest evaluations) or "bisect" (onnxconverter-
            common's search, reproduced exactly).
        max_evaluations: stop with ResourceExhaustedError after this many runs (0: no limit).
        progress: called with a :class:`Progress` after each attempt; a true return value
            cancels the search (CancelledError).
        runtime: ``runtime(model_bytes, feeds) -> {output name: array}`` runs a candidate (a
            serialized self-contained model) instead of the built-in evaluator; it must return
            at least the model's graph outputs. float16 tensors are numpy.float16; bfloat16
            tensors are uint16 bit patterns (return them as ``(bits, onnx.TensorProto.BFLOAT16)``).
        safety_margin: candidates must meet rtol and atol scaled by ``1 - safety_margin``
            (in [0, 1)), so the answer is not at the edge of the bound, where a runtime that
            rounds a little differently fails it; 0 judges at the bound.
        check_onnx_runtime_cpu: a candidate must also validate as ONNX Runtime's CPU provider
            runs float16 (built-in evaluator only); False for a model served only where every op
            runs in 16 bits.
        max_retained_bytes: bound on the values the search keeps between evaluations (0: none);
            past it the search is slower, never wrong.
        time_limit_seconds: bound on the whole search (0: none); reaching it raises
            DeadlineExceededError.
        return_report: also return the :class:`halfcast.Report`.

    Returns:
        The mixed-precision model, or (model, report) with ``return_report=True``.

    Raises:
        halfcast.InvalidArgumentError: no rtol/atol and no validate_fn, feeds missing an input
            or mistyped (a ValueError).
        halfcast.FailedPreconditionError: the float32 model fails its own validation, or no
            conversion validates (a ValueError, as the Python tool raises).
        halfcast.CancelledError: ``progress`` asked to stop.
        halfcast.AbortedError: ``validate_fn`` or ``runtime`` raised (the exception is the
            error's ``__cause__``).
        halfcast.ResourceExhaustedError: ``max_evaluations`` reached.
        halfcast.DeadlineExceededError: ``time_limit_seconds`` reached (a TimeoutError).
    """
    bounds = _SearchBounds(safety_margin, check_onnx_runtime_cpu, max_retained_bytes,
                           time_limit_seconds)
    data = _model_bytes(model)
    output_names = [output.name for output in model.graph.output]
    lib = _capi.library()
    callbacks = _Callbacks(output_names, validate_fn, runtime, progress)
    with _mixed_options(rtol, atol, keep_io_types, target, op_block_list, fp16_ops,
                        min_positive_val, max_finite_val, strategy, max_evaluations,
                        bounds) as options:
        callbacks.install(options)
        feeds, _sets = _make_feeds(feed_dict)
        with feeds, _capi.model_from_bytes(data) as source:
            del data
            converted = _capi.Handle(lib.halfcast_model_destroy)
            report = ctypes.c_void_p()
            error = _capi.take_status(lib.halfcast_auto_convert_mixed_precision(
                source.ptr, feeds.ptr, options.ptr, ctypes.byref(converted.ptr),
                ctypes.byref(report)))
    if error is not None:
        callbacks.raise_for(error)
    result_report = _take_report(report)
    with converted:
        result = _to_model_proto(converted, result_report.bytes_after)
    return (result, result_report) if return_report else result


def auto_convert_mixed_precision_model_path(
        source_model_path: PathLike, input_feed: Feeds, target_model_path: PathLike,
        provider: Any = None, location: Optional[str] = None,
        customized_validate_func: Optional[ValidateFn] = None, rtol: Optional[float] = None,
        atol: Optional[float] = None, keep_io_types: bool = True, verbose: bool = False, *,
        save_as_external_data: bool = True, target: str = "float16",
        op_block_list: Optional[Iterable[str]] = None, fp16_ops: Optional[Iterable[str]] = None,
        strategy: str = "error-guided", max_evaluations: int = 0,
        progress: Optional[Callable[[Progress], Any]] = None,
        runtime: Optional[RuntimeFn] = None, safety_margin: float = 0.2,
        check_onnx_runtime_cpu: bool = True, max_retained_bytes: int = 2 << 30,
        time_limit_seconds: float = 0.0) -> Report:
    """Mixed precision from a model file to a model file, for models with external data.

    The drop-in for ``onnxconverter_common.auto_mixed_precision_model_path`` (same parameters;
    the library reads and writes the files, streaming external data). Like the Python tool it
    saves ``target_model_path`` with external data (``location``, default
    "<target file name>.data"); pass ``save_as_external_data=False`` for one file.

    Args:
        source_model_path: the float32 model file.
        input_feed: as ``feed_dict`` of :func:`auto_convert_mixed_precision`.
        target_model_path: where to write the result (written whole or not at all).
        provider: ignored (the Python tool's ONNX Runtime providers); use ``runtime=`` to run
            candidates in ONNX Runtime.
        location: the external data file's name, relative to the target's folder.
        customized_validate_func, rtol, atol, keep_io_types: as validate_fn, rtol, atol,
            keep_io_types of :func:`auto_convert_mixed_precision` (keep_io_types defaults to
            True here, as in the Python tool).
        verbose: log each attempt at WARNING instead of INFO.
        Other arguments: as for :func:`auto_convert_mixed_precision`.

    Returns:
        The :class:`halfcast.Report` (the Python tool returns None).
    """
    del provider
    _check_distinct(source_model_path, target_model_path)
    output_names: List[str] = []
    if customized_validate_func is not None:  # it gets outputs in graph order: read the names
        header = onnx.load(_capi.fspath(source_model_path).decode(), load_external_data=False)
        output_names = [output.name for output in header.graph.output]
        del header
    lib = _capi.library()
    callbacks = _Callbacks(output_names, customized_validate_func, runtime, progress,
                           logging.WARNING if verbose else logging.INFO)
    bounds = _SearchBounds(safety_margin, check_onnx_runtime_cpu, max_retained_bytes,
                           time_limit_seconds)
    with _mixed_options(rtol, atol, keep_io_types, target, op_block_list, fp16_ops, 1e-7, 1e4,
                        strategy, max_evaluations, bounds) as options, \
            _capi.save_options(save_as_external_data, 1024, location) as save:
        callbacks.install(options)
        feeds, _sets = _make_feeds(input_feed)
        with feeds:
            report = ctypes.c_void_p()
            error = _capi.take_status(lib.halfcast_auto_convert_mixed_precision_file(
                _capi.fspath(source_model_path), _capi.fspath(target_model_path), feeds.ptr,
                options.ptr, save.ptr, ctypes.byref(report)))
    if error is not None:
        callbacks.raise_for(error)
    return _take_report(report)
