package halfcast

/*
#include <stdint.h>
#include <stdlib.h>
#include "halfcast/halfcast_c.h"

// callbacks.c
halfcast_status* halfcast_go_convert_set_log(halfcast_convert_options* options, uintptr_t handle);
halfcast_status* halfcast_go_mixed_set_log(halfcast_mixed_precision_options* options,
                                           uintptr_t handle);
halfcast_status* halfcast_go_mixed_set_validate(halfcast_mixed_precision_options* options,
                                                uintptr_t handle);
halfcast_status* halfcast_go_mixed_set_progress(halfcast_mixed_precision_options* options,
                                                uintptr_t handle);
halfcast_status* halfcast_go_mixed_set_evaluator(halfcast_mixed_precision_options* options,
                                                 uintptr_t handle);
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// Option is an option key (halfcast_option), shared by ConvertOptions (C) and
// MixedPrecisionOptions (M); each takes one kind of value. See the C header for defaults.
type Option int

// The option keys.
const (
	OptionMinPositiveVal     Option = C.HALFCAST_OPTION_MIN_POSITIVE_VAL      // float (C, M)
	OptionMaxFiniteVal       Option = C.HALFCAST_OPTION_MAX_FINITE_VAL        // float (C, M)
	OptionKeepIOTypes        Option = C.HALFCAST_OPTION_KEEP_IO_TYPES         // bool (C, M)
	OptionKeepIONames        Option = C.HALFCAST_OPTION_KEEP_IO_NAMES         // strings (C)
	OptionDisableShapeInfer  Option = C.HALFCAST_OPTION_DISABLE_SHAPE_INFER   // bool (C)
	OptionOpBlockList        Option = C.HALFCAST_OPTION_OP_BLOCK_LIST         // strings (C, M)
	OptionNodeBlockList      Option = C.HALFCAST_OPTION_NODE_BLOCK_LIST       // strings (C)
	OptionNodeIndexBlockList Option = C.HALFCAST_OPTION_NODE_INDEX_BLOCK_LIST // ints (C)
	OptionCheckFP16Ready     Option = C.HALFCAST_OPTION_CHECK_FP16_READY      // bool (C)
	OptionTarget             Option = C.HALFCAST_OPTION_TARGET                // int: a Target (C, M)
	OptionRtol               Option = C.HALFCAST_OPTION_RTOL                  // float (M)
	OptionAtol               Option = C.HALFCAST_OPTION_ATOL                  // float (M)
	OptionStrategy           Option = C.HALFCAST_OPTION_STRATEGY              // int: a Strategy (M)
	OptionMaxEvaluations     Option = C.HALFCAST_OPTION_MAX_EVALUATIONS       // int (M)
	OptionFP16Ops            Option = C.HALFCAST_OPTION_FP16_OPS              // strings (C, M)
	OptionTimeLimit          Option = C.HALFCAST_OPTION_TIME_LIMIT            // float seconds (M)
	OptionSafetyMargin       Option = C.HALFCAST_OPTION_SAFETY_MARGIN         // float in [0, 1) (M)
	OptionMaxRetainedBytes   Option = C.HALFCAST_OPTION_MAX_RETAINED_BYTES    // int bytes (M)
	OptionOpIncludeList      Option = C.HALFCAST_OPTION_OP_INCLUDE_LIST       // strings (C, M)
	OptionNodeIncludeList    Option = C.HALFCAST_OPTION_NODE_INCLUDE_LIST     // strings (C, M)
	OptionStrictLists        Option = C.HALFCAST_OPTION_STRICT_LISTS          // bool (C, M)
	OptionKeepBest           Option = C.HALFCAST_OPTION_KEEP_BEST             // bool (M)
	OptionCheckOrtCPU        Option = C.HALFCAST_OPTION_CHECK_ORT_CPU         // bool (M)
)

// String is the library's stable name of the option ("keep_io_types", ...).
func (o Option) String() string {
	name := C.halfcast_option_name(C.halfcast_option(o))
	if name == nil {
		return "unknown_option"
	}
	return C.GoString(name)
}

// Target is the 16-bit type a conversion targets (OptionTarget).
type Target int64

// The targets.
const (
	TargetFloat16  Target = C.HALFCAST_TARGET_FLOAT16
	TargetBfloat16 Target = C.HALFCAST_TARGET_BFLOAT16
)

// Strategy is how a mixed-precision search picks what to try (OptionStrategy).
type Strategy int64

// The strategies.
const (
	StrategyErrorGuided Strategy = C.HALFCAST_STRATEGY_ERROR_GUIDED // fewest evaluations
	StrategyBisect      Strategy = C.HALFCAST_STRATEGY_BISECT       // onnxconverter-common's
)

// withCStrings calls f with values as a C array of C strings, freed after.
func withCStrings(values []string, f func(**C.char, C.size_t) *C.halfcast_status) error {
	pointers := make([]*C.char, len(values))
	for i, v := range values {
		pointers[i] = C.CString(v)
		defer C.free(unsafe.Pointer(pointers[i]))
	}
	var first **C.char
	if len(pointers) > 0 {
		first = &pointers[0]
	}
	return check(f(first, C.size_t(len(values))))
}

// ConvertOptions are the options of Model.Convert and ConvertFile, created with
// onnxconverter-common's defaults. Setting a key of another kind, or one these options do not
// have, is InvalidArgument, as is a value out of range.
type ConvertOptions struct {
	ptr *C.halfcast_convert_options
	cb  *callbacks
}

// NewConvertOptions creates options with the defaults.
func NewConvertOptions() (*ConvertOptions, error) {
	if err := ensureABI(); err != nil {
		return nil, err
	}
	var ptr *C.halfcast_convert_options
	if err := check(C.halfcast_convert_options_create(&ptr)); err != nil {
		return nil, err
	}
	o := &ConvertOptions{ptr: ptr, cb: newCallbacks()}
	runtime.SetFinalizer(o, (*ConvertOptions).Close)
	return o, nil
}

// SetBool sets a bool option.
func (o *ConvertOptions) SetBool(key Option, value bool) error {
	defer runtime.KeepAlive(o)
	return check(C.halfcast_convert_options_set_bool(o.ptr, C.halfcast_option(key), cBool(value)))
}

// SetInt sets an int option (OptionTarget takes a Target).
func (o *ConvertOptions) SetInt(key Option, value int64) error {
	defer runtime.KeepAlive(o)
	return check(C.halfcast_convert_options_set_int(o.ptr, C.halfcast_option(key), C.int64_t(value)))
}

// SetFloat sets a floating-point option.
func (o *ConvertOptions) SetFloat(key Option, value float64) error {
	defer runtime.KeepAlive(o)
	return check(C.halfcast_convert_options_set_double(o.ptr, C.halfcast_option(key), C.double(value)))
}

// SetStrings replaces a string-list option.
func (o *ConvertOptions) SetStrings(key Option, values []string) error {
	defer runtime.KeepAlive(o)
	return withCStrings(values, func(v **C.char, n C.size_t) *C.halfcast_status {
		return C.halfcast_convert_options_set_strings(o.ptr, C.halfcast_option(key), v, n)
	})
}

// SetInts replaces an int-list option (OptionNodeIndexBlockList).
func (o *ConvertOptions) SetInts(key Option, values []int64) error {
	defer runtime.KeepAlive(o)
	var first *C.int64_t
	if len(values) > 0 {
		first = (*C.int64_t)(unsafe.Pointer(&values[0]))
	}
	return check(C.halfcast_convert_options_set_ints(o.ptr, C.halfcast_option(key), first,
		C.size_t(len(values))))
}

// SetLogFunc sends the library's messages to log (nil: none).
func (o *ConvertOptions) SetLogFunc(log LogFunc) error {
	defer runtime.KeepAlive(o)
	o.cb.log = log
	if log == nil {
		return check(C.halfcast_convert_options_set_log_callback(o.ptr, nil, nil))
	}
	return check(C.halfcast_go_convert_set_log(o.ptr, C.uintptr_t(o.cb.handle)))
}

// Close frees the options; further calls do nothing.
func (o *ConvertOptions) Close() {
	if o == nil {
		return
	}
	C.halfcast_convert_options_destroy(o.ptr)
	o.ptr = nil
	o.cb.release()
	o.cb = nil
	runtime.SetFinalizer(o, nil)
}

// MixedPrecisionOptions are the options of Model.AutoMixedPrecision, created with the
// defaults, which set no tolerance: set OptionRtol and/or OptionAtol, or a validate function.
type MixedPrecisionOptions struct {
	ptr *C.halfcast_mixed_precision_options
	cb  *callbacks
}

// NewMixedPrecisionOptions creates options with the defaults.
func NewMixedPrecisionOptions() (*MixedPrecisionOptions, error) {
	if err := ensureABI(); err != nil {
		return nil, err
	}
	var ptr *C.halfcast_mixed_precision_options
	if err := check(C.halfcast_mixed_precision_options_create(&ptr)); err != nil {
		return nil, err
	}
	o := &MixedPrecisionOptions{ptr: ptr, cb: newCallbacks()}
	runtime.SetFinalizer(o, (*MixedPrecisionOptions).Close)
	return o, nil
}

// SetBool sets a bool option.
func (o *MixedPrecisionOptions) SetBool(key Option, value bool) error {
	defer runtime.KeepAlive(o)
	return check(C.halfcast_mixed_precision_options_set_bool(o.ptr, C.halfcast_option(key),
		cBool(value)))
}

// SetInt sets an int option (OptionTarget takes a Target, OptionStrategy a Strategy).
func (o *MixedPrecisionOptions) SetInt(key Option, value int64) error {
	defer runtime.KeepAlive(o)
	return check(C.halfcast_mixed_precision_options_set_int(o.ptr, C.halfcast_option(key),
		C.int64_t(value)))
}

// SetFloat sets a floating-point option.
func (o *MixedPrecisionOptions) SetFloat(key Option, value float64) error {
	defer runtime.KeepAlive(o)
	return check(C.halfcast_mixed_precision_options_set_double(o.ptr, C.halfcast_option(key),
		C.double(value)))
}

// SetStrings replaces a string-list option.
func (o *MixedPrecisionOptions) SetStrings(key Option, values []string) error {
	defer runtime.KeepAlive(o)
	return withCStrings(values, func(v **C.char, n C.size_t) *C.halfcast_status {
		return C.halfcast_mixed_precision_options_set_strings(o.ptr, C.halfcast_option(key), v, n)
	})
}

// SetLogFunc sends the library's messages to log (nil: none).
func (o *MixedPrecisionOptions) SetLogFunc(log LogFunc) error {
	defer runtime.KeepAlive(o)
	o.cb.log = log
	if log == nil {
		return check(C.halfcast_mixed_precision_options_set_log_callback(o.ptr, nil, nil))
	}
	return check(C.halfcast_go_mixed_set_log(o.ptr, C.uintptr_t(o.cb.handle)))
}

// SetValidateFunc judges candidates with validate (nil: none), instead of or together with
// OptionRtol/OptionAtol (then both must accept). A panic in it stops the search and is raised
// again once AutoMixedPrecision's library call has returned.
func (o *MixedPrecisionOptions) SetValidateFunc(validate ValidateFunc) error {
	defer runtime.KeepAlive(o)
	o.cb.validate = validate
	if validate == nil {
		return check(C.halfcast_mixed_precision_options_set_validate_callback(o.ptr, nil, nil))
	}
	return check(C.halfcast_go_mixed_set_validate(o.ptr, C.uintptr_t(o.cb.handle)))
}

// SetProgressFunc calls progress after each attempt of the search (nil: none).
func (o *MixedPrecisionOptions) SetProgressFunc(progress ProgressFunc) error {
	defer runtime.KeepAlive(o)
	o.cb.progress = progress
	if progress == nil {
		return check(C.halfcast_mixed_precision_options_set_progress_callback(o.ptr, nil, nil))
	}
	return check(C.halfcast_go_mixed_set_progress(o.ptr, C.uintptr_t(o.cb.handle)))
}

// SetEvaluateFunc runs candidates in the caller's runtime (nil: the built-in CPU evaluator). A
// panic in it stops the search and is raised again once the library call has returned.
func (o *MixedPrecisionOptions) SetEvaluateFunc(evaluate EvaluateFunc) error {
	defer runtime.KeepAlive(o)
	o.cb.evaluate = evaluate
	if evaluate == nil {
		return check(C.halfcast_mixed_precision_options_set_evaluator_callback(o.ptr, nil, nil))
	}
	return check(C.halfcast_go_mixed_set_evaluator(o.ptr, C.uintptr_t(o.cb.handle)))
}

// Close frees the options; further calls do nothing.
func (o *MixedPrecisionOptions) Close() {
	if o == nil {
		return
	}
	C.halfcast_mixed_precision_options_destroy(o.ptr)
	o.ptr = nil
	o.cb.release()
	o.cb = nil
	runtime.SetFinalizer(o, nil)
}

// SaveOptions say how a model file is written; by default as one self-contained file.
type SaveOptions struct{ ptr *C.halfcast_save_options }

// NewSaveOptions creates options with the defaults.
func NewSaveOptions() (*SaveOptions, error) {
	if err := ensureABI(); err != nil {
		return nil, err
	}
	var ptr *C.halfcast_save_options
	if err := check(C.halfcast_save_options_create(&ptr)); err != nil {
		return nil, err
	}
	o := &SaveOptions{ptr}
	runtime.SetFinalizer(o, (*SaveOptions).Close)
	return o, nil
}

// SetExternalData sends tensors of at least thresholdBytes to the side file fileName ("":
// "<model file name>.data") next to the model.
func (o *SaveOptions) SetExternalData(thresholdBytes int64, fileName string) error {
	defer runtime.KeepAlive(o)
	cname := C.CString(fileName)
	defer C.free(unsafe.Pointer(cname))
	return check(C.halfcast_save_options_set_external_data(o.ptr, 1, C.int64_t(thresholdBytes),
		cname))
}

// Close frees the options; further calls do nothing.
func (o *SaveOptions) Close() {
	if o == nil {
		return
	}
	C.halfcast_save_options_destroy(o.ptr)
	o.ptr = nil
	runtime.SetFinalizer(o, nil)
}

// Pointers for the C calls; a nil options object is the defaults (NULL).
func (o *ConvertOptions) cptr() *C.halfcast_convert_options {
	if o == nil {
		return nil
	}
	return o.ptr
}

func (o *SaveOptions) cptr() *C.halfcast_save_options {
	if o == nil {
		return nil
	}
	return o.ptr
}

func (o *ConvertOptions) callbacks() *callbacks {
	if o == nil {
		return nil
	}
	return o.cb
}
