// Package halfcast converts ONNX models from float32 to float16 or bfloat16, whole or as mixed
// precision found under an accuracy bound, through halfcast's C ABI (libhalfcast_c, found with
// pkg-config).
//
// Every handle type has a Close method (idempotent) and a finalizer as a safety net; errors
// are *Error values carrying the library's Code and message; callbacks (log, validate,
// progress) are Go functions reached through cgo handles, and a panic in one never unwinds
// into C: the library is told to stop where it can, and the panic is raised again once the
// library call has returned. The first call that creates a handle checks that the loaded
// library implements the C ABI this package was written against (ABIVersion).
//
// Threading (the C API's statement): a handle is used by one goroutine at a time; distinct
// handles are independent, and a Model, Feeds or NamedTensors may be shared by goroutines that
// only read them (convert with them). Options with callbacks are used by one goroutine at a
// time.
//
//	model, err := halfcast.LoadModel("model.onnx")
//	if err != nil { ... }
//	defer model.Close()
//	options, _ := halfcast.NewConvertOptions()
//	defer options.Close()
//	options.SetBool(halfcast.OptionKeepIOTypes, true)
//	fp16, report, err := model.Convert(options)
//	if err != nil { ... }
//	defer fp16.Close()
//	defer report.Close()
//	err = fp16.Save("model.fp16.onnx")
package halfcast

/*
#cgo pkg-config: halfcast
#include "halfcast/halfcast_c.h"

// This package follows ABI 1; a header of another ABI is refused here, at build time.
#if HALFCAST_C_ABI_VERSION != 1
#error "halfcast_c.h describes another C ABI than this Go package (ABI 1); use matching versions"
#endif
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
)

// ABIVersion is the C ABI version this package was written against (HALFCAST_C_ABI_VERSION).
const ABIVersion = 1

// Version is the loaded library's version, "MAJOR.MINOR.PATCH".
func Version() string { return C.GoString(C.halfcast_version()) }

// LibraryABIVersion is the C ABI version of the libhalfcast_c loaded at run time.
func LibraryABIVersion() int { return int(C.halfcast_abi_version()) }

// CheckABIVersion returns nil when a library implementing C ABI found can serve this package,
// else the error every entry point returns (FailedPrecondition), naming both versions.
func CheckABIVersion(found int) error {
	if found == ABIVersion {
		return nil
	}
	return &Error{FailedPrecondition, fmt.Sprintf("halfcast: the loaded libhalfcast_c %s "+
		"implements C ABI version %d, this package needs %d (HALFCAST_C_ABI_VERSION); install "+
		"matching versions", Version(), found, ABIVersion)}
}

var abiOnce sync.Once
var abiErr error

// ensureABI checks the loaded library's ABI once; every function creating a handle calls it.
func ensureABI() error {
	abiOnce.Do(func() { abiErr = CheckABIVersion(LibraryABIVersion()) })
	return abiErr
}

// Code is what went wrong, as the C API's halfcast_status_code (absl::StatusCode's values).
type Code int

// The codes (pinned by the C header).
const (
	Cancelled          Code = C.HALFCAST_CANCELLED
	Unknown            Code = C.HALFCAST_UNKNOWN
	InvalidArgument    Code = C.HALFCAST_INVALID_ARGUMENT
	DeadlineExceeded   Code = C.HALFCAST_DEADLINE_EXCEEDED
	NotFound           Code = C.HALFCAST_NOT_FOUND
	AlreadyExists      Code = C.HALFCAST_ALREADY_EXISTS
	PermissionDenied   Code = C.HALFCAST_PERMISSION_DENIED
	ResourceExhausted  Code = C.HALFCAST_RESOURCE_EXHAUSTED
	FailedPrecondition Code = C.HALFCAST_FAILED_PRECONDITION
	Aborted            Code = C.HALFCAST_ABORTED
	OutOfRange         Code = C.HALFCAST_OUT_OF_RANGE
	Unimplemented      Code = C.HALFCAST_UNIMPLEMENTED
	Internal           Code = C.HALFCAST_INTERNAL
	Unavailable        Code = C.HALFCAST_UNAVAILABLE
	DataLoss           Code = C.HALFCAST_DATA_LOSS
	Unauthenticated    Code = C.HALFCAST_UNAUTHENTICATED
)

// String is the library's stable lower-case name of the code ("invalid_argument", ...).
func (c Code) String() string {
	return C.GoString(C.halfcast_status_code_name(C.halfcast_status_code(c)))
}

// Error is a failed halfcast call: the library's code and message.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s (%s)", e.Message, e.Code) }

// Is matches an *Error of the same code and an empty message, so that
// errors.Is(err, &halfcast.Error{Code: halfcast.NotFound}) tests the code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Code == e.Code
}

// CodeOf is the Code of a halfcast error in err's chain, Unknown for another error, and 0
// (OK) for nil.
func CodeOf(err error) Code {
	var e *Error
	switch {
	case err == nil:
		return 0
	case errors.As(err, &e):
		return e.Code
	default:
		return Unknown
	}
}

// check turns a status into an error, destroying the status.
func check(status *C.halfcast_status) error {
	if status == nil {
		return nil
	}
	defer C.halfcast_status_destroy(status)
	return &Error{Code(C.halfcast_status_code_of(status)), C.GoString(C.halfcast_status_message(status))}
}

func cBool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
