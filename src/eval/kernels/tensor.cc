// Shape and data-movement kernels. Most only move elements, so they are registered with
// exact_16bit and float16/bfloat16 pass through bit for bit; the scatters can add or multiply
// and so take the runner's float32 emulation instead.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "eval/kernel.h"
#include "eval/kernels/dispatch.h"
#include "eval/kernels/tensor_util.h"

namespace halfcast::eval {
namespace {

using tensor_util::DispatchMove;
using tensor_util::Elements;
using tensor_util::KernelError;
using tensor_util::MutableElements;
using tensor_util::NormalizeAxes;
using tensor_util::NormalizeAxis;
using tensor_util::Product;
using tensor_util::ReadInt64s;
using tensor_util::ReadScalarInt64;
using tensor_util::Reshaped;
using tensor_util::StridedCopyTensor;
using tensor_util::Strides;
using Shape = std::vector<int64_t>;

absl::Status IndexError(const KernelContext& ctx, int64_t value, int64_t dim) {
  return KernelError(
      ctx, absl::StatusCode::kOutOfRange,
      absl::StrCat("index ", value, " is out of range for a dimension of size ", dim));
}

// `value` in [-dim, dim) made non-negative, or an OutOfRange error.
absl::StatusOr<int64_t> CheckIndex(const KernelContext& ctx, int64_t value, int64_t dim) {
  if (value < -dim || value >= dim) return IndexError(ctx, value, dim);
  return value < 0 ? value + dim : value;
}

// Axes given as an attribute before `input_opset` and as optional input `input_index` from it.
absl::StatusOr<std::optional<Shape>> AxesArgument(KernelContext& ctx, int input_opset,
                                                  int input_index) {
  if (ctx.opset() >= input_opset) {
    const Tensor* axes = ctx.input(input_index);
    if (axes == nullptr) return std::optional<Shape>();
    HALFCAST_ASSIGN_OR_RETURN(Shape values, ReadInt64s(ctx, *axes, "axes"));
    return std::optional<Shape>(std::move(values));
  }
  if (!ctx.HasAttribute("axes")) return std::optional<Shape>();
  return std::optional<Shape>(ctx.GetInts("axes"));
}

absl::Status Reshape(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* data, ctx.RequiredInput(0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* shape_input, ctx.RequiredInput(1));
  HALFCAST_ASSIGN_OR_RETURN(Shape shape, ReadInt64s(ctx, *shape_input, "shape"));
  const bool allow_zero = ctx.opset() >= 14 && ctx.GetInt("allowzero", 0) != 0;
  const Shape& in = data->shape();
  int inferred = -1;
  int64_t known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0 && !allow_zero) {
      if (i >= in.size()) {
        return ctx.Error(absl::StrCat("shape[", i, "] is 0 but the input has rank ", in.size()));
      }
      shape[i] = in[i];
    }
    if (shape[i] == -1) {
      if (inferred >= 0) return ctx.Error("shape has more than one -1");
      inferred = static_cast<int>(i);
      continue;
    }
    if (shape[i] < 0) return ctx.Error(absl::StrCat("shape[", i, "] is ", shape[i]));
    if (__builtin_mul_overflow(known, shape[i], &known)) {
      return KernelError(ctx, absl::StatusCode::kOutOfRange, "shape element count overflows");
    }
  }
  const int64_t count = data->element_count();
  if (inferred >= 0) {
    if (known == 0 || count % known != 0) {
      return ctx.Error(absl::StrCat("cannot infer the -1 dimension: ", count,
                                    " elements are not a multiple of ", known));
    }
    shape[inferred] = count / known;
  } else if (known != count) {
    return ctx.Error(absl::StrCat("cannot reshape ", count, " elements to ", known));
  }
  HALFCAST_ASSIGN_OR_RETURN(Tensor out, Reshaped(ctx, *data, std::move(shape)));
  ctx.set_output(0, std::move(out));
  return absl::OkStatus();
}

absl::Status ShapeOp(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* data, ctx.RequiredInput(0));
  const int64_t rank = static_cast<int64_t>(data->shape().size());
  int64_t start = 0, end = rank;
  if (ctx.opset() >= 15) {
    auto clamp = [rank](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + rank : v, 0, rank); };
    start = clamp(ctx.GetInt("start", 0));
    end = clamp(ctx.GetInt("end", rank));
  }
  const int64_t n = std::max<int64_t>(end - start, 0);
  HALFCAST_ASSIGN_OR_RETURN(Tensor out, ctx.NewTensor(DataType::kInt64, {n}));
  std::copy_n(data->shape().begin() + start, n, out.mutable_data<int64_t>());
  ctx.set_output(0, std::move(out));
  return absl::OkStatus();
}

absl::Status Size(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* data, ctx.RequiredInput(0));
  HALFCAST_ASSIGN_OR_RETURN(Tensor out, ctx.NewTensor(DataType::kInt64, {}));
  *out.mutable_data<int64_t>() = data->element_count();
  ctx.set_output(0, std::move(out));
  return absl::OkStatus();
}

absl::Status Concat(KernelContext& ctx) {
  if (ctx.input_count() == 0) return ctx.Error("needs at least one input");
  std::vector<const Tensor*> inputs;
  for (int i = 0; i < ctx.input_count(); ++i) {
    HALFCAST_ASSIGN_OR_RETURN(const Tensor* input, ctx.RequiredInput(i));
    inputs.push_back(input);
  }
  if (!ctx.HasAttribute("axis")) return ctx.Error("attribute 'axis' is required");
  const Shape& first = inputs[0]->shape();
  const int64_t rank = static_cast<int64_t>(first.size());
  HALFCAST_ASSIGN_OR_RETURN(const int64_t axis, NormalizeAxis(ctx, ctx.GetInt("axis", 0), rank));
  Shape out_shape = first;
  out_shape[axis] = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Shape& shape = inputs[i]->shape();
    if (inputs[i]->type() != inputs[0]->type()) {
      return ctx.Error(absl::StrCat("input ", i, " is ", DataTypeName(inputs[i]->type()),
                                    ", input 0 is ", DataTypeName(inputs[0]->type())));
    }
    bool compatible = static_cast<int64_t>(shape.size()) == rank;
    for (int64_t k = 0; compatible && k < rank; ++k) {
      compatible = k == axis || shape[k] == first[k];
    }
    if (!compatible) {
      return ctx.Error(absl::StrCat("input ", i, " has a shape incompatible with input 0 along ",
                                    "the axes other than ", axis));
    }
    out_shape[axis] += shape[axis];
  }
  HALFCAST_ASSIGN_OR_RETURN(Tensor out, ctx.NewUninitializedTensor(inputs[0]->type(), out_shape));
  const int64_t outer = Product(first, 0, axis);
  HALFCAST_RETURN_IF_ERROR(DispatchMove(ctx, out.type(), [&](auto tag) {
    using T = decltype(tag);
    T* dst = MutableElements<T>(out);
    for (int64_t o = 0; o < outer; ++o) {
      for (const Tensor* input : inputs) {
        const int64_t block = Product(input->shape(), axis, rank);
        dst = std::copy_n(Elements<T>(*input) + o * block, block, dst);
      }
    }
    return absl::OkStatus();
  }));
  ctx.set_output(0, std::move(out));
  return absl::OkStatus();
}

