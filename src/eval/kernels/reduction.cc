// Reductions (Reduce*, ArgMax/ArgMin), the softmax family, TopK and CumSum. All are math
// kernels: 16-bit floats arrive as float32 (kernel.h). Every reduction works on a view of its
// input as [outer, reduced, inner]; reduced axes that are not adjacent are first transposed
// behind the kept ones.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "eval/kernel.h"
#include "eval/kernels/dispatch.h"
#include "eval/kernels/tensor_util.h"

namespace halfcast::eval {
namespace {

using tensor_util::AddInto;
using tensor_util::KernelError;
using tensor_util::MulInto;
using tensor_util::NormalizeAxes;
using tensor_util::NormalizeAxis;
using tensor_util::Product;
using tensor_util::ReadInt64s;
using tensor_util::ReadScalarInt64;
using tensor_util::StridedCopyTensor;
using tensor_util::Strides;
using Shape = std::vector<int64_t>;

constexpr int kLatest = tensor_util::kLatestOpset;

// x viewed as [outer, reduced, inner].
struct Layout {
  int64_t outer;
  int64_t reduced;
  int64_t inner;
};

// The layout of a single-axis operation.
Layout AxisLayout(const Shape& shape, int64_t axis) {
  return {Product(shape, 0, axis), shape[axis], Product(shape, axis + 1, shape.size())};
}

absl::Status OverflowError(const KernelContext& ctx) {
  return KernelError(ctx, absl::StatusCode::kOutOfRange, "integer overflow");
}

template <typename T>
bool IsNan(T value) {
  if constexpr (std::is_floating_point_v<T>) return std::isnan(value);
  return false;
}
template <typename T>
T Abs(T value) {
  if constexpr (std::is_unsigned_v<T>) return value;
  return value < 0 ? static_cast<T>(-value) : value;
}
// A float function applied in double for integer types.
template <typename T, typename F>
T ViaFloat(T value, F f) {
  if constexpr (std::is_floating_point_v<T>) return f(value);
  return static_cast<T>(f(static_cast<double>(value)));
}

// Reduction ops: Init, Step (false on integer overflow), Finish(acc, count).
template <typename T>
struct SumOp {
  static T Init() { return T{0}; }
  static bool Step(T& acc, T x) { return AddInto(acc, x); }
  static T Finish(T acc, int64_t) { return acc; }
};
template <typename T>
struct MeanOp : SumOp<T> {
  static T Finish(T acc, int64_t n) {
    if constexpr (std::is_integral_v<T>) return n == 0 ? T{0} : static_cast<T>(acc / n);
    return acc / static_cast<T>(n);
  }
};
template <typename T>
struct SumSquareOp : SumOp<T> {
  static bool Step(T& acc, T x) { return MulInto(x, x) && AddInto(acc, x); }
};
template <typename T>
struct L1Op : SumOp<T> {
  static bool Step(T& acc, T x) { return AddInto(acc, Abs(x)); }
};
template <typename T>
struct L2Op : SumSquareOp<T> {
  static T Finish(T acc, int64_t) {
    return ViaFloat(acc, [](auto v) { return std::sqrt(v); });
  }
};
template <typename T>
struct LogSumOp : SumOp<T> {
  static T Finish(T acc, int64_t) {
    return ViaFloat(acc, [](auto v) { return std::log(v); });
  }
};
template <typename T>
struct ProdOp : SumOp<T> {
  static T Init() { return T{1}; }
  static bool Step(T& acc, T x) { return MulInto(acc, x); }
};
template <typename T>
struct MaxOp : SumOp<T> {
  static T Init() {
    if constexpr (std::is_floating_point_v<T>) return -std::numeric_limits<T>::infinity();
    return std::numeric_limits<T>::lowest();
  }
  // NaN wins, as in numpy.
  static bool Step(T& acc, T x) {
    if (x > acc || IsNan(x)) acc = x;
    return true;
  }
};
template <typename T>
struct MinOp : SumOp<T> {
  static T Init() {
    if constexpr (std::is_floating_point_v<T>) return std::numeric_limits<T>::infinity();
    return std::numeric_limits<T>::max();
  }
  static bool Step(T& acc, T x) {
    if (x < acc || IsNan(x)) acc = x;
    return true;
  }
};

template <template <typename> class Op, typename T>
bool ReduceLoop(const T* x, const Layout& l, T* y) {
  using O = Op<T>;
  bool ok = true;
  if (l.inner == 1) {
    for (int64_t o = 0; o < l.outer; ++o) {
      const T* row = x + o * l.reduced;
      T acc = O::Init();
      for (int64_t r = 0; r < l.reduced; ++r) ok &= O::Step(acc, row[r]);
      y[o] = O::Finish(acc, l.reduced);
    }
    return ok;
  }
  std::vector<T> acc(l.inner);
  for (int64_t o = 0; o < l.outer; ++o) {
    std::fill(acc.begin(), acc.end(), O::Init());
    for (int64_t r = 0; r < l.reduced; ++r) {
      const T* row = x + (o * l.reduced + r) * l.inner;
      for (int64_t i = 0; i < l.inner; ++i) ok &= O::Step(acc[i], row[i]);
    }
    for (int64_t i = 0; i < l.inner; ++i) y[o * l.inner + i] = O::Finish(acc[i], l.reduced);
  }
  return ok;
}

// log(sum(exp(x))) computed as max + log(sum(exp(x - max))) so large inputs do not overflow.
template <typename T>
void LogSumExpLoop(const T* x, const Layout& l, T* y) {
  using F = std::conditional_t<std::is_floating_point_v<T>, T, double>;
  std::vector<F> max(l.inner), sum(l.inner);
  for (int64_t o = 0; o < l.outer; ++o) {
    const T* block = x + o * l.reduced * l.inner;
    std::fill(max.begin(), max.end(), -std::numeric_limits<F>::infinity());
    std::fill(sum.begin(), sum.end(), F{0});
    for (int64_t r = 0; r < l.reduced; ++r) {
      for (int64_t i = 0; i < l.inner; ++i) max[i] = std::max<F>(max[i], block[r * l.inner + i]);
    }
    for (int64_t r = 0; r < l.reduced; ++r) {
      for (int64_t i = 0; i < l.inner; ++i) {
        // An infinite max would make x - max NaN; its result is that infinity anyway.
        if (std::isfinite(max[i]))
          sum[i] += std::exp(static_cast<F>(block[r * l.inner + i]) - max[i]);
      }
    }
    for (int64_t i = 0; i < l.inner; ++i) {
      y[o * l.inner + i] =
          static_cast<T>(std::isfinite(max[i]) ? max[i] + std::log(sum[i]) : max[i]);
    }
  }
}

enum class ReduceKind { kSum, kMean, kSumSquare, kL1, kL2, kLogSum, kLogSumExp, kProd, kMax, kMin };

template <typename T>
bool RunReduce(ReduceKind kind, const T* x, const Layout& l, T* y) {
  switch (kind) {
    case ReduceKind::kSum:
      return ReduceLoop<SumOp>(x, l, y);
    case ReduceKind::kMean:
      return ReduceLoop<MeanOp>(x, l, y);
    case ReduceKind::kSumSquare:
      return ReduceLoop<SumSquareOp>(x, l, y);
    case ReduceKind::kL1:
      return ReduceLoop<L1Op>(x, l, y);
    case ReduceKind::kL2:
      return ReduceLoop<L2Op>(x, l, y);
    case ReduceKind::kLogSum:
      return ReduceLoop<LogSumOp>(x, l, y);
    case ReduceKind::kProd:
      return ReduceLoop<ProdOp>(x, l, y);
    case ReduceKind::kMax:
      return ReduceLoop<MaxOp>(x, l, y);
    case ReduceKind::kMin:
      return ReduceLoop<MinOp>(x, l, y);
    case ReduceKind::kLogSumExp:
      LogSumExpLoop(x, l, y);
      return true;
  }
  return true;
}

// Reduce* over the axes given by the attribute (before `axes_input_opset`) or the optional
// second input (from it, with noop_with_empty_axes).
absl::Status Reduce(KernelContext& ctx, ReduceKind kind, int axes_input_opset) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* data, ctx.RequiredInput(0));
  const Shape& shape = data->shape();
  const int64_t rank = static_cast<int64_t>(shape.size());
  Shape axes;
  bool noop = false;
  if (ctx.opset() >= axes_input_opset) {
    if (const Tensor* axes_input = ctx.input(1)) {
      HALFCAST_ASSIGN_OR_RETURN(axes, ReadInt64s(ctx, *axes_input, "axes"));
    }
    noop = axes.empty() && ctx.GetInt("noop_with_empty_axes", 0) != 0;
  } else {
    axes = ctx.GetInts("axes");
  }
  HALFCAST_ASSIGN_OR_RETURN(axes, NormalizeAxes(ctx, std::move(axes), rank));
  std::vector<bool> reduced(rank, axes.empty() && !noop);
  for (int64_t axis : axes) reduced[axis] = true;
  const bool keepdims = ctx.GetInt("keepdims", 1) != 0;
  Shape out_shape;
  for (int64_t k = 0; k < rank; ++k) {
    if (!reduced[k]) {
      out_shape.push_back(shape[k]);
    } else if (keepdims) {
      out_shape.push_back(1);
    }
  }

