package halfcast

/*
#include <stdlib.h>
#include "halfcast/halfcast_c.h"
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// Model is an ONNX model held by the library. It is never modified once created, so
// goroutines may convert the same model at once.
type Model struct{ ptr *C.halfcast_model }

func newModel(ptr *C.halfcast_model) *Model {
	m := &Model{ptr}
	runtime.SetFinalizer(m, (*Model).Close)
	return m
}

// LoadModel reads a model file; external data is read relative to its folder. Errors:
// NotFound, InvalidArgument (not an ONNX model, bad external data).
func LoadModel(path string) (*Model, error) {
	if err := ensureABI(); err != nil {
		return nil, err
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var ptr *C.halfcast_model
	if err := check(C.halfcast_model_load_file(cpath, &ptr)); err != nil {
		return nil, err
	}
	return newModel(ptr), nil
}

// LoadModelBytes parses a self-contained model from its serialized bytes (copied).
func LoadModelBytes(data []byte) (*Model, error) {
	if err := ensureABI(); err != nil {
		return nil, err
	}
	var first unsafe.Pointer
	if len(data) > 0 {
		first = unsafe.Pointer(&data[0])
	}
	var ptr *C.halfcast_model
	if err := check(C.halfcast_model_load_bytes(first, C.size_t(len(data)), &ptr)); err != nil {
		return nil, err
	}
	return newModel(ptr), nil
}

// Save writes the model to path as one file, atomically.
func (m *Model) Save(path string) error { return m.SaveWith(path, nil) }

// SaveWith writes the model to path atomically as options say (nil: one file).
func (m *Model) SaveWith(path string, options *SaveOptions) error {
	defer runtime.KeepAlive(m)
	defer runtime.KeepAlive(options)
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	return check(C.halfcast_model_save(m.ptr, cpath, options.cptr()))
}

// Bytes is the serialized model (self-contained models only).
func (m *Model) Bytes() ([]byte, error) {
	defer runtime.KeepAlive(m)
	var buffer *C.halfcast_buffer
	if err := check(C.halfcast_model_serialize(m.ptr, &buffer)); err != nil {
		return nil, err
	}
	return takeBuffer(buffer), nil
}

// Convert converts the model as onnxconverter-common's convert_float_to_float16 does; nil
// options are the defaults. Errors: InvalidArgument (bad options, malformed model),
// FailedPrecondition (the model already holds float16 and OptionCheckFP16Ready is set).
func (m *Model) Convert(options *ConvertOptions) (*Model, *Report, error) {
	defer runtime.KeepAlive(m)
	defer runtime.KeepAlive(options)
	var out *C.halfcast_model
	var report *C.halfcast_report
	err := check(C.halfcast_convert_float_to_float16(m.ptr, options.cptr(), &out, &report))
	return results(err, out, report, options.callbacks())
}

// AutoMixedPrecision finds the fewest float32 nodes that keep the model accurate on feeds, as
// onnxconverter-common's auto_convert_mixed_precision does. options must set a tolerance or a
// validate function. Errors: InvalidArgument (no tolerance, feeds missing an input),
// FailedPrecondition (nothing validates), Cancelled (the progress function said stop),
// Aborted, ResourceExhausted, DeadlineExceeded. A panic in a callback is raised again here.
func (m *Model) AutoMixedPrecision(feeds *Feeds, options *MixedPrecisionOptions) (*Model,
	*Report, error) {
	defer runtime.KeepAlive(m)
	defer runtime.KeepAlive(feeds)
	defer runtime.KeepAlive(options)
	var out *C.halfcast_model
	var report *C.halfcast_report
	err := check(C.halfcast_auto_convert_mixed_precision(m.ptr, feeds.ptr, options.ptr, &out,
		&report))
	return results(err, out, report, options.cb)
}

// results wraps a conversion's outputs, or raises again a panic its callbacks raised (freeing
// the outputs first).
func results(err error, out *C.halfcast_model, report *C.halfcast_report,
	cb *callbacks) (*Model, *Report, error) {
	if err != nil {
		cb.rethrow()
		return nil, nil, err
	}
	model, r := newModel(out), newReport(report)
	if cb.pending() {
		model.Close()
		r.Close()
		cb.rethrow()
	}
	return model, r, nil
}

// Close frees the model; further calls do nothing.
func (m *Model) Close() {
	if m == nil {
		return
	}
	C.halfcast_model_destroy(m.ptr)
	m.ptr = nil
	runtime.SetFinalizer(m, nil)
}

// ConvertFile converts the model file input to output (written atomically), streaming external
// data: for models with external data or over 2 GB. nil options are the defaults.
func ConvertFile(input, output string, options *ConvertOptions, save *SaveOptions) (*Report,
	error) {
	if err := ensureABI(); err != nil {
		return nil, err
	}
	defer runtime.KeepAlive(options)
	defer runtime.KeepAlive(save)
	cin, cout := C.CString(input), C.CString(output)
	defer C.free(unsafe.Pointer(cin))
	defer C.free(unsafe.Pointer(cout))
	var report *C.halfcast_report
	err := check(C.halfcast_convert_file(cin, cout, options.cptr(), save.cptr(), &report))
	return fileResult(err, report, options.callbacks())
}

// AutoMixedPrecisionFile is AutoMixedPrecision from a file to a file (written atomically), for
// models with external data. save may be nil.
func AutoMixedPrecisionFile(input, output string, feeds *Feeds, options *MixedPrecisionOptions,
	save *SaveOptions) (*Report, error) {
	if err := ensureABI(); err != nil {
		return nil, err
	}
	defer runtime.KeepAlive(feeds)
	defer runtime.KeepAlive(options)
	defer runtime.KeepAlive(save)
	cin, cout := C.CString(input), C.CString(output)
	defer C.free(unsafe.Pointer(cin))
	defer C.free(unsafe.Pointer(cout))
	var report *C.halfcast_report
	err := check(C.halfcast_auto_convert_mixed_precision_file(cin, cout, feeds.ptr, options.ptr,
		save.cptr(), &report))
	return fileResult(err, report, options.cb)
}

func fileResult(err error, report *C.halfcast_report, cb *callbacks) (*Report, error) {
	if err != nil {
		cb.rethrow()
		return nil, err
	}
	r := newReport(report)
	if cb.pending() {
		r.Close()
		cb.rethrow()
	}
	return r, nil
}