absl::Status Split(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* input, ctx.RequiredInput(0));
  const Shape& shape = input->shape();
  const int64_t rank = static_cast<int64_t>(shape.size());
  HALFCAST_ASSIGN_OR_RETURN(const int64_t axis, NormalizeAxis(ctx, ctx.GetInt("axis", 0), rank));
  const int64_t dim = shape[axis];
  const int64_t n = ctx.output_count();
  if (n == 0) return ctx.Error("has no outputs");
  Shape sizes;
  if (ctx.opset() >= 13) {
    if (const Tensor* split = ctx.input(1)) {
      HALFCAST_ASSIGN_OR_RETURN(sizes, ReadInt64s(ctx, *split, "split"));
    }
  } else {
    sizes = ctx.GetInts("split");
  }
  if (sizes.empty()) {
    if (ctx.opset() >= 18 && ctx.HasAttribute("num_outputs")) {
      if (ctx.GetInt("num_outputs", 0) != n) {
        return ctx.Error(absl::StrCat("num_outputs is ", ctx.GetInt("num_outputs", 0),
                                      " but the node has ", n, " outputs"));
      }
      // From opset 18 the last part may be smaller: parts of ceil(dim / n).
      const int64_t part = (dim + n - 1) / n;
      sizes.assign(n, part);
      sizes.back() = dim - part * (n - 1);
    } else if (dim % n != 0) {
      return ctx.Error(absl::StrCat("dimension ", dim, " does not split into ", n, " equal parts"));
    } else {
      sizes.assign(n, dim / n);
    }
  }
  if (static_cast<int64_t>(sizes.size()) != n) {
    return ctx.Error(absl::StrCat("split has ", sizes.size(), " sizes for ", n, " outputs"));
  }
  int64_t total = 0;
  for (int64_t size : sizes) {
    if (size < 0) return ctx.Error(absl::StrCat("split size ", size, " is negative"));
    total += size;
  }
  if (total != dim) {
    return ctx.Error(absl::StrCat("split sizes add up to ", total, ", not dimension ", dim));
  }
  const int64_t outer = Product(shape, 0, axis);
  const int64_t inner = Product(shape, axis + 1, rank);
  int64_t start = 0;
  for (int64_t j = 0; j < n; ++j) {
    Shape out_shape = shape;
    out_shape[axis] = sizes[j];
    HALFCAST_ASSIGN_OR_RETURN(Tensor out, ctx.NewTensor(input->type(), out_shape));
    const int64_t block = sizes[j] * inner;
    HALFCAST_RETURN_IF_ERROR(DispatchMove(ctx, out.type(), [&](auto tag) {
      using T = decltype(tag);
      const T* src = Elements<T>(*input) + start * inner;
      T* dst = MutableElements<T>(out);
      for (int64_t o = 0; o < outer; ++o)
        std::copy_n(src + o * dim * inner, block, dst + o * block);
      return absl::OkStatus();
    }));
    ctx.set_output(j, std::move(out));
    start += sizes[j];
  }
  return absl::OkStatus();
}

absl::Status Slice(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* data, ctx.RequiredInput(0));
  Shape starts, ends, axes, steps;
  bool has_axes = false;
  if (ctx.opset() < 10) {
    starts = ctx.GetInts("starts");
    ends = ctx.GetInts("ends");
    has_axes = ctx.HasAttribute("axes");
    axes = ctx.GetInts("axes");
  } else {
    HALFCAST_ASSIGN_OR_RETURN(const Tensor* starts_input, ctx.RequiredInput(1));
    HALFCAST_ASSIGN_OR_RETURN(const Tensor* ends_input, ctx.RequiredInput(2));
    HALFCAST_ASSIGN_OR_RETURN(starts, ReadInt64s(ctx, *starts_input, "starts"));
    HALFCAST_ASSIGN_OR_RETURN(ends, ReadInt64s(ctx, *ends_input, "ends"));
    if (const Tensor* axes_input = ctx.input(3)) {
      has_axes = true;
      HALFCAST_ASSIGN_OR_RETURN(axes, ReadInt64s(ctx, *axes_input, "axes"));
    }
    if (const Tensor* steps_input = ctx.input(4)) {
      HALFCAST_ASSIGN_OR_RETURN(steps, ReadInt64s(ctx, *steps_input, "steps"));
    }
  }
  const Shape& shape = data->shape();
  const int64_t rank = static_cast<int64_t>(shape.size());
  const size_t n = starts.size();
  if (!has_axes) {
    axes.resize(n);
    for (size_t i = 0; i < n; ++i) axes[i] = static_cast<int64_t>(i);
  }
  if (steps.empty()) steps.assign(n, 1);
  if (ends.size() != n || axes.size() != n || steps.size() != n) {
    return ctx.Error(absl::StrCat("starts, ends, axes and steps have ", n, ", ", ends.size(), ", ",
                                  axes.size(), " and ", steps.size(), " elements"));
  }
  HALFCAST_ASSIGN_OR_RETURN(axes, NormalizeAxes(ctx, std::move(axes), rank));
  const Shape in_strides = Strides(shape);
  Shape out_shape = shape;
  Shape strides = in_strides;
  int64_t offset = 0;
  for (size_t i = 0; i < n; ++i) {
    const int64_t axis = axes[i], dim = shape[axis], step = steps[i];
    if (step == 0) return ctx.Error(absl::StrCat("step for axis ", axis, " is 0"));
    int64_t start = starts[i] < 0 ? starts[i] + dim : starts[i];
    int64_t end = ends[i] < 0 ? ends[i] + dim : ends[i];
    int64_t count;
    if (step > 0) {
      start = std::clamp<int64_t>(start, 0, dim);
      end = std::clamp<int64_t>(end, 0, dim);
      count = end > start ? (end - start - 1) / step + 1 : 0;
    } else {
      start = std::clamp<int64_t>(start, -1, dim - 1);
      end = std::clamp<int64_t>(end, -1, dim - 1);
      count = start > end ? (start - end - 1) / -step + 1 : 0;
    }
    out_shape[axis] = count;
    strides[axis] = in_strides[axis] * step;
    if (count > 0) offset += start * in_strides[axis];
  }
  HALFCAST_ASSIGN_OR_RETURN(Tensor out, StridedCopyTensor(ctx, *data, offset, out_shape, strides));
  ctx.set_output(0, std::move(out));
  return absl::OkStatus();
}

