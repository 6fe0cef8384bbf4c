// Type dispatch for kernels: call a generic lambda with a value of the C++ type of a DataType.
//
//   return DispatchNumeric(x.type(), [&](auto tag) -> absl::Status {
//     using T = decltype(tag);
//     const T* in = x.data<T>();
//     ...
//   });
//
// 16-bit floats reach ordinary kernels as float32 (kernel.h), so the numeric sets hold no float16;
// data movement kernels dispatch by element size with DispatchBySize.
#ifndef HALFCAST_EVAL_KERNELS_DISPATCH_H_
#define HALFCAST_EVAL_KERNELS_DISPATCH_H_

#include <cstdint>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "halfcast/tensor.h"

namespace halfcast::eval {

template <typename T>
struct DataTypeOf;
template <> struct DataTypeOf<float> { static constexpr DataType value = DataType::kFloat; };
template <> struct DataTypeOf<double> { static constexpr DataType value = DataType::kDouble; };
template <> struct DataTypeOf<int8_t> { static constexpr DataType value = DataType::kInt8; };
template <> struct DataTypeOf<int16_t> { static constexpr DataType value = DataType::kInt16; };
template <> struct DataTypeOf<int32_t> { static constexpr DataType value = DataType::kInt32; };
template <> struct DataTypeOf<int64_t> { static constexpr DataType value = DataType::kInt64; };
template <> struct DataTypeOf<uint8_t> { static constexpr DataType value = DataType::kUint8; };
template <> struct DataTypeOf<uint16_t> { static constexpr DataType value = DataType::kUint16; };
template <> struct DataTypeOf<uint32_t> { static constexpr DataType value = DataType::kUint32; };
template <> struct DataTypeOf<uint64_t> { static constexpr DataType value = DataType::kUint64; };
template <> struct DataTypeOf<bool> { static constexpr DataType value = DataType::kBool; };
template <typename T>
inline constexpr DataType kDataTypeOf = DataTypeOf<T>::value;

inline absl::Status UnsupportedType(DataType type, const char* what) {
  return absl::UnimplementedError(
      absl::StrCat(what, " does not support element type ", DataTypeName(type)));
}

// float and double.
template <typename Fn>
absl::Status DispatchFloat(DataType type, Fn&& fn, const char* what = "this op") {
  switch (type) {
    case DataType::kFloat: return fn(float{});
    case DataType::kDouble: return fn(double{});
    default: return UnsupportedType(type, what);
  }
}

// Signed and unsigned integers.
template <typename Fn>
absl::Status DispatchInteger(DataType type, Fn&& fn, const char* what = "this op") {
  switch (type) {
    case DataType::kInt8: return fn(int8_t{});
    case DataType::kInt16: return fn(int16_t{});
    case DataType::kInt32: return fn(int32_t{});
    case DataType::kInt64: return fn(int64_t{});
    case DataType::kUint8: return fn(uint8_t{});
    case DataType::kUint16: return fn(uint16_t{});
    case DataType::kUint32: return fn(uint32_t{});
    case DataType::kUint64: return fn(uint64_t{});
    default: return UnsupportedType(type, what);
  }
}

// float, double and the integers.
template <typename Fn>
absl::Status DispatchNumeric(DataType type, Fn&& fn, const char* what = "this op") {
  if (type == DataType::kFloat) return fn(float{});
  if (type == DataType::kDouble) return fn(double{});
  return DispatchInteger(type, fn, what);
}

// Numeric types and bool.
template <typename Fn>
absl::Status DispatchNumericOrBool(DataType type, Fn&& fn, const char* what = "this op") {
  if (type == DataType::kBool) return fn(bool{});
  return DispatchNumeric(type, fn, what);
}

// An unsigned integer of the element's size: for kernels that only move elements.
template <typename Fn>
absl::Status DispatchBySize(DataType type, Fn&& fn, const char* what = "this op") {
  switch (ElementSize(type)) {
    case 1: return fn(uint8_t{});
    case 2: return fn(uint16_t{});
    case 4: return fn(uint32_t{});
    case 8: return fn(uint64_t{});
    default: return UnsupportedType(type, what);
  }
}

inline bool Is16BitFloat(DataType type) {
  return type == DataType::kFloat16 || type == DataType::kBFloat16;
}

}  // namespace halfcast::eval

#endif  // HALFCAST_EVAL_KERNELS_DISPATCH_H_