  // Merge runs of kept / reduced dimensions (size-1 dimensions fit either); a single reduced run
  // is [outer, reduced, inner] as it stands, more need a transpose.
  std::vector<std::pair<int64_t, bool>> runs;  // (size, reduced)
  for (int64_t k = 0; k < rank; ++k) {
    if (shape[k] == 1) continue;
    if (!runs.empty() && runs.back().second == reduced[k]) {
      runs.back().first *= shape[k];
    } else {
      runs.emplace_back(shape[k], reduced[k]);
    }
  }
  const int64_t reduced_runs =
      std::count_if(runs.begin(), runs.end(), [](const auto& run) { return run.second; });
  Layout layout{1, 1, 1};
  const Tensor* x = data;
  Tensor transposed;
  if (reduced_runs <= 1) {
    bool after = false;
    for (const auto& [size, is_reduced] : runs) {
      if (is_reduced) {
        layout.reduced = size;
        after = true;
      } else {
        (after ? layout.inner : layout.outer) *= size;
      }
    }
  } else {
    const Shape in_strides = Strides(shape);
    Shape view, strides;
    for (int pass = 0; pass < 2; ++pass) {
      for (int64_t k = 0; k < rank; ++k) {
        if (reduced[k] != (pass == 1)) continue;
        view.push_back(shape[k]);
        strides.push_back(in_strides[k]);
        (pass == 0 ? layout.outer : layout.reduced) *= shape[k];
      }
    }
    HALFCAST_ASSIGN_OR_RETURN(transposed, StridedCopyTensor(ctx, *data, 0, view, strides));
    x = &transposed;
  }

