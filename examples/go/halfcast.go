// A small Go binding of halfcast's C API through cgo: each handle type has Close (idempotent)
// and a finalizer as a safety net, and every halfcast_status* becomes an error.
package main

/*
#cgo pkg-config: halfcast
#include <stdlib.h>
#include "halfcast/halfcast_c.h"

// callbacks.c: passes a cgo.Handle as user_data to the Go validate function.
halfcast_status* set_go_validate(halfcast_mixed_precision_options* options, uintptr_t handle);
*/
import "C"

import (
	"fmt"
	"math"
	"runtime"
	"runtime/cgo"
	"unsafe"
)

const abiVersion = 1 // HALFCAST_C_ABI_VERSION

// Error is a failed halfcast call.
type Error struct {
	Code    int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s (code %d)", e.Message, e.Code) }

// check turns a halfcast_status* into an error, freeing it.
func check(status *C.halfcast_status) error {
	if status == nil {
		return nil
	}
	defer C.halfcast_status_destroy(status)
	return &Error{int(C.halfcast_status_code_of(status)), C.GoString(C.halfcast_status_message(status))}
}

// Model is an ONNX model held by the library.
type Model struct{ ptr *C.halfcast_model }

func newModel(ptr *C.halfcast_model) *Model {
	m := &Model{ptr}
	runtime.SetFinalizer(m, (*Model).Close)
	return m
}

// Close frees the model; further calls do nothing.
func (m *Model) Close() {
	C.halfcast_model_destroy(m.ptr)
	m.ptr = nil
}

// LoadModel reads a model file.
func LoadModel(path string) (*Model, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var ptr *C.halfcast_model
	if err := check(C.halfcast_model_load_file(cpath, &ptr)); err != nil {
		return nil, err
	}
	return newModel(ptr), nil
}

// Save writes the model to path atomically.
func (m *Model) Save(path string) error {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	defer runtime.KeepAlive(m)
	return check(C.halfcast_model_save(m.ptr, cpath, nil))
}

// Report counters of a conversion.
type Report struct {
	NodesConverted, NodesKept, Evaluations int64
}

// readReport copies the counters the example prints and frees the report.
func readReport(report *C.halfcast_report) (Report, error) {
	defer C.halfcast_report_destroy(report)
	var r Report
	for _, field := range []struct {
		key C.halfcast_report_value
		out *int64
	}{
		{C.HALFCAST_REPORT_NODES_CONVERTED, &r.NodesConverted},
		{C.HALFCAST_REPORT_NODES_KEPT, &r.NodesKept},
		{C.HALFCAST_REPORT_EVALUATIONS, &r.Evaluations},
	} {
		var value C.int64_t
		if err := check(C.halfcast_report_get(report, field.key, &value)); err != nil {
			return r, err
		}
		*field.out = int64(value)
	}
	return r, nil
}

// ToFloat16 converts the whole model, keeping float32 inputs and outputs if asked.
func (m *Model) ToFloat16(keepIOTypes bool) (*Model, Report, error) {
	defer runtime.KeepAlive(m)
	var options *C.halfcast_convert_options
	if err := check(C.halfcast_convert_options_create(&options)); err != nil {
		return nil, Report{}, err
	}
	defer C.halfcast_convert_options_destroy(options)
	if err := check(C.halfcast_convert_options_set_bool(options, C.HALFCAST_OPTION_KEEP_IO_TYPES,
		boolInt(keepIOTypes))); err != nil {
		return nil, Report{}, err
	}
	var out *C.halfcast_model
	var report *C.halfcast_report
	if err := check(C.halfcast_convert_float_to_float16(m.ptr, options, &out, &report)); err != nil {
		return nil, Report{}, err
	}
	r, err := readReport(report)
	return newModel(out), r, err
}

// Outputs maps output names to their values as float32 (float16 widened).
type Outputs map[string][]float32

// ValidateFunc accepts or rejects candidate outputs against the float32 reference.
type ValidateFunc func(reference, candidate Outputs) bool

//export goValidate
func goValidate(reference, candidate *C.halfcast_named_tensors, handle C.uintptr_t) C.int {
	// A Go panic must not unwind through C: report it as the callback's error (-1).
	result := C.int(-1)
	func() {
		defer func() { recover() }()
		validate := cgo.Handle(handle).Value().(ValidateFunc)
		if validate(toOutputs(reference), toOutputs(candidate)) {
			result = 1
		} else {
			result = 0
		}
	}()
	return result
}

func toOutputs(set *C.halfcast_named_tensors) Outputs {
	outputs := Outputs{}
	for i := C.size_t(0); i < C.halfcast_named_tensors_count(set); i++ {
		tensor := C.halfcast_named_tensors_tensor(set, i)
		count := int(C.halfcast_tensor_element_count(tensor))
		values := make([]float32, count)
		data := C.halfcast_tensor_data(tensor)
		switch C.halfcast_tensor_element_type(tensor) {
		case C.HALFCAST_ELEMENT_FLOAT:
			copy(values, unsafe.Slice((*float32)(data), count))
		case C.HALFCAST_ELEMENT_FLOAT16:
			for j, h := range unsafe.Slice((*uint16)(data), count) {
				values[j] = halfToFloat(h)
			}
		}
		outputs[C.GoString(C.halfcast_named_tensors_name(set, i))] = values
	}
	return outputs
}

func halfToFloat(h uint16) float32 {
	exponent, mantissa := int(h>>10)&0x1f, float64(h&0x3ff)
	var value float64
	switch {
	case exponent == 0:
		value = math.Ldexp(mantissa, -24)
	case exponent == 31 && mantissa == 0:
		value = math.Inf(1)
	case exponent == 31:
		value = math.NaN()
	default:
		value = math.Ldexp(mantissa+1024, exponent-25)
	}
	if h&0x8000 != 0 {
		value = -value
	}
	return float32(value)
}

// AutoMixedPrecision finds the fewest float32 nodes for which validate accepts the outputs on
// one run with the float32 input x of shape dims.
func (m *Model) AutoMixedPrecision(name string, dims []int64, x []float32, keepIOTypes bool,
	validate ValidateFunc) (*Model, Report, error) {
	defer runtime.KeepAlive(m)
	var tensor *C.halfcast_tensor
	if err := check(C.halfcast_tensor_create(C.HALFCAST_ELEMENT_FLOAT,
		(*C.int64_t)(unsafe.Pointer(&dims[0])), C.size_t(len(dims)), unsafe.Pointer(&x[0]),
		C.size_t(4*len(x)), C.HALFCAST_TENSOR_COPY, &tensor)); err != nil {
		return nil, Report{}, err
	}
	defer C.halfcast_tensor_destroy(tensor)
	var set *C.halfcast_named_tensors
	var feeds *C.halfcast_feeds
	var options *C.halfcast_mixed_precision_options
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	handle := cgo.NewHandle(validate)
	defer handle.Delete()
	err := check(C.halfcast_named_tensors_create(&set))
	defer C.halfcast_named_tensors_destroy(set)
	if err == nil {
		err = check(C.halfcast_named_tensors_add(set, cname, tensor))
	}
	if err == nil {
		err = check(C.halfcast_feeds_create(&feeds))
	}
	defer C.halfcast_feeds_destroy(feeds)
	if err == nil {
		err = check(C.halfcast_feeds_add(feeds, set))
	}
	if err == nil {
		err = check(C.halfcast_mixed_precision_options_create(&options))
	}
	defer C.halfcast_mixed_precision_options_destroy(options)
	if err == nil {
		err = check(C.halfcast_mixed_precision_options_set_bool(options,
			C.HALFCAST_OPTION_KEEP_IO_TYPES, boolInt(keepIOTypes)))
	}
	if err == nil {
		err = check(C.set_go_validate(options, C.uintptr_t(handle)))
	}
	if err != nil {
		return nil, Report{}, err
	}
	var out *C.halfcast_model
	var report *C.halfcast_report
	if err := check(C.halfcast_auto_convert_mixed_precision(m.ptr, feeds, options, &out,
		&report)); err != nil {
		return nil, Report{}, err
	}
	r, err := readReport(report)
	return newModel(out), r, err
}

func boolInt(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// ABIVersion is the ABI of the libhalfcast_c loaded at run time.
func ABIVersion() int { return int(C.halfcast_abi_version()) }