// Selects entries `indices` (checked, non-negative) of `axis` from `data` viewed with `shape`;
// the axis is replaced by `index_shape` in the result.
absl::StatusOr<Tensor> GatherAlongAxis(const KernelContext& ctx, const Tensor& data,
                                       const Shape& shape, int64_t axis, const Shape& indices,
                                       const Shape& index_shape) {
  Shape out_shape(shape.begin(), shape.begin() + axis);
  out_shape.insert(out_shape.end(), index_shape.begin(), index_shape.end());
  out_shape.insert(out_shape.end(), shape.begin() + axis + 1, shape.end());
  HALFCAST_ASSIGN_OR_RETURN(Tensor out, ctx.NewTensor(data.type(), out_shape));
  const int64_t outer = Product(shape, 0, axis);
  const int64_t dim = shape[axis];
  const int64_t inner = Product(shape, axis + 1, shape.size());
  HALFCAST_RETURN_IF_ERROR(DispatchMove(ctx, data.type(), [&](auto tag) {
    using T = decltype(tag);
    const T* src = Elements<T>(data);
    T* dst = MutableElements<T>(out);
    for (int64_t o = 0; o < outer; ++o) {
      const T* block = src + o * dim * inner;
      if (inner == 1) {
        for (int64_t index : indices) *dst++ = block[index];
      } else {
        for (int64_t index : indices) dst = std::copy_n(block + index * inner, inner, dst);
      }
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::Status Gather(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* data, ctx.RequiredInput(0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* indices, ctx.RequiredInput(1));
  const Shape& shape = data->shape();
  HALFCAST_ASSIGN_OR_RETURN(const int64_t axis,
                            NormalizeAxis(ctx, ctx.GetInt("axis", 0), shape.size()));
  HALFCAST_ASSIGN_OR_RETURN(Shape index_values, ReadInt64s(ctx, *indices, "indices"));
  for (int64_t& index : index_values) {
    HALFCAST_ASSIGN_OR_RETURN(index, CheckIndex(ctx, index, shape[axis]));
  }
  HALFCAST_ASSIGN_OR_RETURN(
      Tensor out, GatherAlongAxis(ctx, *data, shape, axis, index_values, indices->shape()));
  ctx.set_output(0, std::move(out));
  return absl::OkStatus();
}

// Compress: the slices along `axis` (of the flattened input without one) whose condition is
// true; a condition shorter than the axis drops the rest.
absl::Status Compress(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* data, ctx.RequiredInput(0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* condition, ctx.RequiredInput(1));
  if (condition->type() != DataType::kBool || condition->shape().size() != 1) {
    return ctx.Error("condition must be a 1-D bool tensor");
  }
  Shape shape = data->shape();
  int64_t axis = 0;
  if (ctx.HasAttribute("axis")) {
    HALFCAST_ASSIGN_OR_RETURN(axis, NormalizeAxis(ctx, ctx.GetInt("axis", 0), shape.size()));
  } else {
    shape = {data->element_count()};
  }
  Shape selected;
  const uint8_t* flags = condition->data<uint8_t>();
  for (int64_t i = 0; i < condition->element_count(); ++i) {
    if (!flags[i]) continue;
    if (i >= shape[axis]) {
      return ctx.Error(
          absl::StrCat("condition selects index ", i, " of an axis of size ", shape[axis]));
    }
    selected.push_back(i);
  }
  const int64_t count = static_cast<int64_t>(selected.size());
  HALFCAST_ASSIGN_OR_RETURN(Tensor out,
                            GatherAlongAxis(ctx, *data, shape, axis, selected, {count}));
  ctx.set_output(0, std::move(out));
  return absl::OkStatus();
}

// ReverseSequence: reverses the first sequence_lens[b] steps along time_axis of each batch b.
absl::Status ReverseSequence(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* data, ctx.RequiredInput(0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* lens_input, ctx.RequiredInput(1));
  const Shape& shape = data->shape();
  if (shape.size() < 2) return ctx.Error("input must have rank >= 2");
  const int64_t batch_axis = ctx.GetInt("batch_axis", 1), time_axis = ctx.GetInt("time_axis", 0);
  if (!((batch_axis == 0 && time_axis == 1) || (batch_axis == 1 && time_axis == 0))) {
    return ctx.Error("batch_axis and time_axis must be 0 and 1 in some order");
  }
  HALFCAST_ASSIGN_OR_RETURN(const Shape lens, ReadInt64s(ctx, *lens_input, "sequence_lens"));
  const int64_t batches = shape[batch_axis], steps = shape[time_axis];
  if (static_cast<int64_t>(lens.size()) != batches) {
    return ctx.Error(
        absl::StrCat("sequence_lens has ", lens.size(), " values for ", batches, " batches"));
  }
  for (int64_t len : lens) {
    if (len < 0 || len > steps) {
      return ctx.Error(absl::StrCat("sequence length ", len, " is outside [0, ", steps, "]"));
    }
  }
  const int64_t inner = Product(shape, 2, shape.size());
  const int64_t batch_stride = (batch_axis == 0 ? steps : 1) * inner;
  const int64_t time_stride = (time_axis == 0 ? batches : 1) * inner;
  Tensor out = *data;  // steps past each length stay as they are
  HALFCAST_RETURN_IF_ERROR(DispatchMove(ctx, data->type(), [&](auto tag) {
    using T = decltype(tag);
    const T* src = Elements<T>(*data);
    T* dst = MutableElements<T>(out);
    for (int64_t b = 0; b < batches; ++b) {
      for (int64_t t = 0; t < lens[b]; ++t) {
        std::copy_n(src + b * batch_stride + t * time_stride, inner,
                    dst + b * batch_stride + (lens[b] - 1 - t) * time_stride);
      }
    }
    return absl::OkStatus();
  }));
  ctx.set_output(0, std::move(out));
  return absl::OkStatus();
}

// Unique: distinct elements (no axis) or distinct slices along `axis`, sorted ascending
// (lexicographically for slices) or in order of first occurrence; with the first-occurrence
// indices, the inverse indices and the counts.
absl::Status Unique(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* data, ctx.RequiredInput(0));
  const Shape& shape = data->shape();
  const int64_t rank = static_cast<int64_t>(shape.size());
  const bool has_axis = ctx.HasAttribute("axis");
  int64_t axis = 0;
  if (has_axis) {
    HALFCAST_ASSIGN_OR_RETURN(axis, NormalizeAxis(ctx, ctx.GetInt("axis", 0), rank));
  }
  // Slices as contiguous blocks: the axis moved to the front (a copy unless it is axis 0).
  const Shape in_strides = Strides(shape);
  Shape front_shape = {has_axis ? shape[axis] : data->element_count()};
  Shape front_strides = {has_axis ? in_strides[axis] : 1};
  for (int64_t k = 0; has_axis && k < rank; ++k) {
    if (k == axis) continue;
    front_shape.push_back(shape[k]);
    front_strides.push_back(in_strides[k]);
  }
  HALFCAST_ASSIGN_OR_RETURN(const Tensor front,
                            StridedCopyTensor(ctx, *data, 0, front_shape, front_strides));
  const int64_t n = front_shape[0];
  const int64_t block = n == 0 ? 0 : front.element_count() / n;

  Shape order(n);     // slice numbers sorted by content, ties by position (stable)
  Shape group_of(n);  // position of each slice's group in `order`'s grouping
  Shape firsts;       // first slice of each group, in sorted order
  Shape counts;
  HALFCAST_RETURN_IF_ERROR(DispatchNumeric(
      data->type(),
      [&](auto tag) {
        using T = decltype(tag);
        const T* x = front.data<T>();
        auto less = [&](int64_t a, int64_t b) {
          return std::lexicographical_compare(x + a * block, x + (a + 1) * block, x + b * block,
                                              x + (b + 1) * block);
        };
        for (int64_t i = 0; i < n; ++i) order[i] = i;
        std::stable_sort(order.begin(), order.end(), less);
        for (int64_t i = 0; i < n; ++i) {
          if (i == 0 || less(order[i - 1], order[i])) {
            firsts.push_back(order[i]);
            counts.push_back(0);
          }
          group_of[order[i]] = static_cast<int64_t>(firsts.size()) - 1;
          ++counts.back();
        }
        return absl::OkStatus();
      },
      "Unique"));
  const int64_t unique = static_cast<int64_t>(firsts.size());
  // Output position of each group: sorted order, or order of first occurrence.
  Shape position(unique);
  for (int64_t g = 0; g < unique; ++g) position[g] = g;
  if (ctx.GetInt("sorted", 1) == 0) {
    std::sort(position.begin(), position.end(),
              [&](int64_t a, int64_t b) { return firsts[a] < firsts[b]; });
  }
  // position[j] is the group shown j-th; rank_of[g] where group g is shown.
  Shape rank_of(unique), selected(unique), out_counts(unique);
  for (int64_t j = 0; j < unique; ++j) {
    rank_of[position[j]] = j;
    selected[j] = firsts[position[j]];
    out_counts[j] = counts[position[j]];
  }
  HALFCAST_ASSIGN_OR_RETURN(Tensor y_front,
                            GatherAlongAxis(ctx, front, front_shape, 0, selected, {unique}));
  Tensor y = y_front;
  if (has_axis && axis != 0) {  // move the axis back into place
    Shape y_shape = shape;
    y_shape[axis] = unique;
    const Shape front_out_strides = Strides(y_front.shape());
    Shape strides(rank);
    for (int64_t k = 0, j = 1; k < rank; ++k)
      strides[k] = k == axis ? front_out_strides[0] : front_out_strides[j++];
    HALFCAST_ASSIGN_OR_RETURN(y, StridedCopyTensor(ctx, y_front, 0, y_shape, strides));
  }
  auto int64_output = [&](int i, const Shape& values) -> absl::Status {
    HALFCAST_ASSIGN_OR_RETURN(
        Tensor t, ctx.NewTensor(DataType::kInt64, {static_cast<int64_t>(values.size())}));
    std::copy(values.begin(), values.end(), t.mutable_data<int64_t>());
    ctx.set_output(i, std::move(t));
    return absl::OkStatus();
  };
  ctx.set_output(0, std::move(y));
  Shape inverse(n);
  for (int64_t i = 0; i < n; ++i) inverse[i] = rank_of[group_of[i]];
  if (ctx.output_count() > 1) HALFCAST_RETURN_IF_ERROR(int64_output(1, selected));
  if (ctx.output_count() > 2) HALFCAST_RETURN_IF_ERROR(int64_output(2, inverse));
  if (ctx.output_count() > 3) HALFCAST_RETURN_IF_ERROR(int64_output(3, out_counts));
  return absl::OkStatus();
}

// For GatherElements / ScatterElements: the offset in `data` of each element of `indices`
// (same rank; along `axis` the index value replaces the position).
absl::StatusOr<Shape> ElementOffsets(const KernelContext& ctx, const Shape& data_shape,
                                     const Tensor& indices, int64_t axis) {
  const Shape& index_shape = indices.shape();
  const int64_t rank = static_cast<int64_t>(data_shape.size());
  if (static_cast<int64_t>(index_shape.size()) != rank) {
    return ctx.Error(
        absl::StrCat("indices have rank ", index_shape.size(), ", data has rank ", rank));
  }
  for (int64_t k = 0; k < rank; ++k) {
    if (k != axis && index_shape[k] > data_shape[k]) {
      return ctx.Error(absl::StrCat("indices dimension ", k, " (", index_shape[k],
                                    ") exceeds the data's (", data_shape[k], ")"));
    }
  }
  HALFCAST_ASSIGN_OR_RETURN(Shape offsets, ReadInt64s(ctx, indices, "indices"));
  const Shape strides = Strides(data_shape);
  Shape position(rank, 0);
  int64_t base = 0;  // offset of the position without the axis coordinate
  for (int64_t& value : offsets) {
    HALFCAST_ASSIGN_OR_RETURN(const int64_t index, CheckIndex(ctx, value, data_shape[axis]));
    value = base + index * strides[axis];
    for (int64_t k = rank - 1; k >= 0; --k) {
      if (++position[k] < index_shape[k]) {
        if (k != axis) base += strides[k];
        break;
      }
      if (k != axis) base -= strides[k] * (index_shape[k] - 1);
      position[k] = 0;
    }
  }
  return offsets;
}

absl::Status GatherElements(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* data, ctx.RequiredInput(0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* indices, ctx.RequiredInput(1));
  const int64_t rank = static_cast<int64_t>(data->shape().size());
  HALFCAST_ASSIGN_OR_RETURN(const int64_t axis, NormalizeAxis(ctx, ctx.GetInt("axis", 0), rank));
  HALFCAST_ASSIGN_OR_RETURN(const Shape offsets,
                            ElementOffsets(ctx, data->shape(), *indices, axis));
  HALFCAST_ASSIGN_OR_RETURN(Tensor out, ctx.NewTensor(data->type(), indices->shape()));
  HALFCAST_RETURN_IF_ERROR(DispatchMove(ctx, data->type(), [&](auto tag) {
    using T = decltype(tag);
    const T* src = Elements<T>(*data);
    T* dst = MutableElements<T>(out);
    for (int64_t offset : offsets) *dst++ = src[offset];
    return absl::OkStatus();
  }));
  ctx.set_output(0, std::move(out));
  return absl::OkStatus();
}

// For GatherND / ScatterND: the data offset of each index tuple (the last dimension of
// `indices`), and the element count of the slice each one addresses.
struct NdOffsets {
  Shape offsets;
  int64_t slice_size;
};
absl::StatusOr<NdOffsets> ComputeNdOffsets(const KernelContext& ctx, const Shape& data_shape,
                                           const Tensor& indices, int64_t batch_dims) {
  const Shape& index_shape = indices.shape();
  const int64_t rank = static_cast<int64_t>(data_shape.size());
  const int64_t index_rank = static_cast<int64_t>(index_shape.size());
  if (index_rank < 1 || rank < 1) return ctx.Error("data and indices must have rank >= 1");
  if (batch_dims < 0 || batch_dims >= std::min(rank, index_rank)) {
    return ctx.Error(absl::StrCat("batch_dims ", batch_dims, " must be less than both ranks"));
  }
  for (int64_t k = 0; k < batch_dims; ++k) {
    if (index_shape[k] != data_shape[k]) {
      return ctx.Error(absl::StrCat("batch dimension ", k, " differs between data (", data_shape[k],
                                    ") and indices (", index_shape[k], ")"));
    }
  }
  const int64_t tuple = index_shape.back();
  if (tuple < 0 || tuple > rank - batch_dims) {
    return ctx.Error(absl::StrCat("index tuples of length ", tuple, " do not fit data of rank ",
                                  rank, " with ", batch_dims, " batch dimensions"));
  }
  HALFCAST_ASSIGN_OR_RETURN(const Shape values, ReadInt64s(ctx, indices, "indices"));
  const Shape strides = Strides(data_shape);
  const int64_t batches = Product(data_shape, 0, batch_dims);
  const int64_t per_batch = Product(index_shape, batch_dims, index_rank - 1);
  const int64_t batch_stride = Product(data_shape, batch_dims, rank);
  NdOffsets result{Shape(batches * per_batch), Product(data_shape, batch_dims + tuple, rank)};
  const int64_t* value = values.data();
  for (int64_t b = 0; b < batches; ++b) {
    for (int64_t j = 0; j < per_batch; ++j) {
      int64_t offset = b * batch_stride;
      for (int64_t t = 0; t < tuple; ++t) {
        HALFCAST_ASSIGN_OR_RETURN(const int64_t index,
                                  CheckIndex(ctx, *value++, data_shape[batch_dims + t]));
        offset += index * strides[batch_dims + t];
      }
      result.offsets[b * per_batch + j] = offset;
    }
  }
  return result;
}

absl::Status GatherND(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* data, ctx.RequiredInput(0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* indices, ctx.RequiredInput(1));
  const int64_t batch_dims = ctx.opset() >= 12 ? ctx.GetInt("batch_dims", 0) : 0;
  HALFCAST_ASSIGN_OR_RETURN(const NdOffsets nd,
                            ComputeNdOffsets(ctx, data->shape(), *indices, batch_dims));
  const Shape& index_shape = indices->shape();
  Shape out_shape(index_shape.begin(), index_shape.end() - 1);
  out_shape.insert(out_shape.end(), data->shape().begin() + batch_dims + index_shape.back(),
                   data->shape().end());
  HALFCAST_ASSIGN_OR_RETURN(Tensor out, ctx.NewTensor(data->type(), out_shape));
  HALFCAST_RETURN_IF_ERROR(DispatchMove(ctx, data->type(), [&](auto tag) {
    using T = decltype(tag);
    const T* src = Elements<T>(*data);
    T* dst = MutableElements<T>(out);
    for (int64_t offset : nd.offsets) dst = std::copy_n(src + offset, nd.slice_size, dst);
    return absl::OkStatus();
  }));
  ctx.set_output(0, std::move(out));
  return absl::OkStatus();
}

enum class Combine { kAdd, kMul, kMax, kMin };

// acc = acc (op) value; false when an integer result overflows.
template <typename T>
bool CombineInto(Combine op, T& acc, T value) {
  switch (op) {
    case Combine::kAdd:
      return tensor_util::AddInto(acc, value);
    case Combine::kMul:
      return tensor_util::MulInto(acc, value);
    case Combine::kMax:
      acc = std::max(acc, value);
      return true;
    case Combine::kMin:
      acc = std::min(acc, value);
      return true;
  }
  return true;
}

// Scatters `updates` into a copy of `data`: update slice i (of `slice_size` elements) goes to
// offsets[i], combined by the `reduction` attribute (none, add, mul; max, min from opset 18).
absl::Status ScatterInto(KernelContext& ctx, const Tensor& data, const Tensor& updates,
                         const Shape& offsets, int64_t slice_size) {
  if (updates.type() != data.type()) {
    return ctx.Error(absl::StrCat("updates are ", DataTypeName(updates.type()), ", data is ",
                                  DataTypeName(data.type())));
  }
  if (updates.element_count() != static_cast<int64_t>(offsets.size()) * slice_size) {
    return ctx.Error("updates do not have the shape the indices address");
  }
  const std::string reduction = ctx.opset() >= 16 ? ctx.GetString("reduction", "none") : "none";
  Tensor out = data;  // shares the bytes until the first write (copy on write)
  const int64_t n = static_cast<int64_t>(offsets.size());
  if (reduction == "none") {
    HALFCAST_RETURN_IF_ERROR(DispatchMove(ctx, data.type(), [&](auto tag) {
      using T = decltype(tag);
      const T* src = Elements<T>(updates);
      T* dst = MutableElements<T>(out);
      for (int64_t i = 0; i < n; ++i)
        std::copy_n(src + i * slice_size, slice_size, dst + offsets[i]);
      return absl::OkStatus();
    }));
  } else {
    Combine op;
    if (reduction == "add") {
      op = Combine::kAdd;
    } else if (reduction == "mul") {
      op = Combine::kMul;
    } else if (reduction == "max" && ctx.opset() >= 18) {
      op = Combine::kMax;
    } else if (reduction == "min" && ctx.opset() >= 18) {
      op = Combine::kMin;
    } else {
      return ctx.Error(absl::StrCat("unknown reduction '", reduction, "'"));
    }
    HALFCAST_RETURN_IF_ERROR(DispatchNumeric(data.type(), [&](auto tag) {
      using T = decltype(tag);
      const T* src = Elements<T>(updates);
      T* dst = MutableElements<T>(out);
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = 0; j < slice_size; ++j) {
          if (!CombineInto(op, dst[offsets[i] + j], src[i * slice_size + j])) {
            return KernelError(ctx, absl::StatusCode::kOutOfRange,
                               absl::StrCat("integer overflow in reduction '", reduction, "'"));
          }
        }
      }
      return absl::OkStatus();
    }));
  }
  ctx.set_output(0, std::move(out));
  return absl::OkStatus();
}

absl::Status ScatterElements(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* data, ctx.RequiredInput(0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* indices, ctx.RequiredInput(1));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* updates, ctx.RequiredInput(2));
  if (updates->shape() != indices->shape()) {
    return ctx.Error("updates and indices must have the same shape");
  }
  const int64_t rank = static_cast<int64_t>(data->shape().size());
  HALFCAST_ASSIGN_OR_RETURN(const int64_t axis, NormalizeAxis(ctx, ctx.GetInt("axis", 0), rank));
  HALFCAST_ASSIGN_OR_RETURN(const Shape offsets,
                            ElementOffsets(ctx, data->shape(), *indices, axis));
  return ScatterInto(ctx, *data, *updates, offsets, 1);
}

absl::Status ScatterND(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* data, ctx.RequiredInput(0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* indices, ctx.RequiredInput(1));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* updates, ctx.RequiredInput(2));
  HALFCAST_ASSIGN_OR_RETURN(const NdOffsets nd, ComputeNdOffsets(ctx, data->shape(), *indices, 0));
  const Shape& index_shape = indices->shape();
  Shape expected(index_shape.begin(), index_shape.end() - 1);
  expected.insert(expected.end(), data->shape().begin() + index_shape.back(), data->shape().end());
  if (updates->shape() != expected) {
    return ctx.Error("updates must have shape indices.shape[:-1] + data.shape[indices.shape[-1]:]");
  }
  return ScatterInto(ctx, *data, *updates, nd.offsets, nd.slice_size);
}