  HALFCAST_ASSIGN_OR_RETURN(Tensor out, ctx.NewTensor(data->type(), out_shape));
  bool ok = true;
  HALFCAST_RETURN_IF_ERROR(DispatchNumeric(
      data->type(),
      [&](auto tag) {
        using T = decltype(tag);
        ok = RunReduce(kind, x->data<T>(), layout, out.mutable_data<T>());
        return absl::OkStatus();
      },
      ctx.node().op_type().c_str()));
  if (!ok) return OverflowError(ctx);
  ctx.set_output(0, std::move(out));
  return absl::OkStatus();
}

template <ReduceKind kind, int axes_input_opset>
absl::Status ReduceKernel(KernelContext& ctx) {
  return Reduce(ctx, kind, axes_input_opset);
}

template <bool is_max>
absl::Status ArgExtreme(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* data, ctx.RequiredInput(0));
  const Shape& shape = data->shape();
  const int64_t rank = static_cast<int64_t>(shape.size());
  HALFCAST_ASSIGN_OR_RETURN(const int64_t axis, NormalizeAxis(ctx, ctx.GetInt("axis", 0), rank));
  const Layout l = AxisLayout(shape, axis);
  if (l.reduced == 0) return ctx.Error("cannot take the arg of an empty axis");
  const bool last = ctx.opset() >= 12 && ctx.GetInt("select_last_index", 0) != 0;
  Shape out_shape = shape;
  if (ctx.GetInt("keepdims", 1) != 0) {
    out_shape[axis] = 1;
  } else {
    out_shape.erase(out_shape.begin() + axis);
  }
  HALFCAST_ASSIGN_OR_RETURN(Tensor out, ctx.NewTensor(DataType::kInt64, out_shape));
  HALFCAST_RETURN_IF_ERROR(DispatchNumeric(
      data->type(),
      [&](auto tag) {
        using T = decltype(tag);
        const T* x = data->data<T>();
        int64_t* y = out.mutable_data<int64_t>();
        std::vector<T> best(l.inner);
        for (int64_t o = 0; o < l.outer; ++o) {
          const T* block = x + o * l.reduced * l.inner;
          int64_t* index = y + o * l.inner;
          std::copy_n(block, l.inner, best.begin());
          std::fill_n(index, l.inner, 0);
          for (int64_t r = 1; r < l.reduced; ++r) {
            const T* row = block + r * l.inner;
            for (int64_t i = 0; i < l.inner; ++i) {
              const bool better = is_max ? row[i] > best[i] : row[i] < best[i];
              if (better || (last && row[i] == best[i])) {
                best[i] = row[i];
                index[i] = r;
              }
            }
          }
        }
        return absl::OkStatus();
      },
      ctx.node().op_type().c_str()));
  ctx.set_output(0, std::move(out));
  return absl::OkStatus();
}

