// Conv, ConvTranspose, AveragePool, MaxPool, GlobalAveragePool, GlobalMaxPool and LRN, for 1-D to
// N-D spatial inputs in NC... layout.
//
// Conv is im2col + GEMM (Eigen) over tiles of output rows, so the column buffer stays small and
// tiles can run on several threads; depthwise convolutions (one input and one output channel per
// group) are computed directly, and 1x1 convolutions with unit strides multiply the input as is.
// ConvTranspose is GEMM + col2im. Every tile or channel writes only its own outputs, so results
// are the same for any thread count.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "eval/kernel.h"
#include "eval/kernels/conv_depthwise_avx.h"
#include "eval/kernels/linalg_util.h"

#define HALFCAST_DEPTHWISE_NAMESPACE generic
#include "eval/kernels/conv_depthwise_row.h"
#undef HALFCAST_DEPTHWISE_NAMESPACE

namespace halfcast::eval {
namespace {

using linalg::ShapeProduct;

// Bytes of im2col buffer one Conv tile may use.
constexpr int64_t kIm2ColTileBytes = int64_t{2} << 20;

int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
int64_t CeilDiv(int64_t a, int64_t b) { return -FloorDiv(-a, b); }

// Sliding-window geometry over the spatial dimensions: output position o of dimension i reads
// input position o * strides[i] - pad_begin[i] + tap * dilations[i].
struct Window {
  std::vector<int64_t> in, kernel, out, strides, dilations, pad_begin, pad_end;
  size_t rank() const { return in.size(); }
};

// Reads strides, dilations, pads and auto_pad; computes the output size. `ceil_mode` for pools.
absl::StatusOr<Window> MakeWindow(const KernelContext& context, std::vector<int64_t> in,
                                  std::vector<int64_t> kernel, bool ceil_mode) {
  const size_t rank = in.size();
  Window w;
  w.in = std::move(in);
  w.kernel = std::move(kernel);
  w.strides = context.GetInts("strides");
  w.dilations = context.GetInts("dilations");
  std::vector<int64_t> pads = context.GetInts("pads");
  if (w.strides.empty()) w.strides.assign(rank, 1);
  if (w.dilations.empty()) w.dilations.assign(rank, 1);
  if (pads.empty()) pads.assign(2 * rank, 0);
  if (w.kernel.size() != rank || w.strides.size() != rank || w.dilations.size() != rank ||
      pads.size() != 2 * rank) {
    return context.Error(absl::StrCat("kernel_shape, strides, dilations or pads do not match the ",
                                      rank, " spatial dimensions of the input"));
  }
  const std::string auto_pad = context.GetString("auto_pad", "NOTSET");
  w.pad_begin.assign(pads.begin(), pads.begin() + rank);
  w.pad_end.assign(pads.begin() + rank, pads.end());
  w.out.resize(rank);
  for (size_t i = 0; i < rank; ++i) {
    if (w.strides[i] < 1 || w.dilations[i] < 1 || w.kernel[i] < 1 || w.pad_begin[i] < 0 ||
        w.pad_end[i] < 0) {
      return context.Error("kernel sizes, strides and dilations must be >= 1 and pads >= 0");
    }
    const int64_t extent = (w.kernel[i] - 1) * w.dilations[i] + 1;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      w.out[i] = CeilDiv(w.in[i], w.strides[i]);
      const int64_t total = std::max<int64_t>(0, (w.out[i] - 1) * w.strides[i] + extent - w.in[i]);
      w.pad_begin[i] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      w.pad_end[i] = total - w.pad_begin[i];
      continue;
    }
    if (auto_pad == "VALID") {
      w.pad_begin[i] = w.pad_end[i] = 0;
    } else if (auto_pad != "NOTSET") {
      return context.Error(absl::StrCat("unknown auto_pad '", auto_pad, "'"));
    }
    const int64_t span = w.in[i] + w.pad_begin[i] + w.pad_end[i] - extent;
    if (span < 0) {
      return context.Error(absl::StrCat("the window (extent ", extent, ") is larger than the padded",
                                        " input (", w.in[i] + w.pad_begin[i] + w.pad_end[i],
                                        ") in spatial dimension ", i));
    }
    w.out[i] = (ceil_mode ? CeilDiv(span, w.strides[i]) : span / w.strides[i]) + 1;
    // A window starting in the end padding only exists because of ceil_mode: dropped.
    if (ceil_mode && (w.out[i] - 1) * w.strides[i] >= w.in[i] + w.pad_begin[i]) --w.out[i];
  }
  return w;
}

// For one kernel tap (an index into the kernel per dimension), calls
//   visit(out_offset, lo, hi, in_offset)
// for each output row (all dimensions but the last) in [row_begin, row_end): output positions
// [lo, hi) of the row read input[in_offset + (o - lo) * stride_last]; the rest read padding.
template <typename Visit>
void ForEachTapRow(const Window& w, const int64_t* tap, int64_t row_begin, int64_t row_end,
                   Visit&& visit) {
  const size_t last = w.rank() - 1;
  const int64_t base = tap[last] * w.dilations[last] - w.pad_begin[last];
  const int64_t s = w.strides[last];
  const int64_t lo = std::min(w.out[last], std::max<int64_t>(0, CeilDiv(-base, s)));
  const int64_t hi = std::max(lo, std::min(w.out[last], FloorDiv(w.in[last] - 1 - base, s) + 1));
  std::vector<int64_t> index(last, 0);
  int64_t rest = row_begin;
  for (size_t i = last; i-- > 0;) {
    index[i] = rest % w.out[i];
    rest /= w.out[i];
  }
  for (int64_t row = row_begin; row < row_end; ++row) {
    bool inside = true;
    int64_t in_offset = 0;
    for (size_t i = 0; i < last; ++i) {
      const int64_t pos = index[i] * w.strides[i] - w.pad_begin[i] + tap[i] * w.dilations[i];
      inside = inside && pos >= 0 && pos < w.in[i];
      in_offset = in_offset * w.in[i] + pos;
    }
    in_offset = in_offset * w.in[last] + lo * s + base;
    visit(row * w.out[last], inside ? lo : 0, inside ? hi : 0, in_offset);
    for (size_t i = last; i-- > 0;) {
      if (++index[i] < w.out[i]) break;
      index[i] = 0;
    }
  }
}

// Decodes kernel tap number `t` into per-dimension indices.
void TapIndex(const Window& w, int64_t t, int64_t* tap) {
  for (size_t i = w.rank(); i-- > 0;) {
    tap[i] = t % w.kernel[i];
    t /= w.kernel[i];
  }
}

// im2col of one group's channels over output rows [row_begin, row_end): col is
// [channels * taps, (row_end - row_begin) * out_last].
template <typename T>
void Im2Col(const Window& w, const T* in, int64_t channels, int64_t row_begin, int64_t row_end,
            T* col) {
  const int64_t taps = ShapeProduct(w.kernel, 0, w.rank());
  const int64_t in_size = ShapeProduct(w.in, 0, w.rank());
  const int64_t out_last = w.out.back();
  const int64_t s = w.strides.back();
  const int64_t width = (row_end - row_begin) * out_last;
  std::vector<int64_t> tap(w.rank());
  for (int64_t t = 0; t < taps; ++t) {
    TapIndex(w, t, tap.data());
    for (int64_t c = 0; c < channels; ++c) {
      const T* plane = in + c * in_size;
      T* dst = col + (c * taps + t) * width - row_begin * out_last;
      ForEachTapRow(w, tap.data(), row_begin, row_end,
                    [&](int64_t out_offset, int64_t lo, int64_t hi, int64_t in_offset) {
                      T* row = dst + out_offset;
                      std::fill(row, row + lo, T(0));
                      const T* src = plane + in_offset;
                      if (s == 1) {
                        std::copy(src, src + (hi - lo), row + lo);
                      } else {
                        for (int64_t o = lo; o < hi; ++o) row[o] = src[(o - lo) * s];
                      }
                      std::fill(row + hi, row + out_last, T(0));
                    });
    }
  }
}

// The fast path of Depthwise2D: the row kernel for `rows` kernel rows inside the input of a
// square 3x3 or 5x5 kernel with stride 1 or 2 along the row and no dilation; on x86-64 CPUs with
// AVX, the copy built for AVX (8 floats a step instead of 4). nullptr for other windows.
template <typename T>
using DepthwiseRowFn = depthwise::generic::RowFn<T>;
template <typename T>
DepthwiseRowFn<T> DepthwiseRowKernel(int64_t rows, int64_t k_h, int64_t k_w, int64_t s_w,
                                     int64_t d_h, int64_t d_w) {
  if (k_h != k_w || d_h != 1 || d_w != 1 || k_w > 5) return nullptr;
  const int r = static_cast<int>(rows), k = static_cast<int>(k_w), s = static_cast<int>(s_w);
#if defined(HALFCAST_HAVE_AVX_DEPTHWISE)
  if constexpr (std::is_same_v<T, float>) {
    static const bool avx = __builtin_cpu_supports("avx");
    if (avx) return depthwise::avx::RowKernelF32(r, k, s);
  }
#endif
  return depthwise::generic::RowKernel<T>(r, k, s);
}

// A 1-D or 2-D depthwise convolution: the geometry every channel shares, worked out once per
// node. Each output is the sum of its taps inside the input, from +0 in (kh, kw) order, written
// once (the output need not start zeroed). Columns whose taps all lie inside the input row go
// through the register-blocked row kernel of conv_depthwise_row.h, which sums in the same order.
template <typename T>
class Depthwise2D {
 public:
  explicit Depthwise2D(const Window& w) {
    const bool two_d = w.rank() == 2;
    in_h_ = two_d ? w.in[0] : 1;
    out_h_ = two_d ? w.out[0] : 1;
    k_h_ = two_d ? w.kernel[0] : 1;
    s_h_ = two_d ? w.strides[0] : 1;
    d_h_ = two_d ? w.dilations[0] : 1;
    p_h_ = two_d ? w.pad_begin[0] : 0;
    in_w_ = w.in.back();
    out_w_ = w.out.back();
    k_w_ = w.kernel.back();
    s_w_ = w.strides.back();
    d_w_ = w.dilations.back();
    p_w_ = w.pad_begin.back();
    kw_begin_.resize(out_w_);
    kw_end_.resize(out_w_);
    for (int64_t o = 0; o < out_w_; ++o) {
      TapRange(o * s_w_ - p_w_, d_w_, k_w_, in_w_, &kw_begin_[o], &kw_end_[o]);
      if (kw_begin_[o] == 0 && kw_end_[o] == k_w_) {
        if (inner_end_ <= inner_begin_) inner_begin_ = o;
        inner_end_ = o + 1;
      }
    }
    if (inner_begin_ < inner_end_) {
      for (int64_t rows = 1; rows <= std::min<int64_t>(k_h_, 5); ++rows) {
        interior_[rows] = DepthwiseRowKernel<T>(rows, k_h_, k_w_, s_w_, d_h_, d_w_);
      }
    }
  }