absl::Status Squeeze(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* data, ctx.RequiredInput(0));
  const Shape& shape = data->shape();
  const int64_t rank = static_cast<int64_t>(shape.size());
  HALFCAST_ASSIGN_OR_RETURN(std::optional<Shape> axes, AxesArgument(ctx, 13, 1));
  std::vector<bool> removed(rank, false);
  if (!axes || axes->empty()) {
    for (int64_t k = 0; k < rank; ++k) removed[k] = shape[k] == 1;
  } else {
    HALFCAST_ASSIGN_OR_RETURN(const Shape normalized, NormalizeAxes(ctx, *axes, rank));
    for (int64_t axis : normalized) {
      if (shape[axis] != 1) {
        return ctx.Error(absl::StrCat("cannot squeeze axis ", axis, " of size ", shape[axis]));
      }
      removed[axis] = true;
    }
  }
  Shape out_shape;
  for (int64_t k = 0; k < rank; ++k) {
    if (!removed[k]) out_shape.push_back(shape[k]);
  }
  HALFCAST_ASSIGN_OR_RETURN(Tensor out, Reshaped(ctx, *data, std::move(out_shape)));
  ctx.set_output(0, std::move(out));
  return absl::OkStatus();
}

absl::Status Unsqueeze(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* data, ctx.RequiredInput(0));
  HALFCAST_ASSIGN_OR_RETURN(std::optional<Shape> axes, AxesArgument(ctx, 13, 1));
  if (!axes) return ctx.Error("axes are required");
  const Shape& shape = data->shape();
  const int64_t out_rank = static_cast<int64_t>(shape.size() + axes->size());
  HALFCAST_ASSIGN_OR_RETURN(const Shape normalized, NormalizeAxes(ctx, *axes, out_rank));
  Shape out_shape(out_rank, 0);
  for (int64_t axis : normalized) out_shape[axis] = 1;
  auto next = shape.begin();
  for (int64_t k = 0; k < out_rank; ++k) {
    bool inserted = std::find(normalized.begin(), normalized.end(), k) != normalized.end();
    if (!inserted) out_shape[k] = *next++;
  }
  HALFCAST_ASSIGN_OR_RETURN(Tensor out, Reshaped(ctx, *data, std::move(out_shape)));
  ctx.set_output(0, std::move(out));
  return absl::OkStatus();
}