enum class SoftmaxKind { kSoftmax, kLogSoftmax, kHardmax };

// Softmax, LogSoftmax, Hardmax. Before opset 13 the input is flattened to 2-D at `axis`
// (default 1) and each row normalized; from 13 only `axis` (default -1) is.
template <SoftmaxKind kind>
absl::Status SoftmaxFamily(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* data, ctx.RequiredInput(0));
  const Shape& shape = data->shape();
  const int64_t rank = static_cast<int64_t>(shape.size());
  const bool flatten = ctx.opset() < 13;
  HALFCAST_ASSIGN_OR_RETURN(const int64_t axis,
                            NormalizeAxis(ctx, ctx.GetInt("axis", flatten ? 1 : -1), rank));
  const Layout l = flatten ? Layout{Product(shape, 0, axis), Product(shape, axis, rank), 1}
                           : AxisLayout(shape, axis);
  HALFCAST_ASSIGN_OR_RETURN(Tensor out, ctx.NewTensor(data->type(), shape));
  HALFCAST_RETURN_IF_ERROR(DispatchFloat(
      data->type(),
      [&](auto tag) {
        using T = decltype(tag);
        std::vector<T> max(l.inner), sum(l.inner);
        std::vector<int64_t> arg(l.inner);
        for (int64_t o = 0; o < l.outer; ++o) {
          const T* x = data->data<T>() + o * l.reduced * l.inner;
          T* y = out.mutable_data<T>() + o * l.reduced * l.inner;
          std::fill(max.begin(), max.end(), -std::numeric_limits<T>::infinity());
          std::fill(sum.begin(), sum.end(), T{0});
          std::fill(arg.begin(), arg.end(), 0);
          for (int64_t r = 0; r < l.reduced; ++r) {
            for (int64_t i = 0; i < l.inner; ++i) {
              if (x[r * l.inner + i] > max[i]) {
                max[i] = x[r * l.inner + i];
                arg[i] = r;
              }
            }
          }
          if constexpr (kind == SoftmaxKind::kHardmax) {
            for (int64_t i = 0; i < l.inner; ++i) y[arg[i] * l.inner + i] = T{1};
            continue;
          }
          for (int64_t r = 0; r < l.reduced; ++r) {
            for (int64_t i = 0; i < l.inner; ++i) {
              const T e = std::exp(x[r * l.inner + i] - max[i]);
              sum[i] += e;
              if constexpr (kind == SoftmaxKind::kSoftmax) y[r * l.inner + i] = e;
            }
          }
          for (int64_t r = 0; r < l.reduced; ++r) {
            for (int64_t i = 0; i < l.inner; ++i) {
              T& v = y[r * l.inner + i];
              if constexpr (kind == SoftmaxKind::kSoftmax) {
                v /= sum[i];
              } else {
                v = x[r * l.inner + i] - max[i] - std::log(sum[i]);
              }
            }
          }
        }
        return absl::OkStatus();
      },
      ctx.node().op_type().c_str()));
  ctx.set_output(0, std::move(out));
  return absl::OkStatus();
}