  void Channel(const T* in, const T* weights, T* out) const {
    for (int64_t oh = 0; oh < out_h_; ++oh) {
      T* row = out + oh * out_w_;
      const int64_t top = oh * s_h_ - p_h_;
      int64_t kh_begin, kh_end;
      TapRange(top, d_h_, k_h_, in_h_, &kh_begin, &kh_end);
      int64_t skip_begin = 0, skip_end = 0;  // columns the row kernel wrote
      const DepthwiseRowFn<T> interior =
          kh_end > kh_begin ? interior_[std::min<int64_t>(kh_end - kh_begin, 5)] : nullptr;
      if (interior != nullptr) {
        const T* rows[5];
        for (int64_t kh = kh_begin; kh < kh_end; ++kh) {
          rows[kh - kh_begin] = in + (top + kh * d_h_) * in_w_;
        }
        interior(rows, weights + kh_begin * k_w_, p_w_, inner_begin_, inner_end_, row);
        skip_begin = inner_begin_;
        skip_end = inner_end_;
      }
      for (int64_t o = 0; o < out_w_; ++o) {
        if (o == skip_begin && skip_begin < skip_end) {
          o = skip_end - 1;
          continue;
        }
        const int64_t left = o * s_w_ - p_w_;
        T acc = T(0);
        for (int64_t kh = kh_begin; kh < kh_end; ++kh) {
          const T* src = in + (top + kh * d_h_) * in_w_ + left;
          const T* w = weights + kh * k_w_;
          for (int64_t kw = kw_begin_[o]; kw < kw_end_[o]; ++kw) acc += w[kw] * src[kw * d_w_];
        }
        row[o] = acc;
      }
    }
  }

