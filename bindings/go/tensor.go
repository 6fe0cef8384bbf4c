package halfcast

/*
#include <stdlib.h>
#include "halfcast/halfcast_c.h"
*/
import "C"

import (
	"math"
	"runtime"
	"unsafe"
)

// ElementType is a tensor element type, numbered as onnx.TensorProto.DataType.
type ElementType int

// The element types the C API supports.
const (
	Float    ElementType = C.HALFCAST_ELEMENT_FLOAT
	Uint8    ElementType = C.HALFCAST_ELEMENT_UINT8
	Int8     ElementType = C.HALFCAST_ELEMENT_INT8
	Uint16   ElementType = C.HALFCAST_ELEMENT_UINT16
	Int16    ElementType = C.HALFCAST_ELEMENT_INT16
	Int32    ElementType = C.HALFCAST_ELEMENT_INT32
	Int64    ElementType = C.HALFCAST_ELEMENT_INT64
	Bool     ElementType = C.HALFCAST_ELEMENT_BOOL
	Float16  ElementType = C.HALFCAST_ELEMENT_FLOAT16
	Double   ElementType = C.HALFCAST_ELEMENT_DOUBLE
	Uint32   ElementType = C.HALFCAST_ELEMENT_UINT32
	Uint64   ElementType = C.HALFCAST_ELEMENT_UINT64
	Bfloat16 ElementType = C.HALFCAST_ELEMENT_BFLOAT16
)

// Tensor is a dense tensor in C order owning a copy of its data.
type Tensor struct{ ptr *C.halfcast_tensor }

// NewTensor creates a tensor of type t and shape dims over data, the elements' bytes in host
// byte order (float16 and bfloat16 as uint16 bit patterns), which it copies. A size that does
// not match the shape, or an unsupported type, is InvalidArgument.
func NewTensor(t ElementType, dims []int64, data []byte) (*Tensor, error) {
	if err := ensureABI(); err != nil {
		return nil, err
	}
	var dimsPtr *C.int64_t
	if len(dims) > 0 {
		dimsPtr = (*C.int64_t)(unsafe.Pointer(&dims[0]))
	}
	var dataPtr unsafe.Pointer
	if len(data) > 0 {
		dataPtr = unsafe.Pointer(&data[0])
	}
	var ptr *C.halfcast_tensor
	if err := check(C.halfcast_tensor_create(C.halfcast_element_type(t), dimsPtr, C.size_t(len(dims)),
		dataPtr, C.size_t(len(data)), C.HALFCAST_TENSOR_COPY, &ptr)); err != nil {
		return nil, err
	}
	tensor := &Tensor{ptr}
	runtime.SetFinalizer(tensor, (*Tensor).Close)
	return tensor, nil
}

// Element is a Go type whose values are stored as a tensor element type.
type Element interface {
	float32 | float64 | int8 | uint8 | int16 | uint16 | int32 | int64 | uint32 | uint64 | bool
}

// elementTypeOf is the tensor element type of T.
func elementTypeOf[T Element]() ElementType {
	var zero T
	switch any(zero).(type) {
	case float32:
		return Float
	case float64:
		return Double
	case int8:
		return Int8
	case uint8:
		return Uint8
	case int16:
		return Int16
	case uint16:
		return Uint16
	case int32:
		return Int32
	case int64:
		return Int64
	case uint32:
		return Uint32
	case uint64:
		return Uint64
	default:
		return Bool
	}
}

// NewTensorOf creates a tensor of shape dims holding a copy of values, its element type that
// of T (uint16 is UINT16: create float16 tensors with NewTensor).
//
//	x, err := halfcast.NewTensorOf([]int64{1, 3}, []float32{0.5, 1, 2})
func NewTensorOf[T Element](dims []int64, values []T) (*Tensor, error) {
	var data []byte
	if len(values) > 0 {
		// The elements' bytes as they are in memory: host byte order, as the C API wants.
		size := int(unsafe.Sizeof(values[0]))
		data = unsafe.Slice((*byte)(unsafe.Pointer(&values[0])), size*len(values))
	}
	return NewTensor(elementTypeOf[T](), dims, data)
}

// View is a borrowed view of the tensor, valid until it is closed.
func (t *Tensor) View() TensorView { return TensorView{t.ptr} }

// Close frees the tensor; further calls do nothing.
func (t *Tensor) Close() {
	C.halfcast_tensor_destroy(t.ptr)
	t.ptr = nil
	runtime.SetFinalizer(t, nil)
}

// TensorView is a tensor borrowed from a Tensor, a NamedTensors or a callback's arguments,
// valid while its owner is (for a callback: during the call).
type TensorView struct{ ptr *C.halfcast_tensor }

// ElementType is the tensor's element type.
func (v TensorView) ElementType() ElementType {
	return ElementType(C.halfcast_tensor_element_type(v.ptr))
}

// Dims is a copy of the tensor's shape.
func (v TensorView) Dims() []int64 {
	rank := int(C.halfcast_tensor_rank(v.ptr))
	dims := make([]int64, rank)
	if rank > 0 {
		copy(dims, unsafe.Slice((*int64)(unsafe.Pointer(C.halfcast_tensor_dims(v.ptr))), rank))
	}
	return dims
}

// Len is the number of elements.
func (v TensorView) Len() int { return int(C.halfcast_tensor_element_count(v.ptr)) }