// Orders (value, index) pairs for TopK: by value (NaN above everything, as in numpy's sort),
// ties by lower index first. A strict weak order even with NaN, as std::partial_sort requires.
template <typename T, bool largest>
bool TopKBefore(T a, int64_t ia, T b, int64_t ib) {
  const bool nan_a = IsNan(a), nan_b = IsNan(b);
  if (nan_a || nan_b) {
    if (nan_a && nan_b) return ia < ib;
    return largest ? nan_a : nan_b;
  }
  if (a != b) return largest ? a > b : a < b;
  return ia < ib;
}

absl::Status TopK(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* data, ctx.RequiredInput(0));
  int64_t k;
  if (ctx.opset() < 10) {
    if (!ctx.HasAttribute("k")) return ctx.Error("attribute 'k' is required");
    k = ctx.GetInt("k", 0);
  } else {
    HALFCAST_ASSIGN_OR_RETURN(const Tensor* k_input, ctx.RequiredInput(1));
    HALFCAST_ASSIGN_OR_RETURN(k, ReadScalarInt64(ctx, *k_input, "K"));
  }
  const Shape& shape = data->shape();
  const int64_t rank = static_cast<int64_t>(shape.size());
  HALFCAST_ASSIGN_OR_RETURN(const int64_t axis, NormalizeAxis(ctx, ctx.GetInt("axis", -1), rank));
  const Layout l = AxisLayout(shape, axis);
  if (k < 0 || k > l.reduced) {
    return ctx.Error(absl::StrCat("k ", k, " is outside [0, ", l.reduced, "]"));
  }
  // `sorted` = 0 leaves the order unspecified; sorted output is a valid answer.
  const bool largest = ctx.opset() < 11 || ctx.GetInt("largest", 1) != 0;
  Shape out_shape = shape;
  out_shape[axis] = k;
  HALFCAST_ASSIGN_OR_RETURN(Tensor values, ctx.NewTensor(data->type(), out_shape));
  HALFCAST_ASSIGN_OR_RETURN(Tensor indices, ctx.NewTensor(DataType::kInt64, out_shape));
  HALFCAST_RETURN_IF_ERROR(DispatchNumeric(
      data->type(),
      [&](auto tag) {
        using T = decltype(tag);
        std::vector<T> column(l.reduced);
        std::vector<int64_t> order(l.reduced);
        auto before = largest ? TopKBefore<T, true> : TopKBefore<T, false>;
        for (int64_t o = 0; o < l.outer; ++o) {
          for (int64_t i = 0; i < l.inner; ++i) {
            const T* x = data->data<T>() + o * l.reduced * l.inner + i;
            for (int64_t r = 0; r < l.reduced; ++r) {
              column[r] = x[r * l.inner];
              order[r] = r;
            }
            std::partial_sort(
                order.begin(), order.begin() + k, order.end(),
                [&](int64_t a, int64_t b) { return before(column[a], a, column[b], b); });
            T* y = values.mutable_data<T>() + o * k * l.inner + i;
            int64_t* yi = indices.mutable_data<int64_t>() + o * k * l.inner + i;
            for (int64_t j = 0; j < k; ++j) {
              y[j * l.inner] = column[order[j]];
              yi[j * l.inner] = order[j];
            }
          }
        }
        return absl::OkStatus();
      },
      "TopK"));
  ctx.set_output(0, std::move(values));
  ctx.set_output(1, std::move(indices));
  return absl::OkStatus();
}