 private:
  // The taps k in [0, k_size) whose input index start + k * dilation lies in [0, in_size).
  static void TapRange(int64_t start, int64_t dilation, int64_t k_size, int64_t in_size,
                       int64_t* begin, int64_t* end) {
    *begin = std::clamp<int64_t>(CeilDiv(-start, dilation), 0, k_size);
    *end = std::clamp<int64_t>(FloorDiv(in_size - 1 - start, dilation) + 1, *begin, k_size);
  }

  int64_t in_h_, out_h_, k_h_, s_h_, d_h_, p_h_, in_w_, out_w_, k_w_, s_w_, d_w_, p_w_;
  std::vector<int64_t> kw_begin_, kw_end_;  // per output column: its taps inside the row
  // Row kernels by the number of kernel rows inside the input (1 to 5); nullptr where none fits.
  DepthwiseRowFn<T> interior_[6] = {};
  int64_t inner_begin_ = 0, inner_end_ = 0;  // columns whose taps are all inside the row
};

// One channel of a 3-D or higher depthwise convolution: out (zeroed) += sum over taps of weight *
// shifted input.
template <typename T>
void DepthwiseChannel(const Window& w, const T* in, const T* weights, T* out) {
  const int64_t taps = ShapeProduct(w.kernel, 0, w.rank());
  const int64_t rows = ShapeProduct(w.out, 0, w.rank() - 1);
  const int64_t s = w.strides.back();
  std::vector<int64_t> tap(w.rank());
  for (int64_t t = 0; t < taps; ++t) {
    TapIndex(w, t, tap.data());
    const T weight = weights[t];
    ForEachTapRow(w, tap.data(), 0, rows,
                  [&](int64_t out_offset, int64_t lo, int64_t hi, int64_t in_offset) {
                    T* row = out + out_offset;
                    const T* src = in + in_offset;
                    if (s == 1) {
                      for (int64_t o = lo; o < hi; ++o) row[o] += weight * src[o - lo];
                    } else {
                      for (int64_t o = lo; o < hi; ++o) row[o] += weight * src[(o - lo) * s];
                    }
                  });
  }
}

// Spatial shape (dimensions 2..) of a tensor of rank >= 3, or an error.
absl::StatusOr<std::vector<int64_t>> SpatialShape(const KernelContext& context, const Tensor& x) {
  if (x.shape().size() < 3) {
    return context.Error(absl::StrCat("input must be [N, C, D1, ...], got rank ",
                                      x.shape().size()));
  }
  return std::vector<int64_t>(x.shape().begin() + 2, x.shape().end());
}

// kernel_shape from the attribute, checked against the weights' spatial dimensions.
absl::StatusOr<std::vector<int64_t>> ConvKernelShape(const KernelContext& context,
                                                     const Tensor& weights, size_t rank) {
  const std::vector<int64_t>& shape = weights.shape();
  const std::vector<int64_t> kernel(shape.begin() + std::min<size_t>(2, shape.size()), shape.end());
  const std::vector<int64_t> attribute = context.GetInts("kernel_shape");
  if (shape.size() != rank + 2 || (!attribute.empty() && attribute != kernel)) {
    return context.Error(absl::StrCat("weights of shape [", absl::StrJoin(weights.shape(), ","),
                                      "] do not fit the input or kernel_shape"));
  }
  return kernel;
}

template <typename T>
absl::Status ConvTyped(KernelContext& context, const Tensor& x, const Tensor& weights,
                       const Tensor* bias) {
  HALFCAST_ASSIGN_OR_RETURN(std::vector<int64_t> spatial, SpatialShape(context, x));
  HALFCAST_ASSIGN_OR_RETURN(std::vector<int64_t> kernel,
                            ConvKernelShape(context, weights, spatial.size()));
  HALFCAST_ASSIGN_OR_RETURN(Window w, MakeWindow(context, spatial, kernel, false));
  const int64_t batch = x.shape()[0], channels = x.shape()[1], maps = weights.shape()[0];
  const int64_t group = context.GetInt("group", 1);
  if (group < 1 || channels % group != 0 || maps % group != 0 ||
      weights.shape()[1] != channels / group) {
    return context.Error(absl::StrCat("group ", group, " does not fit ", channels,
                                      " input channels and weights [",
                                      absl::StrJoin(weights.shape(), ","), "]"));
  }
  if (bias != nullptr && bias->element_count() != maps) {
    return context.Error(
        absl::StrCat("bias has ", bias->element_count(), " values for ", maps, " output channels"));
  }
  std::vector<int64_t> out_shape = {batch, maps};
  out_shape.insert(out_shape.end(), w.out.begin(), w.out.end());
  const int64_t cg = channels / group, mg = maps / group;
  // The N-D depthwise loop accumulates into zeros; the other paths write every element.
  const bool depthwise = cg == 1 && mg == 1;
  HALFCAST_ASSIGN_OR_RETURN(Tensor y, depthwise && w.rank() > 2
                                          ? context.NewTensor(x.type(), out_shape)
                                          : context.NewUninitializedTensor(x.type(), out_shape));
  const int64_t in_size = ShapeProduct(w.in, 0, w.rank());
  const int64_t out_size = ShapeProduct(w.out, 0, w.rank());
  const int64_t taps = ShapeProduct(w.kernel, 0, w.rank());
  const T* px = x.data<T>();
  const T* pw = weights.data<T>();
  T* py = y.mutable_data<T>();
  const int threads = out_size * taps * cg * mg * group > (1 << 16) ? context.threads() : 1;
  const bool pointwise =
      taps == 1 &&
      std::all_of(w.strides.begin(), w.strides.end(), [](int64_t s) { return s == 1; }) &&
      std::all_of(w.pad_begin.begin(), w.pad_begin.end(), [](int64_t p) { return p == 0; }) &&
      std::all_of(w.pad_end.begin(), w.pad_end.end(), [](int64_t p) { return p == 0; });
  if (depthwise && w.rank() <= 2) {
    const Depthwise2D<T> plan(w);
    linalg::ParallelFor(threads, batch * group, [&](int64_t i) {
      plan.Channel(px + i * in_size, pw + (i % group) * taps, py + i * out_size);
    });
  } else if (depthwise) {
    linalg::ParallelFor(threads, batch * group, [&](int64_t i) {
      DepthwiseChannel(w, px + i * in_size, pw + (i % group) * taps, py + i * out_size);
    });
  } else if (pointwise) {
    for (int64_t i = 0; i < batch * group; ++i) {
      const int64_t n = i / group, g = i % group;
      linalg::Gemm<T>(false, false, mg, out_size, cg, T(1), pw + g * mg * cg,
                      px + (n * channels + g * cg) * in_size, T(0),
                      py + (n * maps + g * mg) * out_size, out_size, context.threads());
    }
  } else {
    // Tiles of whole output rows, each with its own column buffer.
    const int64_t rows = ShapeProduct(w.out, 0, w.rank() - 1);
    const int64_t row_bytes = cg * taps * w.out.back() * static_cast<int64_t>(sizeof(T));
    const int64_t tile_rows = std::clamp<int64_t>(kIm2ColTileBytes / std::max<int64_t>(row_bytes, 1), 1, rows);
    const int64_t tiles = (rows + tile_rows - 1) / tile_rows;
    linalg::ParallelFor(threads, batch * group * tiles, [&](int64_t i) {
      const int64_t tile = i % tiles, n = i / tiles / group, g = i / tiles % group;
      const int64_t row_begin = tile * tile_rows, row_end = std::min(rows, row_begin + tile_rows);
      const int64_t width = (row_end - row_begin) * w.out.back();
      // Uninitialised: Im2Col writes every element.
      std::unique_ptr<T[]> col(new T[cg * taps * width]);
      Im2Col(w, px + (n * channels + g * cg) * in_size, cg, row_begin, row_end, col.get());
      linalg::Gemm<T>(false, false, mg, width, cg * taps, T(1), pw + g * mg * cg * taps,
                      col.get(), T(0),
                      py + (n * maps + g * mg) * out_size + row_begin * w.out.back(), out_size, 1);
    });
  }
  if (bias != nullptr) {
    const T* pb = bias->data<T>();
    for (int64_t i = 0; i < batch * maps; ++i) {
      T* plane = py + i * out_size;
      const T b = pb[i % maps];
      for (int64_t j = 0; j < out_size; ++j) plane[j] += b;
    }
  }
  context.set_output(0, std::move(y));
  return absl::OkStatus();
}

absl::Status CheckSameFloatType(const KernelContext& context, const Tensor& x, const Tensor* t,
                                int i) {
  if (t == nullptr || t->type() == x.type()) return absl::OkStatus();
  return linalg::RequireType(context, *t, i, x.type());
}

absl::Status Conv(KernelContext& context) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* x, linalg::FloatInput(context, 0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* weights, context.RequiredInput(1));
  const Tensor* bias = context.input(2);
  HALFCAST_RETURN_IF_ERROR(CheckSameFloatType(context, *x, weights, 1));
  HALFCAST_RETURN_IF_ERROR(CheckSameFloatType(context, *x, bias, 2));
  if (x->type() == DataType::kDouble) return ConvTyped<double>(context, *x, *weights, bias);
  return ConvTyped<float>(context, *x, *weights, bias);
}

