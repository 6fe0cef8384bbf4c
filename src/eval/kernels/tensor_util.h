// Helpers shared by the data-movement (tensor.cc) and reduction (reduction.cc) kernels: checked
// integer arithmetic, axis and integer-input reading, output allocation with size checks, type
// dispatch, and one strided copy engine that Slice, Transpose, Expand, Tile, DepthToSpace and
// SpaceToDepth all reduce to.
#ifndef HALFCAST_EVAL_KERNELS_TENSOR_UTIL_H_
#define HALFCAST_EVAL_KERNELS_TENSOR_UTIL_H_

#include <algorithm>
#include <cstdint>
#include <limits>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "eval/kernel.h"
#include "eval/kernels/dispatch.h"
#include "halfcast/tensor.h"
#include "numerics/float16.h"

namespace halfcast::eval::tensor_util {

// Kernels register up to this opset: a model newer than ONNX 1.12 runs with the newest known
// behaviour instead of being refused.
inline constexpr int kLatestOpset = std::numeric_limits<int>::max();

// ctx.Error's message (prefixed with the node) under a more specific status code.
inline absl::Status KernelError(const KernelContext& ctx, absl::StatusCode code,
                                std::string_view message) {
  return absl::Status(code, ctx.Error(message).message());
}

// acc += value and acc *= value. Integer arithmetic is checked: false on overflow (acc is then
// unspecified), so that a kernel reports an error rather than a wrapped value.
template <typename T>
bool AddInto(T& acc, T value) {
  if constexpr (std::is_integral_v<T>) return !__builtin_add_overflow(acc, value, &acc);
  acc += value;
  return true;
}
template <typename T>
bool MulInto(T& acc, T value) {
  if constexpr (std::is_integral_v<T>) return !__builtin_mul_overflow(acc, value, &acc);
  acc *= value;
  return true;
}

// `axis` in [-rank, rank) made non-negative.
inline absl::StatusOr<int64_t> NormalizeAxis(const KernelContext& ctx, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank) {
    return ctx.Error(absl::StrCat("axis ", axis, " is out of range for rank ", rank));
  }
  return axis < 0 ? axis + rank : axis;
}

// Distinct axes in [-rank, rank), made non-negative, in the given order.
inline absl::StatusOr<std::vector<int64_t>> NormalizeAxes(const KernelContext& ctx,
                                                          std::vector<int64_t> axes, int64_t rank) {
  std::vector<bool> seen(rank, false);
  for (int64_t& axis : axes) {
    if (axis < -rank || axis >= rank) {
      return ctx.Error(absl::StrCat("axis ", axis, " is out of range for rank ", rank));
    }
    if (axis < 0) axis += rank;
    if (seen[axis]) return ctx.Error(absl::StrCat("axis ", axis, " is repeated"));
    seen[axis] = true;
  }
  return axes;
}

// Calls f(T{}) with a type that moves elements of `type` exactly: an unsigned integer of the
// element's size, or std::string for string tensors.
template <typename F>
absl::Status DispatchMove(const KernelContext& ctx, DataType type, F&& f) {
  if (type == DataType::kString) return f(std::string{});
  return DispatchBySize(type, f, ctx.node().op_type().c_str());
}

// Element access that treats string tensors like the others.
template <typename T>
const T* Elements(const Tensor& t) {
  if constexpr (std::is_same_v<T, std::string>) {
    return t.strings().data();
  } else {
    return t.data<T>();
  }
}
template <typename T>
T* MutableElements(Tensor& t) {
  if constexpr (std::is_same_v<T, std::string>) {
    return t.mutable_strings().data();
  } else {
    return t.mutable_data<T>();
  }
}

// The values of an integer tensor (int32 or int64; with `allow_any_numeric` every numeric type,
// floats truncated toward zero as a cast would).
inline absl::StatusOr<std::vector<int64_t>> ReadInt64s(const KernelContext& ctx, const Tensor& t,
                                                       const char* what,
                                                       bool allow_any_numeric = false) {
  const int64_t n = t.element_count();
  std::vector<int64_t> values(n);
  auto convert_float = [&](auto read) -> absl::Status {
    for (int64_t i = 0; i < n; ++i) {
      const double v = read(i);
      if (!(v > -9.2e18 && v < 9.2e18)) {
        return ctx.Error(absl::StrCat(what, " value ", v, " is not a valid integer"));
      }
      values[i] = static_cast<int64_t>(v);
    }
    return absl::OkStatus();
  };
  absl::Status status;
  switch (t.type()) {
    case DataType::kInt64:
      std::copy_n(t.data<int64_t>(), n, values.begin());
      break;
    case DataType::kInt32:
      std::copy_n(t.data<int32_t>(), n, values.begin());
      break;
    default:
      if (!allow_any_numeric) {
        return ctx.Error(
            absl::StrCat(what, " must be int32 or int64, not ", DataTypeName(t.type())));
      }
      if (t.type() == DataType::kFloat16) {
        status =
            convert_float([&](int64_t i) { return numerics::HalfToFloat(t.data<uint16_t>()[i]); });
      } else if (t.type() == DataType::kBFloat16) {
        status = convert_float([&](int64_t i) {
          return numerics::BitsToFloat(static_cast<uint32_t>(t.data<uint16_t>()[i]) << 16);
        });
      } else if (t.type() == DataType::kFloat) {
        status = convert_float([&](int64_t i) { return t.data<float>()[i]; });
      } else if (t.type() == DataType::kDouble) {
        status = convert_float([&](int64_t i) { return t.data<double>()[i]; });
      } else if (t.type() == DataType::kUint64) {
        for (int64_t i = 0; i < n; ++i) {
          const uint64_t v = t.data<uint64_t>()[i];
          if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
            return ctx.Error(absl::StrCat(what, " value ", v, " does not fit in int64"));
          }
          values[i] = static_cast<int64_t>(v);
        }
      } else {
        status = DispatchNumeric(t.type(), [&](auto tag) {
          using T = decltype(tag);
          std::copy_n(t.data<T>(), n, values.begin());
          return absl::OkStatus();
        });
      }
  }
  if (!status.ok()) return status;
  return values;
}