absl::Status Flatten(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* data, ctx.RequiredInput(0));
  const Shape& shape = data->shape();
  const int64_t rank = static_cast<int64_t>(shape.size());
  int64_t axis = ctx.GetInt("axis", 1);
  if (axis < -rank || axis > rank) {
    return ctx.Error(absl::StrCat("axis ", axis, " is out of range for rank ", rank));
  }
  if (axis < 0) axis += rank;
  HALFCAST_ASSIGN_OR_RETURN(
      Tensor out, Reshaped(ctx, *data, {Product(shape, 0, axis), Product(shape, axis, rank)}));
  ctx.set_output(0, std::move(out));
  return absl::OkStatus();
}

absl::Status Transpose(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* data, ctx.RequiredInput(0));
  const Shape& shape = data->shape();
  const int64_t rank = static_cast<int64_t>(shape.size());
  Shape perm = ctx.GetInts("perm");
  if (perm.empty() && rank > 0) {
    for (int64_t k = rank - 1; k >= 0; --k) perm.push_back(k);
  }
  if (static_cast<int64_t>(perm.size()) != rank) {
    return ctx.Error(absl::StrCat("perm has ", perm.size(), " entries for rank ", rank));
  }
  std::vector<bool> seen(rank, false);
  for (int64_t p : perm) {
    if (p < 0 || p >= rank || seen[p]) return ctx.Error("perm is not a permutation");
    seen[p] = true;
  }
  const Shape in_strides = Strides(shape);
  Shape out_shape(rank), strides(rank);
  for (int64_t k = 0; k < rank; ++k) {
    out_shape[k] = shape[perm[k]];
    strides[k] = in_strides[perm[k]];
  }
  HALFCAST_ASSIGN_OR_RETURN(Tensor out, StridedCopyTensor(ctx, *data, 0, out_shape, strides));
  ctx.set_output(0, std::move(out));
  return absl::OkStatus();
}