// ---- ConvTranspose ----------------------------------------------------------------------------

template <typename T>
absl::Status ConvTransposeTyped(KernelContext& context, const Tensor& x, const Tensor& weights,
                                const Tensor* bias) {
  HALFCAST_ASSIGN_OR_RETURN(std::vector<int64_t> spatial, SpatialShape(context, x));
  const size_t rank = spatial.size();
  HALFCAST_ASSIGN_OR_RETURN(std::vector<int64_t> kernel, ConvKernelShape(context, weights, rank));
  const int64_t batch = x.shape()[0], channels = x.shape()[1];
  const int64_t group = context.GetInt("group", 1);
  if (group < 1 || channels % group != 0 || weights.shape()[0] != channels) {
    return context.Error(absl::StrCat("group ", group, " does not fit ", channels,
                                      " input channels and weights [",
                                      absl::StrJoin(weights.shape(), ","), "]"));
  }
  const int64_t mg = weights.shape()[1], maps = mg * group, cg = channels / group;
  if (bias != nullptr && bias->element_count() != maps) {
    return context.Error(absl::StrCat("bias has ", bias->element_count(), " values for ", maps,
                                      " output channels"));
  }
  std::vector<int64_t> strides = context.GetInts("strides"), dilations = context.GetInts("dilations");
  std::vector<int64_t> pads = context.GetInts("pads"), output_padding = context.GetInts("output_padding");
  std::vector<int64_t> output_shape = context.GetInts("output_shape");
  if (strides.empty()) strides.assign(rank, 1);
  if (dilations.empty()) dilations.assign(rank, 1);
  if (pads.empty()) pads.assign(2 * rank, 0);
  if (output_padding.empty()) output_padding.assign(rank, 0);
  if (output_shape.size() == rank + 2) output_shape.erase(output_shape.begin(), output_shape.begin() + 2);
  if (strides.size() != rank || dilations.size() != rank || pads.size() != 2 * rank ||
      output_padding.size() != rank || (!output_shape.empty() && output_shape.size() != rank)) {
    return context.Error("strides, dilations, pads, output_padding or output_shape do not match "
                         "the input's spatial rank");
  }
  const std::string auto_pad = context.GetString("auto_pad", "NOTSET");
  // The transposed convolution is the adjoint of a convolution from the output to the input:
  // describe that convolution's window and scatter along it (col2im).
  Window w;
  w.out = spatial;
  w.kernel = kernel;
  w.strides = strides;
  w.dilations = dilations;
  w.in.resize(rank);
  w.pad_begin.assign(pads.begin(), pads.begin() + rank);
  w.pad_end.assign(pads.begin() + rank, pads.end());
  for (size_t i = 0; i < rank; ++i) {
    if (strides[i] < 1 || dilations[i] < 1) return context.Error("strides and dilations must be >= 1");
    const int64_t full = (spatial[i] - 1) * strides[i] + output_padding[i] +
                         (kernel[i] - 1) * dilations[i] + 1;
    const bool same = auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER";
    if (!output_shape.empty() || same) {
      const int64_t target = output_shape.empty() ? spatial[i] * strides[i] : output_shape[i];
      const int64_t total = full - target;
      if (total < 0) {
        // A larger output_shape than the full result: the extra positions stay zero.
        w.pad_begin[i] = 0;
        w.pad_end[i] = total;
      } else {
        // The spec's split (ONNX's conformance data agrees): SAME_UPPER pads more at the end.
        w.pad_begin[i] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
        w.pad_end[i] = total - w.pad_begin[i];
      }
    } else if (auto_pad == "VALID") {
      w.pad_begin[i] = w.pad_end[i] = 0;
    }
    w.in[i] = full - w.pad_begin[i] - w.pad_end[i];
    if (w.in[i] < 0) return context.Error("pads exceed the transposed convolution's output");
  }
  std::vector<int64_t> out_shape = {batch, maps};
  out_shape.insert(out_shape.end(), w.in.begin(), w.in.end());
  HALFCAST_ASSIGN_OR_RETURN(Tensor y, context.NewTensor(x.type(), out_shape));
  const int64_t in_size = ShapeProduct(spatial, 0, rank);
  const int64_t out_size = ShapeProduct(w.in, 0, rank);
  const int64_t taps = ShapeProduct(kernel, 0, rank);
  const int64_t rows = ShapeProduct(w.out, 0, rank - 1);
  const int64_t s = strides.back();
  const T* px = x.data<T>();
  const T* pw = weights.data<T>();
  T* py = y.mutable_data<T>();
  std::vector<T> col(mg * taps * in_size);
  std::vector<int64_t> tap(rank);
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t g = 0; g < group; ++g) {
      // col[mg * taps, in_size] = W_g^T * X_g, W_g stored [cg, mg * taps].
      linalg::Gemm<T>(true, false, mg * taps, in_size, cg, T(1), pw + g * cg * mg * taps,
                      px + (n * channels + g * cg) * in_size, T(0), col.data(), in_size,
                      context.threads());
      for (int64_t m = 0; m < mg; ++m) {
        T* plane = py + (n * maps + g * mg + m) * out_size;
        for (int64_t t = 0; t < taps; ++t) {
          TapIndex(w, t, tap.data());
          const T* src_rows = col.data() + (m * taps + t) * in_size;
          ForEachTapRow(w, tap.data(), 0, rows,
                        [&](int64_t src_offset, int64_t lo, int64_t hi, int64_t dst_offset) {
                          const T* src = src_rows + src_offset;
                          T* dst = plane + dst_offset;
                          for (int64_t o = lo; o < hi; ++o) dst[(o - lo) * s] += src[o];
                        });
        }
      }
    }
  }
  if (bias != nullptr) {
    const T* pb = bias->data<T>();
    for (int64_t i = 0; i < batch * maps; ++i) {
      T* plane = py + i * out_size;
      for (int64_t j = 0; j < out_size; ++j) plane[j] += pb[i % maps];
    }
  }
  context.set_output(0, std::move(y));
  return absl::OkStatus();
}

