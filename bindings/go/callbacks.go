package halfcast

/*
#include <stdint.h>
#include <stdlib.h>
#include "halfcast/halfcast_c.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/cgo"
	"unsafe"
)

// LogLevel is the importance of a log message.
type LogLevel int

// The log levels.
const (
	LogDebug   LogLevel = C.HALFCAST_LOG_DEBUG
	LogInfo    LogLevel = C.HALFCAST_LOG_INFO
	LogWarning LogLevel = C.HALFCAST_LOG_WARNING
	LogError   LogLevel = C.HALFCAST_LOG_ERROR
)

func (l LogLevel) String() string {
	switch l {
	case LogDebug:
		return "debug"
	case LogInfo:
		return "info"
	case LogWarning:
		return "warning"
	default:
		return "error"
	}
}

// LogFunc receives what the library has to say (it never prints), on the converting goroutine.
type LogFunc func(level LogLevel, message string)

// ValidateFunc judges a mixed-precision candidate: reference holds the float32 model's outputs,
// candidate the converted model's, both by output name and valid during the call only. It
// returns true to accept.
type ValidateFunc func(reference, candidate TensorSet) bool

// ProgressFunc is called after each attempt of a mixed-precision search, with a view valid
// during the call; it returns true to go on, false to cancel the search (Cancelled).
type ProgressFunc func(progress Progress) bool

// EvaluateFunc runs a model in the caller's runtime instead of the built-in CPU evaluator:
// model is a serialized self-contained model and feeds one run's inputs, both valid during the
// call only (copy model to keep it). It adds the graph outputs it computed to outputs (extra
// outputs the model lists for intermediate values are optional) and returns nil, or an error
// that ends the search: an *Error keeps its code, any other error is Unknown.
type EvaluateFunc func(model []byte, feeds TensorSet, outputs EvaluatorOutputs) error

// EvaluatorOutputs is where an EvaluateFunc puts the outputs it computed (a set the library
// owns, valid during the call).
type EvaluatorOutputs struct{ ptr *C.halfcast_named_tensors }

// Add adds tensor as the output name (the library shares or copies its data; the tensor may be
// closed after).
func (o EvaluatorOutputs) Add(name string, tensor *Tensor) error {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	defer runtime.KeepAlive(tensor)
	return check(C.halfcast_named_tensors_add(o.ptr, cname, tensor.ptr))
}

// SegmentState says whether a segment of the search holds float16 nodes.
type SegmentState int

// The segment states.
const (
	SegmentUntried SegmentState = C.HALFCAST_SEGMENT_UNTRIED
	SegmentGood    SegmentState = C.HALFCAST_SEGMENT_GOOD
	SegmentBad     SegmentState = C.HALFCAST_SEGMENT_BAD
)

// Segment is a run of consecutive top-level nodes the search treats as one.
type Segment struct {
	Begin, Size int // position of the first top-level node, number of nodes
	State       SegmentState
}

// Progress is the state of a mixed-precision search after an attempt.
type Progress struct{ ptr *C.halfcast_progress }

// Evaluations is the number of model runs so far.
func (p Progress) Evaluations() int64 { return int64(C.halfcast_progress_evaluations(p.ptr)) }

// ElapsedSeconds is the time the search has taken so far.
func (p Progress) ElapsedSeconds() float64 {
	return float64(C.halfcast_progress_elapsed_seconds(p.ptr))
}

// Segments are the search's segments in graph order.
func (p Progress) Segments() []Segment {
	count := int(C.halfcast_progress_segment_count(p.ptr))
	segments := make([]Segment, 0, count)
	for i := 0; i < count; i++ {
		var begin, size C.size_t
		var state C.halfcast_segment_state
		if C.halfcast_progress_segment(p.ptr, C.size_t(i), &begin, &size, &state) != 0 {
			segments = append(segments, Segment{int(begin), int(size), SegmentState(state)})
		}
	}
	return segments
}

// Text shows the segments as onnxconverter-common prints them: good sizes in *stars*, bad in
// (parentheses), untried plain.
func (p Progress) Text() string { return C.GoString(C.halfcast_progress_text(p.ptr)) }

// callbacks are the Go functions registered with one options object, reached from C through
// a cgo.Handle, and the panic one of them raised during the current call.
type callbacks struct {
	handle   cgo.Handle
	log      LogFunc
	validate ValidateFunc
	progress ProgressFunc
	evaluate EvaluateFunc
	panicked bool
	panic    any
}

func newCallbacks() *callbacks {
	c := &callbacks{}
	c.handle = cgo.NewHandle(c)
	return c
}

// run calls f unless an earlier callback of this call panicked; a panic is recovered (it
// must not unwind into C) and kept for rethrow. It reports whether f returned normally.
func (c *callbacks) run(f func()) (ok bool) {
	if c.panicked {
		return false
	}
	defer func() {
		if r := recover(); r != nil {
			c.panicked, c.panic, ok = true, r, false
		}
	}()
	f()
	return true
}

// rethrow raises again, on the Go side, a panic a callback raised during the last call.
func (c *callbacks) rethrow() {
	if c != nil && c.panicked {
		p := c.panic
		c.panicked, c.panic = false, nil
		panic(p)
	}
}

func (c *callbacks) pending() bool { return c != nil && c.panicked }

func (c *callbacks) release() {
	if c != nil {
		c.handle.Delete()
	}
}

func callbacksOf(handle C.uintptr_t) *callbacks { return cgo.Handle(handle).Value().(*callbacks) }

//export halfcastGoLog
func halfcastGoLog(level C.halfcast_log_level, message *C.char, handle C.uintptr_t) {
	c := callbacksOf(handle)
	text := C.GoString(message)
	c.run(func() { c.log(LogLevel(level), text) })
}

//export halfcastGoValidate
func halfcastGoValidate(reference, candidate *C.halfcast_named_tensors, handle C.uintptr_t) C.int {
	c := callbacksOf(handle)
	result := C.int(-1) // an error: the search stops with Aborted
	c.run(func() {
		result = cBool(c.validate(TensorSet{reference}, TensorSet{candidate}))
	})
	return result
}

//export halfcastGoProgress
func halfcastGoProgress(progress *C.halfcast_progress, handle C.uintptr_t) C.int {
	c := callbacksOf(handle)
	result := C.int(1) // cancel
	c.run(func() { result = cBool(!c.progress(Progress{progress})) })
	return result
}

//export halfcastGoEvaluate
func halfcastGoEvaluate(model unsafe.Pointer, size C.size_t, feeds, outputs *C.halfcast_named_tensors,
	handle C.uintptr_t) *C.halfcast_status {
	c := callbacksOf(handle)
	// A panic (raised again after the call) or a re-entered call stops the search: Aborted.
	err := error(&Error{Aborted, "the evaluate function panicked"})
	c.run(func() {
		err = c.evaluate(unsafe.Slice((*byte)(model), int(size)), TensorSet{feeds},
			EvaluatorOutputs{outputs})
	})
	if err == nil {
		return nil
	}
	code, message := Unknown, err.Error()
	var e *Error
	if errors.As(err, &e) {
		code, message = e.Code, e.Message
		if e != err {
			message = fmt.Sprintf("%v", err)
		}
	}
	cmessage := C.CString(message)
	defer C.free(unsafe.Pointer(cmessage))
	return C.halfcast_status_create(C.halfcast_status_code(code), cmessage)
}