absl::Status CumSum(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* data, ctx.RequiredInput(0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* axis_input, ctx.RequiredInput(1));
  HALFCAST_ASSIGN_OR_RETURN(const int64_t axis_value, ReadScalarInt64(ctx, *axis_input, "axis"));
  const Shape& shape = data->shape();
  HALFCAST_ASSIGN_OR_RETURN(const int64_t axis,
                            NormalizeAxis(ctx, axis_value, static_cast<int64_t>(shape.size())));
  const bool exclusive = ctx.GetInt("exclusive", 0) != 0;
  const bool reverse = ctx.GetInt("reverse", 0) != 0;
  const Layout l = AxisLayout(shape, axis);
  HALFCAST_ASSIGN_OR_RETURN(Tensor out, ctx.NewTensor(data->type(), shape));
  bool ok = true;
  HALFCAST_RETURN_IF_ERROR(DispatchNumeric(
      data->type(),
      [&](auto tag) {
        using T = decltype(tag);
        std::vector<T> acc(l.inner);
        for (int64_t o = 0; o < l.outer; ++o) {
          std::fill(acc.begin(), acc.end(), T{0});
          for (int64_t step = 0; step < l.reduced; ++step) {
            const int64_t r = reverse ? l.reduced - 1 - step : step;
            const int64_t at = (o * l.reduced + r) * l.inner;
            const T* x = data->data<T>() + at;
            T* y = out.mutable_data<T>() + at;
            for (int64_t i = 0; i < l.inner; ++i) {
              if (exclusive) y[i] = acc[i];
              ok &= AddInto(acc[i], x[i]);
              if (!exclusive) y[i] = acc[i];
            }
          }
        }
        return absl::OkStatus();
      },
      "CumSum"));
  if (!ok) return OverflowError(ctx);
  ctx.set_output(0, std::move(out));
  return absl::OkStatus();
}

const KernelDef kReductionKernels[] = {
    // ReduceSum took its axes as an input in opset 13, the others in 18.
    {"", "ReduceSum", 1, kLatest, ReduceKernel<ReduceKind::kSum, 13>},
    {"", "ReduceMean", 1, kLatest, ReduceKernel<ReduceKind::kMean, 18>},
    {"", "ReduceSumSquare", 1, kLatest, ReduceKernel<ReduceKind::kSumSquare, 18>},
    {"", "ReduceL1", 1, kLatest, ReduceKernel<ReduceKind::kL1, 18>},
    {"", "ReduceL2", 1, kLatest, ReduceKernel<ReduceKind::kL2, 18>},
    {"", "ReduceLogSum", 1, kLatest, ReduceKernel<ReduceKind::kLogSum, 18>},
    {"", "ReduceLogSumExp", 1, kLatest, ReduceKernel<ReduceKind::kLogSumExp, 18>},
    {"", "ReduceProd", 1, kLatest, ReduceKernel<ReduceKind::kProd, 18>},
    {"", "ReduceMax", 1, kLatest, ReduceKernel<ReduceKind::kMax, 18>},
    {"", "ReduceMin", 1, kLatest, ReduceKernel<ReduceKind::kMin, 18>},
    {"", "ArgMax", 1, kLatest, ArgExtreme<true>},
    {"", "ArgMin", 1, kLatest, ArgExtreme<false>},
    {"", "Softmax", 1, kLatest, SoftmaxFamily<SoftmaxKind::kSoftmax>},
    {"", "LogSoftmax", 1, kLatest, SoftmaxFamily<SoftmaxKind::kLogSoftmax>},
    {"", "Hardmax", 1, kLatest, SoftmaxFamily<SoftmaxKind::kHardmax>},
    {"", "TopK", 1, kLatest, TopK},
    {"", "CumSum", 11, kLatest, CumSum},
};

}  // namespace

absl::Span<const KernelDef> ReductionKernels() { return kReductionKernels; }

}  // namespace halfcast::eval