absl::Status ConvTranspose(KernelContext& context) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* x, linalg::FloatInput(context, 0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* weights, context.RequiredInput(1));
  const Tensor* bias = context.input(2);
  HALFCAST_RETURN_IF_ERROR(CheckSameFloatType(context, *x, weights, 1));
  HALFCAST_RETURN_IF_ERROR(CheckSameFloatType(context, *x, bias, 2));
  if (weights->shape().size() != x->shape().size()) {
    return context.Error("weights must have the input's rank");
  }
  if (x->type() == DataType::kDouble) return ConvTransposeTyped<double>(context, *x, *weights, bias);
  return ConvTransposeTyped<float>(context, *x, *weights, bias);
}

// ---- Pools ------------------------------------------------------------------------------------

// A pool's window over one [D, H, W] plane: ranks 1 and 2 are padded to 3 with unit dimensions.
struct Pool3 {
  int64_t in[3], out[3], kernel[3], stride[3], dilation[3], pad_begin[3], pad_end[3];
};

Pool3 ToPool3(const Window& w) {
  Pool3 p;
  const size_t shift = 3 - w.rank();
  for (size_t i = 0; i < 3; ++i) {
    const bool real = i >= shift;
    p.in[i] = real ? w.in[i - shift] : 1;
    p.out[i] = real ? w.out[i - shift] : 1;
    p.kernel[i] = real ? w.kernel[i - shift] : 1;
    p.stride[i] = real ? w.strides[i - shift] : 1;
    p.dilation[i] = real ? w.dilations[i - shift] : 1;
    p.pad_begin[i] = real ? w.pad_begin[i - shift] : 0;
    p.pad_end[i] = real ? w.pad_end[i - shift] : 0;
  }
  return p;
}