absl::Status Expand(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* data, ctx.RequiredInput(0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* shape_input, ctx.RequiredInput(1));
  HALFCAST_ASSIGN_OR_RETURN(const Shape target, ReadInt64s(ctx, *shape_input, "shape"));
  const Shape& shape = data->shape();
  const Shape in_strides = Strides(shape);
  const size_t rank = std::max(shape.size(), target.size());
  Shape out_shape(rank), strides(rank, 0);
  for (size_t k = 0; k < rank; ++k) {
    // Aligned from the right: position k of the output is dimension k - (rank - size).
    const bool in_has = k + shape.size() >= rank, target_has = k + target.size() >= rank;
    const int64_t in_dim = in_has ? shape[k + shape.size() - rank] : 1;
    const int64_t target_dim = target_has ? target[k + target.size() - rank] : 1;
    if (target_dim < 0) return ctx.Error(absl::StrCat("shape has negative dimension ", target_dim));
    if (in_dim != target_dim && in_dim != 1 && target_dim != 1) {
      return ctx.Error(absl::StrCat("cannot broadcast dimension ", in_dim, " to ", target_dim));
    }
    out_shape[k] = in_dim == 1 ? target_dim : in_dim;
    if (in_has && in_dim != 1) strides[k] = in_strides[k + shape.size() - rank];
  }
  HALFCAST_ASSIGN_OR_RETURN(Tensor out, StridedCopyTensor(ctx, *data, 0, out_shape, strides));
  ctx.set_output(0, std::move(out));
  return absl::OkStatus();
}

absl::Status Tile(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* data, ctx.RequiredInput(0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* repeats_input, ctx.RequiredInput(1));
  HALFCAST_ASSIGN_OR_RETURN(const Shape repeats, ReadInt64s(ctx, *repeats_input, "repeats"));
  const Shape& shape = data->shape();
  if (repeats.size() != shape.size()) {
    return ctx.Error(
        absl::StrCat("repeats has ", repeats.size(), " entries for rank ", shape.size()));
  }
  // The output is the input broadcast over a new leading axis per dimension:
  // view [r0, d0, r1, d1, ...] with stride 0 on each r.
  const Shape in_strides = Strides(shape);
  Shape view, strides, out_shape;
  for (size_t k = 0; k < shape.size(); ++k) {
    if (repeats[k] < 0) return ctx.Error(absl::StrCat("repeats[", k, "] is negative"));
    int64_t dim;
    if (__builtin_mul_overflow(repeats[k], shape[k], &dim)) {
      return KernelError(ctx, absl::StatusCode::kOutOfRange, "output dimension overflows");
    }
    view.insert(view.end(), {repeats[k], shape[k]});
    strides.insert(strides.end(), {0, in_strides[k]});
    out_shape.push_back(dim);
  }
  HALFCAST_ASSIGN_OR_RETURN(Tensor out, StridedCopyTensor(ctx, *data, 0, view, strides, out_shape));
  ctx.set_output(0, std::move(out));
  return absl::OkStatus();
}

// The padding value as a one-element tensor of the data's type: the float attribute `value`
// before opset 11 (float types only), the optional input 2 after (zero when absent).
absl::StatusOr<Tensor> PadValue(KernelContext& ctx, const Tensor& data) {
  HALFCAST_ASSIGN_OR_RETURN(Tensor value, ctx.NewTensor(data.type(), {}));
  if (ctx.opset() < 11) {
    const float f = ctx.GetFloat("value", 0.0f);
    switch (data.type()) {
      case DataType::kFloat:
        *value.mutable_data<float>() = f;
        break;
      case DataType::kDouble:
        *value.mutable_data<double>() = f;
        break;
      case DataType::kFloat16:
        *value.mutable_data<uint16_t>() = numerics::FloatToHalf(f);
        break;
      case DataType::kBFloat16:
        *value.mutable_data<uint16_t>() = numerics::FloatToBFloat16(f);
        break;
      default:
        return UnsupportedType(data.type(), "Pad before opset 11");
    }
    return value;
  }
  const Tensor* constant = ctx.input(2);
  if (constant == nullptr || constant->element_count() == 0) return value;
  if (constant->type() != data.type() || constant->element_count() != 1) {
    return ctx.Error("constant_value must be one element of the data's type");
  }
  return *constant;
}

// Copies `src` (contiguous) into `dst` of shape `out_shape` where output index i of dimension k
// reads source index tables[k][i], or `fill` where that is -1.
template <typename T>
void TableCopy(const T* src, const Shape& in_shape, const std::vector<Shape>& tables,
               const Shape& out_shape, const T& fill, T* dst) {
  const int64_t rank = static_cast<int64_t>(out_shape.size());
  if (rank == 0) {
    *dst = *src;
    return;
  }
  const int64_t total = Product(out_shape);
  if (total == 0) return;
  const Shape in_strides = Strides(in_shape);
  const int64_t inner = out_shape.back();
  const Shape& inner_table = tables.back();
  // Output positions [lo, hi) of the innermost dimension read a contiguous source run.
  int64_t lo = 0;
  while (lo < inner && inner_table[lo] < 0) ++lo;
  int64_t hi = lo;
  while (hi < inner && inner_table[hi] == inner_table[lo] + (hi - lo)) ++hi;
  Shape position(rank - 1, 0);
  for (int64_t row = 0; row < total / inner; ++row, dst += inner) {
    int64_t base = 0;
    bool filled = false;
    for (int64_t k = 0; k < rank - 1 && !filled; ++k) {
      const int64_t s = tables[k][position[k]];
      filled = s < 0;
      base += s * in_strides[k];
    }
    if (filled) {
      std::fill_n(dst, inner, fill);
    } else {
      const T* row_src = src + base;
      for (int64_t i = 0; i < lo; ++i) dst[i] = inner_table[i] < 0 ? fill : row_src[inner_table[i]];
      if (hi > lo) std::copy_n(row_src + inner_table[lo], hi - lo, dst + lo);
      for (int64_t i = hi; i < inner; ++i)
        dst[i] = inner_table[i] < 0 ? fill : row_src[inner_table[i]];
    }
    for (int64_t k = rank - 2; k >= 0; --k) {
      if (++position[k] < out_shape[k]) break;
      position[k] = 0;
    }
  }
}