// Bytes is a copy of the elements' bytes (C order, host byte order).
func (v TensorView) Bytes() []byte {
	size := int(C.halfcast_tensor_byte_size(v.ptr))
	if size == 0 {
		return []byte{}
	}
	return C.GoBytes(C.halfcast_tensor_data(v.ptr), C.int(size))
}

// Float32s is a copy of the elements as float32 (float16, bfloat16 and double converted), or
// false for another type.
func (v TensorView) Float32s() ([]float32, bool) {
	n := v.Len()
	values := make([]float32, n)
	if n == 0 {
		return values, true
	}
	data := unsafe.Pointer(C.halfcast_tensor_data(v.ptr))
	switch v.ElementType() {
	case Float:
		copy(values, unsafe.Slice((*float32)(data), n))
	case Double:
		for i, d := range unsafe.Slice((*float64)(data), n) {
			values[i] = float32(d)
		}
	case Float16:
		for i, h := range unsafe.Slice((*uint16)(data), n) {
			values[i] = HalfToFloat32(h)
		}
	case Bfloat16:
		for i, h := range unsafe.Slice((*uint16)(data), n) {
			values[i] = math.Float32frombits(uint32(h) << 16)
		}
	default:
		return nil, false
	}
	return values, true
}

// HalfToFloat32 is the value of a float16 bit pattern (exact: every half is a float32).
func HalfToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exponent, mantissa := uint32(h>>10)&0x1f, uint32(h&0x3ff)
	switch exponent {
	case 0: // zero and subnormals: mantissa * 2^-24
		value := float32(math.Ldexp(float64(mantissa), -24))
		return math.Float32frombits(sign | math.Float32bits(value))
	case 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mantissa<<13)
	default:
		return math.Float32frombits(sign | (exponent+112)<<23 | mantissa<<13)
	}
}

// NamedTensors is a set of tensors by name, ordered by name (byte-wise): one run's inputs.
type NamedTensors struct{ ptr *C.halfcast_named_tensors }

// NewNamedTensors creates an empty set.
func NewNamedTensors() (*NamedTensors, error) {
	if err := ensureABI(); err != nil {
		return nil, err
	}
	var ptr *C.halfcast_named_tensors
	if err := check(C.halfcast_named_tensors_create(&ptr)); err != nil {
		return nil, err
	}
	set := &NamedTensors{ptr}
	runtime.SetFinalizer(set, (*NamedTensors).Close)
	return set, nil
}

// Add adds tensor under name (the set shares its data; the tensor may be closed after). A
// name already present is AlreadyExists.
func (s *NamedTensors) Add(name string, tensor *Tensor) error {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	defer runtime.KeepAlive(s)
	defer runtime.KeepAlive(tensor)
	return check(C.halfcast_named_tensors_add(s.ptr, cname, tensor.ptr))
}

// View is a borrowed view of the set, valid until it is closed.
func (s *NamedTensors) View() TensorSet { return TensorSet{s.ptr} }

// Close frees the set; further calls do nothing.
func (s *NamedTensors) Close() {
	C.halfcast_named_tensors_destroy(s.ptr)
	s.ptr = nil
	runtime.SetFinalizer(s, nil)
}

// TensorSet is a named tensor set borrowed from a NamedTensors or a callback's arguments,
// valid while its owner is (for a callback: during the call).
type TensorSet struct{ ptr *C.halfcast_named_tensors }

// Len is the number of tensors.
func (s TensorSet) Len() int { return int(C.halfcast_named_tensors_count(s.ptr)) }

// Name is the name of tensor i (0 <= i < Len), in name order.
func (s TensorSet) Name(i int) string {
	return C.GoString(C.halfcast_named_tensors_name(s.ptr, C.size_t(i)))
}

// Tensor is tensor i (0 <= i < Len).
func (s TensorSet) Tensor(i int) TensorView {
	return TensorView{C.halfcast_named_tensors_tensor(s.ptr, C.size_t(i))}
}

// Find is the tensor named name, if present.
func (s TensorSet) Find(name string) (TensorView, bool) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	tensor := C.halfcast_named_tensors_find(s.ptr, cname)
	return TensorView{tensor}, tensor != nil
}

// Feeds are test inputs for mixed precision: one NamedTensors per run of the model.
type Feeds struct{ ptr *C.halfcast_feeds }

// NewFeeds creates feeds holding the given runs' inputs (sharing their tensors' data).
func NewFeeds(runs ...*NamedTensors) (*Feeds, error) {
	if err := ensureABI(); err != nil {
		return nil, err
	}
	var ptr *C.halfcast_feeds
	if err := check(C.halfcast_feeds_create(&ptr)); err != nil {
		return nil, err
	}
	feeds := &Feeds{ptr}
	runtime.SetFinalizer(feeds, (*Feeds).Close)
	for _, run := range runs {
		if err := feeds.Add(run); err != nil {
			feeds.Close()
			return nil, err
		}
	}
	return feeds, nil
}

// Add appends one run's inputs.
func (f *Feeds) Add(run *NamedTensors) error {
	defer runtime.KeepAlive(f)
	defer runtime.KeepAlive(run)
	return check(C.halfcast_feeds_add(f.ptr, run.ptr))
}

// Len is the number of runs.
func (f *Feeds) Len() int {
	defer runtime.KeepAlive(f)
	return int(C.halfcast_feeds_count(f.ptr))
}

// Close frees the feeds; further calls do nothing.
func (f *Feeds) Close() {
	C.halfcast_feeds_destroy(f.ptr)
	f.ptr = nil
	runtime.SetFinalizer(f, nil)
}