// A pool's window along each of its three axes, per output index: the first input position,
// the range of kernel taps inside the input, and the count of taps inside [-pad_begin, in +
// pad_end) (the count_include_pad divisor). Worked out once per node, not per plane.
struct PoolAxes {
  explicit PoolAxes(const Pool3& p) {
    for (int i = 0; i < 3; ++i) {
      for (int64_t o = 0; o < p.out[i]; ++o) {
        const int64_t first = o * p.stride[i] - p.pad_begin[i];
        int64_t padded_count = 0, lo = p.kernel[i], hi = 0;
        for (int64_t k = 0; k < p.kernel[i]; ++k) {
          const int64_t pos = first + k * p.dilation[i];
          if (pos < p.in[i] + p.pad_end[i]) ++padded_count;
          if (pos >= 0 && pos < p.in[i]) {
            lo = std::min(lo, k);
            hi = k + 1;
          }
        }
        start[i].push_back(first);
        tap_begin[i].push_back(lo);
        tap_end[i].push_back(hi);
        padded[i].push_back(padded_count);
      }
    }
  }
  std::vector<int64_t> start[3], tap_begin[3], tap_end[3], padded[3];
};

// Calls visit(out_index, taps, padded_taps) per output position of one plane with the input
// offsets under its window (in (d, h, w) order) and the count_include_pad divisor.
template <typename Visit>
void ForEachPoolWindow(const Pool3& p, const PoolAxes& axes, Visit&& visit) {
  std::vector<int64_t> offsets;
  int64_t out_index = 0;
  for (int64_t od = 0; od < p.out[0]; ++od) {
    for (int64_t oh = 0; oh < p.out[1]; ++oh) {
      for (int64_t ow = 0; ow < p.out[2]; ++ow, ++out_index) {
        offsets.clear();
        for (int64_t kd = axes.tap_begin[0][od]; kd < axes.tap_end[0][od]; ++kd) {
          const int64_t d = axes.start[0][od] + kd * p.dilation[0];
          for (int64_t kh = axes.tap_begin[1][oh]; kh < axes.tap_end[1][oh]; ++kh) {
            const int64_t h = axes.start[1][oh] + kh * p.dilation[1];
            const int64_t row = (d * p.in[1] + h) * p.in[2];
            for (int64_t kw = axes.tap_begin[2][ow]; kw < axes.tap_end[2][ow]; ++kw) {
              offsets.push_back(row + axes.start[2][ow] + kw * p.dilation[2]);
            }
          }
        }
        visit(out_index, offsets, axes.padded[0][od] * axes.padded[1][oh] * axes.padded[2][ow]);
      }
    }
  }
}