absl::Status Pad(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* data, ctx.RequiredInput(0));
  const Shape& shape = data->shape();
  const int64_t rank = static_cast<int64_t>(shape.size());
  const std::string mode = ctx.GetString("mode", "constant");
  Shape pads;
  Shape axes;
  if (ctx.opset() < 11) {
    pads = ctx.GetInts("pads");
  } else {
    HALFCAST_ASSIGN_OR_RETURN(const Tensor* pads_input, ctx.RequiredInput(1));
    HALFCAST_ASSIGN_OR_RETURN(pads, ReadInt64s(ctx, *pads_input, "pads"));
    if (const Tensor* axes_input = ctx.input(3)) {
      HALFCAST_ASSIGN_OR_RETURN(axes, ReadInt64s(ctx, *axes_input, "axes"));
      HALFCAST_ASSIGN_OR_RETURN(axes, NormalizeAxes(ctx, std::move(axes), rank));
    }
  }
  if (axes.empty()) {
    for (int64_t k = 0; k < rank; ++k) axes.push_back(k);
  }
  const int64_t n = static_cast<int64_t>(axes.size());
  if (static_cast<int64_t>(pads.size()) != 2 * n) {
    return ctx.Error(absl::StrCat("pads has ", pads.size(), " values for ", n, " axes"));
  }
  if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap") {
    return ctx.Error(absl::StrCat("unknown mode '", mode, "'"));
  }
  Shape begin(rank, 0), end(rank, 0);
  for (int64_t i = 0; i < n; ++i) {
    begin[axes[i]] = pads[i];
    end[axes[i]] = pads[i + n];
  }
  Shape out_shape(rank);
  std::vector<Shape> tables(rank);
  for (int64_t k = 0; k < rank; ++k) {
    const int64_t dim = shape[k];
    int64_t out_dim;
    if (__builtin_add_overflow(dim, begin[k], &out_dim) ||
        __builtin_add_overflow(out_dim, end[k], &out_dim) || out_dim < 0) {
      return ctx.Error(absl::StrCat("pads ", begin[k], ", ", end[k], " do not fit dimension ", k,
                                    " of size ", dim));
    }
    if (mode != "constant" && dim == 0 && out_dim > 0) {
      return ctx.Error(absl::StrCat("cannot pad the empty dimension ", k, " in mode ", mode));
    }
    out_shape[k] = out_dim;
  }
  HALFCAST_ASSIGN_OR_RETURN(Tensor out, ctx.NewTensor(data->type(), out_shape));
  if (out.element_count() == 0) {
    ctx.set_output(0, std::move(out));
    return absl::OkStatus();
  }
  // Each table is no longer than the (allocated) output.
  for (int64_t k = 0; k < rank; ++k) {
    const int64_t dim = shape[k], out_dim = out_shape[k];
    Shape& table = tables[k];
    table.resize(out_dim);
    for (int64_t i = 0; i < out_dim; ++i) {
      int64_t j = i - begin[k];
      if (j < 0 || j >= dim) {
        if (mode == "constant") {
          j = -1;
        } else if (mode == "edge") {
          j = std::clamp<int64_t>(j, 0, dim - 1);
        } else if (mode == "wrap") {
          j = ((j % dim) + dim) % dim;
        } else if (dim == 1) {
          j = 0;
        } else {  // reflect without repeating the edge: period 2 * (dim - 1)
          const int64_t period = 2 * (dim - 1);
          j = ((j % period) + period) % period;
          if (j >= dim) j = period - j;
        }
      }
      table[i] = j;
    }
  }
  HALFCAST_ASSIGN_OR_RETURN(const Tensor fill, PadValue(ctx, *data));
  HALFCAST_RETURN_IF_ERROR(DispatchMove(ctx, data->type(), [&](auto tag) {
    using T = decltype(tag);
    TableCopy(Elements<T>(*data), shape, tables, out_shape, Elements<T>(fill)[0],
              MutableElements<T>(out));
    return absl::OkStatus();
  }));
  ctx.set_output(0, std::move(out));
  return absl::OkStatus();
}

absl::Status NonZero(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* data, ctx.RequiredInput(0));
  const int64_t count = data->element_count();
  // Flags first: the output size is the number of nonzero elements.
  std::vector<uint8_t> nonzero(count);
  auto flag = [&](auto tag, auto predicate) {
    using T = decltype(tag);
    const T* values = data->data<T>();
    for (int64_t i = 0; i < count; ++i) nonzero[i] = predicate(values[i]);
    return absl::OkStatus();
  };
  switch (data->type()) {
    case DataType::kFloat16:
    case DataType::kBFloat16:  // +-0 have all bits but the sign clear
      HALFCAST_RETURN_IF_ERROR(flag(uint16_t{}, [](uint16_t v) { return (v & 0x7FFF) != 0; }));
      break;
    case DataType::kBool:
      HALFCAST_RETURN_IF_ERROR(flag(uint8_t{}, [](uint8_t v) { return v != 0; }));
      break;
    default:
      HALFCAST_RETURN_IF_ERROR(DispatchNumeric(data->type(), [&](auto tag) {
        using T = decltype(tag);
        return flag(tag, [](T v) { return v != T{0}; });
      }));
  }
  const int64_t found = std::count(nonzero.begin(), nonzero.end(), 1);
  // A scalar counts as a one-element vector, as numpy.nonzero does.
  const Shape shape = data->shape().empty() ? Shape{1} : data->shape();
  const int64_t rank = static_cast<int64_t>(shape.size());
  HALFCAST_ASSIGN_OR_RETURN(Tensor out, ctx.NewTensor(DataType::kInt64, {rank, found}));
  int64_t* dst = out.mutable_data<int64_t>();
  Shape position(rank, 0);
  int64_t column = 0;
  for (int64_t i = 0; i < count; ++i) {
    if (nonzero[i]) {
      for (int64_t k = 0; k < rank; ++k) dst[k * found + column] = position[k];
      ++column;
    }
    for (int64_t k = rank - 1; k >= 0; --k) {
      if (++position[k] < shape[k]) break;
      position[k] = 0;
    }
  }
  ctx.set_output(0, std::move(out));
  return absl::OkStatus();
}

absl::Status OneHot(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* indices, ctx.RequiredInput(0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* depth_input, ctx.RequiredInput(1));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* values, ctx.RequiredInput(2));
  HALFCAST_ASSIGN_OR_RETURN(const int64_t depth, ReadScalarInt64(ctx, *depth_input, "depth", true));
  if (depth < 1) return ctx.Error(absl::StrCat("depth ", depth, " must be positive"));
  if (values->element_count() != 2) return ctx.Error("values must have two elements");
  HALFCAST_ASSIGN_OR_RETURN(const Shape index_values, ReadInt64s(ctx, *indices, "indices", true));
  const Shape& index_shape = indices->shape();
  const int64_t rank = static_cast<int64_t>(index_shape.size());
  HALFCAST_ASSIGN_OR_RETURN(const int64_t axis,
                            NormalizeAxis(ctx, ctx.GetInt("axis", -1), rank + 1));
  Shape out_shape = index_shape;
  out_shape.insert(out_shape.begin() + axis, depth);
  HALFCAST_ASSIGN_OR_RETURN(Tensor out, ctx.NewTensor(values->type(), out_shape));
  const int64_t outer = Product(index_shape, 0, axis);
  const int64_t inner = Product(index_shape, axis, rank);
  HALFCAST_RETURN_IF_ERROR(DispatchMove(ctx, values->type(), [&](auto tag) {
    using T = decltype(tag);
    const T off = Elements<T>(*values)[0], on = Elements<T>(*values)[1];
    T* dst = MutableElements<T>(out);
    std::fill_n(dst, out.element_count(), off);
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        int64_t v = index_values[o * inner + i];
        if (v < 0) v += depth;
        // Indices outside [-depth, depth) give an all-off row, as the spec says.
        if (v >= 0 && v < depth) dst[(o * depth + v) * inner + i] = on;
      }
    }
    return absl::OkStatus();
  }));
  ctx.set_output(0, std::move(out));
  return absl::OkStatus();
}