// A single integer from a scalar or one-element tensor.
inline absl::StatusOr<int64_t> ReadScalarInt64(const KernelContext& ctx, const Tensor& t,
                                               const char* what, bool allow_any_numeric = false) {
  if (t.element_count() != 1) {
    return ctx.Error(absl::StrCat(what, " must have exactly one element, not ", t.element_count()));
  }
  absl::StatusOr<std::vector<int64_t>> values = ReadInt64s(ctx, t, what, allow_any_numeric);
  if (!values.ok()) return values.status();
  return (*values)[0];
}

// Product of shape[begin, end).
inline int64_t Product(const std::vector<int64_t>& shape, std::size_t begin, std::size_t end) {
  int64_t product = 1;
  for (std::size_t i = begin; i < end; ++i) product *= shape[i];
  return product;
}
inline int64_t Product(const std::vector<int64_t>& shape) {
  return Product(shape, 0, shape.size());
}

// Row-major strides in elements.
inline std::vector<int64_t> Strides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> strides(shape.size());
  int64_t stride = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= shape[i];
  }
  return strides;
}

// Fills `dst` (contiguous, row-major, of shape `shape`) with the elements
// src[offset + sum_k index_k * strides[k]]; strides are in elements and may be zero (broadcast)
// or negative (reversed). Adjacent dimensions that are contiguous in the source are merged so
// the innermost loop is a block copy or a fill whenever the layout allows.
template <typename T>
void StridedCopy(const T* src, int64_t offset, const std::vector<int64_t>& shape,
                 const std::vector<int64_t>& strides, T* dst) {
  // Nothing to copy if any dimension is 0 (checked first: the other dimensions' spans may then
  // overflow).
  if (std::find(shape.begin(), shape.end(), 0) != shape.end()) return;
  std::vector<int64_t> dims, steps;
  for (std::size_t k = 0; k < shape.size(); ++k) {
    if (shape[k] == 1) continue;
    if (!dims.empty() && steps.back() == strides[k] * shape[k]) {
      dims.back() *= shape[k];
      steps.back() = strides[k];
    } else {
      dims.push_back(shape[k]);
      steps.push_back(strides[k]);
    }
  }
  src += offset;
  if (dims.empty()) {
    *dst = *src;
    return;
  }
  const int outer_rank = static_cast<int>(dims.size()) - 1;
  const int64_t inner = dims.back();
  const int64_t inner_step = steps.back();
  const int64_t rows = Product(dims, 0, outer_rank);
  std::vector<int64_t> index(outer_rank, 0);
  for (int64_t row = 0; row < rows; ++row) {
    if (inner_step == 1) {
      std::copy_n(src, inner, dst);
    } else if (inner_step == 0) {
      std::fill_n(dst, inner, *src);
    } else {
      const T* p = src;
      for (int64_t i = 0; i < inner; ++i, p += inner_step) dst[i] = *p;
    }
    dst += inner;
    for (int k = outer_rank - 1; k >= 0; --k) {
      if (++index[k] < dims[k]) {
        src += steps[k];
        break;
      }
      src -= steps[k] * (dims[k] - 1);
      index[k] = 0;
    }
  }
}

// StridedCopy of a whole tensor of any type into a new tensor. The copy walks `view_shape`;
// the result has shape `out_shape` (same element count) when given, else `view_shape`.
inline absl::StatusOr<Tensor> StridedCopyTensor(
    const KernelContext& ctx, const Tensor& src, int64_t offset,
    const std::vector<int64_t>& view_shape, const std::vector<int64_t>& strides,
    std::optional<std::vector<int64_t>> out_shape = {}) {
  absl::StatusOr<Tensor> out =
      ctx.NewUninitializedTensor(src.type(), out_shape ? *out_shape : view_shape);
  if (!out.ok()) return out;
  absl::Status status = DispatchMove(ctx, src.type(), [&](auto tag) {
    using T = decltype(tag);
    StridedCopy(Elements<T>(src), offset, view_shape, strides, MutableElements<T>(*out));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

// `t` under a new shape of the same element count. The bytes are shared, not copied: a Reshape,
// Squeeze, Unsqueeze or Flatten costs no copy, and copy on write keeps the input intact if
// anyone writes to either tensor later.
inline absl::StatusOr<Tensor> Reshaped(const KernelContext& ctx, const Tensor& t,
                                       std::vector<int64_t> shape) {
  absl::StatusOr<Tensor> out = t.WithShape(std::move(shape));
  if (!out.ok()) return ctx.Error(std::string(out.status().message()));
  return out;
}

}  // namespace halfcast::eval::tensor_util

#endif  // HALFCAST_EVAL_KERNELS_TENSOR_UTIL_H_