absl::StatusOr<Window> PoolWindow(const KernelContext& context, const Tensor& x) {
  HALFCAST_ASSIGN_OR_RETURN(std::vector<int64_t> spatial, SpatialShape(context, x));
  if (spatial.size() > 3) return context.Error("pools support 1 to 3 spatial dimensions");
  const std::vector<int64_t> kernel = context.GetInts("kernel_shape");
  if (kernel.empty()) return context.Error("missing attribute kernel_shape");
  return MakeWindow(context, spatial, kernel, context.GetInt("ceil_mode", 0) != 0);
}

template <typename T>
absl::Status AveragePoolTyped(KernelContext& context, const Tensor& x) {
  HALFCAST_ASSIGN_OR_RETURN(Window w, PoolWindow(context, x));
  const bool include_pad = context.GetInt("count_include_pad", 0) != 0;
  std::vector<int64_t> out_shape = {x.shape()[0], x.shape()[1]};
  out_shape.insert(out_shape.end(), w.out.begin(), w.out.end());
  HALFCAST_ASSIGN_OR_RETURN(Tensor y, context.NewUninitializedTensor(x.type(), out_shape));
  const Pool3 p = ToPool3(w);
  const PoolAxes axes(p);
  const int64_t planes = x.shape()[0] * x.shape()[1];
  const int64_t in_size = p.in[0] * p.in[1] * p.in[2], out_size = p.out[0] * p.out[1] * p.out[2];
  const T* px = x.data<T>();
  T* py = y.mutable_data<T>();
  for (int64_t c = 0; c < planes; ++c) {
    const T* in = px + c * in_size;
    T* out = py + c * out_size;
    ForEachPoolWindow(
        p, axes, [&](int64_t o, const std::vector<int64_t>& taps, int64_t padded_taps) {
          T sum = T(0);
          for (int64_t t : taps) sum += in[t];
          const int64_t count = include_pad ? padded_taps : static_cast<int64_t>(taps.size());
          out[o] = count > 0 ? sum / static_cast<T>(count) : T(0);
        });
  }
  context.set_output(0, std::move(y));
  return absl::OkStatus();
}

absl::Status AveragePool(KernelContext& context) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* x, linalg::FloatInput(context, 0));
  if (x->type() == DataType::kDouble) return AveragePoolTyped<double>(context, *x);
  return AveragePoolTyped<float>(context, *x);
}

template <typename T>
absl::Status MaxPoolTyped(KernelContext& context, const Tensor& x) {
  HALFCAST_ASSIGN_OR_RETURN(Window w, PoolWindow(context, x));
  const bool column_major = context.GetInt("storage_order", 0) != 0;
  std::vector<int64_t> out_shape = {x.shape()[0], x.shape()[1]};
  out_shape.insert(out_shape.end(), w.out.begin(), w.out.end());
  HALFCAST_ASSIGN_OR_RETURN(Tensor y, context.NewUninitializedTensor(x.type(), out_shape));
  const bool want_indices = context.output_wanted(1);
  Tensor indices;
  if (want_indices) {
    HALFCAST_ASSIGN_OR_RETURN(indices, context.NewUninitializedTensor(DataType::kInt64, out_shape));
  }
  const Pool3 p = ToPool3(w);
  const PoolAxes axes(p);
  const int64_t planes = x.shape()[0] * x.shape()[1];
  const int64_t in_size = p.in[0] * p.in[1] * p.in[2], out_size = p.out[0] * p.out[1] * p.out[2];
  const T* px = x.data<T>();
  T* py = y.mutable_data<T>();
  int64_t* pi = want_indices ? indices.mutable_data<int64_t>() : nullptr;
  if (pi == nullptr) {
    // Without indices, each window's maximum straight from the input rows (same comparisons in
    // the same order as below, without listing the taps).
    for (int64_t c = 0; c < planes; ++c) {
      const T* in = px + c * in_size;
      T* out = py + c * out_size;
      for (int64_t od = 0; od < p.out[0]; ++od) {
        for (int64_t oh = 0; oh < p.out[1]; ++oh) {
          for (int64_t ow = 0; ow < p.out[2]; ++ow) {
            T best = std::numeric_limits<T>::lowest();
            for (int64_t kd = axes.tap_begin[0][od]; kd < axes.tap_end[0][od]; ++kd) {
              const int64_t d = axes.start[0][od] + kd * p.dilation[0];
              for (int64_t kh = axes.tap_begin[1][oh]; kh < axes.tap_end[1][oh]; ++kh) {
                const int64_t h = axes.start[1][oh] + kh * p.dilation[1];
                const T* src = in + (d * p.in[1] + h) * p.in[2] + axes.start[2][ow];
                for (int64_t kw = axes.tap_begin[2][ow]; kw < axes.tap_end[2][ow]; ++kw) {
                  const T v = src[kw * p.dilation[2]];
                  if (v > best) best = v;
                }
              }
            }
            *out++ = best;
          }
        }
      }
    }
    context.set_output(0, std::move(y));
    return absl::OkStatus();
  }
  for (int64_t c = 0; c < planes; ++c) {
    const T* in = px + c * in_size;
    T* out = py + c * out_size;
    ForEachPoolWindow(p, axes, [&](int64_t o, const std::vector<int64_t>& taps, int64_t) {
      T best = std::numeric_limits<T>::lowest();
      int64_t best_tap = taps.empty() ? 0 : taps[0];
      for (int64_t t : taps) {
        if (in[t] > best) {
          best = in[t];
          best_tap = t;
        }
      }
      out[o] = best;
      if (pi == nullptr) return;
      int64_t index = best_tap;
      if (column_major) {
        // Row-major offset (d, h, w) -> column-major over the real dimensions.
        const int64_t d = best_tap / (p.in[1] * p.in[2]);
        const int64_t h = best_tap / p.in[2] % p.in[1];
        const int64_t x_pos = best_tap % p.in[2];
        index = d + h * p.in[0] + x_pos * p.in[0] * p.in[1];
      }
      pi[c * out_size + o] = c * in_size + index;
    });
  }
  context.set_output(0, std::move(y));
  if (want_indices) context.set_output(1, std::move(indices));
  return absl::OkStatus();
}