absl::Status Trilu(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* data, ctx.RequiredInput(0));
  const Shape& shape = data->shape();
  const int64_t rank = static_cast<int64_t>(shape.size());
  if (rank < 2) return ctx.Error("input must have rank >= 2");
  if (data->type() == DataType::kString) return UnsupportedType(data->type(), "Trilu");
  int64_t k = 0;
  if (const Tensor* k_input = ctx.input(1)) {
    HALFCAST_ASSIGN_OR_RETURN(k, ReadScalarInt64(ctx, *k_input, "k"));
  }
  const bool upper = ctx.GetInt("upper", 1) != 0;
  const int64_t rows = shape[rank - 2], cols = shape[rank - 1];
  k = std::clamp<int64_t>(k, -rows - 1, cols + 1);  // beyond this every k gives the same result
  Tensor out = *data;  // shares the bytes until the first write (copy on write)
  const size_t element_size = ElementSize(data->type());
  unsigned char* bytes = static_cast<unsigned char*>(out.mutable_raw_data());
  const int64_t matrices = Product(shape, 0, rank - 2);
  for (int64_t m = 0; m < matrices; ++m) {
    for (int64_t i = 0; i < rows; ++i) {
      // upper keeps j >= i + k; lower keeps j <= i + k. Zero bytes are zero in every type.
      const int64_t zero_begin = upper ? 0 : std::clamp<int64_t>(i + k + 1, 0, cols);
      const int64_t zero_end = upper ? std::clamp<int64_t>(i + k, 0, cols) : cols;
      if (zero_end > zero_begin) {
        std::memset(bytes + ((m * rows + i) * cols + zero_begin) * element_size, 0,
                    (zero_end - zero_begin) * element_size);
      }
    }
  }
  ctx.set_output(0, std::move(out));
  return absl::OkStatus();
}

absl::StatusOr<int64_t> BlockSize(KernelContext& ctx, const Tensor& data) {
  if (data.shape().size() != 4) return ctx.Error("input must have rank 4 (N, C, H, W)");
  const int64_t block = ctx.GetInt("blocksize", 0);
  if (block < 1) return ctx.Error("attribute 'blocksize' must be a positive integer");
  return block;
}

absl::Status DepthToSpace(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* data, ctx.RequiredInput(0));
  HALFCAST_ASSIGN_OR_RETURN(const int64_t b, BlockSize(ctx, *data));
  const Shape& s = data->shape();
  const int64_t n = s[0], c = s[1], h = s[2], w = s[3];
  if (c % (b * b) != 0) {
    return ctx.Error(absl::StrCat("channels ", c, " are not a multiple of blocksize^2"));
  }
  const std::string mode = ctx.opset() >= 11 ? ctx.GetString("mode", "DCR") : "DCR";
  const int64_t oc = c / (b * b), hw = h * w, batch = c * hw;
  // The output viewed as [N, C/b^2, H, b, W, b]; DCR reads channel (b1 * b + b2) * oc + c,
  // CRD reads channel (c * b + b1) * b + b2.
  Shape strides;
  if (mode == "DCR") {
    strides = {batch, hw, w, b * oc * hw, 1, oc * hw};
  } else if (mode == "CRD") {
    strides = {batch, b * b * hw, w, b * hw, 1, hw};
  } else {
    return ctx.Error(absl::StrCat("unknown mode '", mode, "'"));
  }
  HALFCAST_ASSIGN_OR_RETURN(Tensor out, StridedCopyTensor(ctx, *data, 0, {n, oc, h, b, w, b},
                                                          strides, Shape{n, oc, h * b, w * b}));
  ctx.set_output(0, std::move(out));
  return absl::OkStatus();
}

absl::Status SpaceToDepth(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* data, ctx.RequiredInput(0));
  HALFCAST_ASSIGN_OR_RETURN(const int64_t b, BlockSize(ctx, *data));
  const Shape& s = data->shape();
  const int64_t n = s[0], c = s[1], h = s[2], w = s[3];
  if (h % b != 0 || w % b != 0) {
    return ctx.Error(
        absl::StrCat("height ", h, " and width ", w, " must be multiples of blocksize ", b));
  }
  // Output channel (b1 * b + b2) * C + c holds input (c, y * b + b1, x * b + b2).
  HALFCAST_ASSIGN_OR_RETURN(Tensor out, StridedCopyTensor(ctx, *data, 0, {n, b, b, c, h / b, w / b},
                                                          {c * h * w, w, 1, h * w, b * w, b},
                                                          Shape{n, c * b * b, h / b, w / b}));
  ctx.set_output(0, std::move(out));
  return absl::OkStatus();
}

constexpr int kLatest = tensor_util::kLatestOpset;

const KernelDef kTensorKernels[] = {
    {"", "Reshape", 5, kLatest, Reshape, true},
    {"", "Shape", 1, kLatest, ShapeOp, true},
    {"", "Size", 1, kLatest, Size, true},
    {"", "Concat", 1, kLatest, Concat, true},
    {"", "Split", 1, kLatest, Split, true},
    {"", "Slice", 1, kLatest, Slice, true},
    {"", "Gather", 1, kLatest, Gather, true},
    {"", "Compress", 9, kLatest, Compress, true},
    {"", "ReverseSequence", 10, kLatest, ReverseSequence, true},
    // Unique compares values, so 16-bit floats are compared as float32 (converting back is exact).
    {"", "Unique", 11, kLatest, Unique, false},
    {"", "GatherElements", 11, kLatest, GatherElements, true},
    {"", "GatherND", 11, kLatest, GatherND, true},
    // Reductions add or multiply, so the scatters use the float32 emulation of 16-bit floats
    // (exact for plain copies: float16 -> float32 -> float16 is the identity).
    {"", "Scatter", 9, 10, ScatterElements, false},
    {"", "ScatterElements", 11, kLatest, ScatterElements, false},
    {"", "ScatterND", 11, kLatest, ScatterND, false},
    {"", "Squeeze", 1, kLatest, Squeeze, true},
    {"", "Unsqueeze", 1, kLatest, Unsqueeze, true},
    {"", "Flatten", 1, kLatest, Flatten, true},
    {"", "Transpose", 1, kLatest, Transpose, true},
    {"", "Expand", 8, kLatest, Expand, true},
    {"", "Tile", 6, kLatest, Tile, true},
    {"", "Pad", 2, kLatest, Pad, true},
    {"", "NonZero", 9, kLatest, NonZero, true},
    {"", "OneHot", 9, kLatest, OneHot, true},
    {"", "Trilu", 14, kLatest, Trilu, true},
    {"", "DepthToSpace", 1, kLatest, DepthToSpace, true},
    {"", "SpaceToDepth", 1, kLatest, SpaceToDepth, true},
};

}  // namespace

absl::Span<const KernelDef> TensorKernels() { return kTensorKernels; }

}  // namespace halfcast::eval