absl::Status MaxPool(KernelContext& context) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* x, context.RequiredInput(0));
  switch (x->type()) {
    case DataType::kFloat: return MaxPoolTyped<float>(context, *x);
    case DataType::kDouble: return MaxPoolTyped<double>(context, *x);
    case DataType::kInt8: return MaxPoolTyped<int8_t>(context, *x);
    case DataType::kUint8: return MaxPoolTyped<uint8_t>(context, *x);
    default:
      return context.Error(absl::StrCat("unsupported element type ", DataTypeName(x->type())));
  }
}

template <typename T, bool kMax>
absl::Status GlobalPoolTyped(KernelContext& context, const Tensor& x) {
  std::vector<int64_t> out_shape = x.shape();
  for (size_t i = 2; i < out_shape.size(); ++i) out_shape[i] = 1;
  HALFCAST_ASSIGN_OR_RETURN(Tensor y, context.NewUninitializedTensor(x.type(), out_shape));
  const int64_t planes = ShapeProduct(x.shape(), 0, 2);
  const int64_t size = ShapeProduct(x.shape(), 2, x.shape().size());
  const T* px = x.data<T>();
  T* py = y.mutable_data<T>();
  for (int64_t c = 0; c < planes; ++c) {
    const T* in = px + c * size;
    if (kMax) {
      py[c] = size > 0 ? *std::max_element(in, in + size) : std::numeric_limits<T>::lowest();
    } else {
      // Eight running sums (a vector register's worth) rather than one long dependency chain:
      // faster, and no less accurate.
      T partial[8] = {};
      int64_t i = 0;
      for (; i + 8 <= size; i += 8) {
        for (int j = 0; j < 8; ++j) partial[j] += in[i + j];
      }
      T sum = T(0);
      for (T p : partial) sum += p;
      for (; i < size; ++i) sum += in[i];
      py[c] = sum / static_cast<T>(size);
    }
  }
  context.set_output(0, std::move(y));
  return absl::OkStatus();
}

template <bool kMax>
absl::Status GlobalPool(KernelContext& context) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* x, linalg::FloatInput(context, 0));
  if (x->shape().size() < 2) return context.Error("input must be [N, C, ...]");
  if (x->type() == DataType::kDouble) return GlobalPoolTyped<double, kMax>(context, *x);
  return GlobalPoolTyped<float, kMax>(context, *x);
}

template <typename T>
absl::Status LrnTyped(KernelContext& context, const Tensor& x) {
  const int64_t size = context.GetInt("size", 0);
  if (size < 1) return context.Error("attribute size must be >= 1");
  const double alpha = context.GetFloat("alpha", 1e-4f), beta = context.GetFloat("beta", 0.75f);
  const double bias = context.GetFloat("bias", 1.0f);
  if (x.shape().size() < 2) return context.Error("input must be [N, C, ...]");
  HALFCAST_ASSIGN_OR_RETURN(Tensor y, context.NewTensor(x.type(), x.shape()));
  const int64_t batch = x.shape()[0], channels = x.shape()[1];
  const int64_t plane = ShapeProduct(x.shape(), 2, x.shape().size());
  const int64_t before = (size - 1) / 2, after = size - 1 - before;
  const T* px = x.data<T>();
  T* py = y.mutable_data<T>();
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t c = 0; c < channels; ++c) {
      const int64_t c0 = std::max<int64_t>(0, c - before), c1 = std::min(channels - 1, c + after);
      for (int64_t i = 0; i < plane; ++i) {
        double square_sum = 0;
        for (int64_t j = c0; j <= c1; ++j) {
          const double v = px[(n * channels + j) * plane + i];
          square_sum += v * v;
        }
        const int64_t at = (n * channels + c) * plane + i;
        py[at] = static_cast<T>(px[at] / std::pow(bias + alpha / size * square_sum, beta));
      }
    }
  }
  context.set_output(0, std::move(y));
  return absl::OkStatus();
}

absl::Status Lrn(KernelContext& context) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* x, linalg::FloatInput(context, 0));
  if (x->type() == DataType::kDouble) return LrnTyped<double>(context, *x);
  return LrnTyped<float>(context, *x);
}

const KernelDef kConvKernels[] = {
    {"", "Conv", 1, 17, Conv},
    {"", "ConvTranspose", 1, 17, ConvTranspose},
    {"", "AveragePool", 1, 17, AveragePool},
    {"", "MaxPool", 1, 17, MaxPool},
    {"", "GlobalAveragePool", 1, 17, GlobalPool<false>},
    {"", "GlobalMaxPool", 1, 17, GlobalPool<true>},
    {"", "LRN", 1, 17, Lrn},
};

}  // namespace

absl::Span<const KernelDef> ConvKernels() { return kConvKernels; }

}  // namespace halfcast::eval
