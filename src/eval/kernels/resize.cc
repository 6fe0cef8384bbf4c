// Resize (opsets 10, 11, 13) and Upsample (7, 9).
//
// Interpolation is separable: each resized dimension is one pass that maps every output index to
// a few (input index, weight) taps (1 for nearest, 2 for linear, 4 for cubic), so an N-D resize
// costs taps * elements per resized dimension. tf_crop_and_resize's extrapolation marks whole
// output hyperplanes; later passes only blend extrapolated values with each other.
// Where the spec leaves a choice (opset 10 and Upsample's nearest rounding, output sizes from
// scales), this follows ONNX Runtime.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "eval/kernel.h"
#include "eval/kernels/dispatch.h"
#include "eval/kernels/linalg_util.h"

namespace halfcast::eval {
namespace {

using linalg::ShapeProduct;

struct ResizeSettings {
  std::string mode = "nearest";
  std::string coordinates = "asymmetric";
  // "simple" is opset 10 / Upsample: truncate when upsampling, ceil when downsampling.
  std::string nearest = "simple";
  double cubic_a = -0.75;
  bool exclude_outside = false;
  double extrapolation = 0;
};

struct Tap {
  int64_t index;
  double weight;
};

// Taps of one output index; `extrapolate` when the coordinate falls outside a crop.
struct OutputTaps {
  std::vector<Tap> taps;
  bool extrapolate = false;
};

// `out` is the resized length: in * scale, not rounded (as ONNX's reference computes it, so
// align_corners with scales 0.6 on 4 values divides by 1.4, not by 1).
double SourceCoordinate(const ResizeSettings& s, int64_t o, int64_t in, double out, double scale,
                        double roi_start, double roi_end) {
  const std::string& mode = s.coordinates;
  if (mode == "half_pixel") return (o + 0.5) / scale - 0.5;
  if (mode == "pytorch_half_pixel") return out > 1 ? (o + 0.5) / scale - 0.5 : 0.0;
  if (mode == "align_corners") return out == 1 ? 0.0 : o * (in - 1) / (out - 1);
  if (mode == "tf_half_pixel_for_nn") return (o + 0.5) / scale;
  if (mode == "tf_crop_and_resize") {
    return out > 1 ? roi_start * (in - 1) + o * (roi_end - roi_start) * (in - 1) / (out - 1)
                   : 0.5 * (roi_start + roi_end) * (in - 1);
  }
  return o / scale;  // asymmetric
}

int64_t NearestIndex(const std::string& rule, double x, bool downsampling) {
  if (rule == "simple") return static_cast<int64_t>(downsampling ? std::ceil(x) : x);
  if (rule == "floor") return static_cast<int64_t>(std::floor(x));
  if (rule == "ceil") return static_cast<int64_t>(std::ceil(x));
  if (rule == "round_prefer_ceil") return static_cast<int64_t>(std::round(x));
  // round_prefer_floor
  if (x == std::floor(x) + 0.5) return static_cast<int64_t>(std::floor(x));
  return static_cast<int64_t>(std::round(x));
}

std::vector<OutputTaps> ComputeTaps(const ResizeSettings& s, int64_t in, int64_t out, double scale,
                                    double roi_start, double roi_end) {
  std::vector<OutputTaps> result(out);
  const bool crop = s.coordinates == "tf_crop_and_resize";
  for (int64_t o = 0; o < out; ++o) {
    const double resized = s.coordinates == "tf_crop_and_resize" ? out : in * scale;
    const double x = SourceCoordinate(s, o, in, resized, scale, roi_start, roi_end);
    OutputTaps& t = result[o];
    if (crop && (x < 0 || x > in - 1)) {
      t.extrapolate = true;
      continue;
    }
    if (s.mode == "nearest") {
      t.taps.push_back({std::clamp<int64_t>(NearestIndex(s.nearest, x, scale < 1), 0, in - 1), 1});
    } else if (s.mode == "linear") {
      const double xc = std::clamp(x, 0.0, static_cast<double>(in - 1));
      const int64_t x0 = static_cast<int64_t>(std::floor(xc));
      const int64_t x1 = std::min(x0 + 1, in - 1);
      const double w1 = xc - x0;
      t.taps.push_back({x0, 1 - w1});
      if (w1 != 0) t.taps.push_back({x1, w1});
    } else {  // cubic
      const double a = s.cubic_a;
      const int64_t x0 = static_cast<int64_t>(std::floor(x));
      const double f = x - x0;
      const double d[4] = {1 + f, f, 1 - f, 2 - f};
      double total = 0;
      for (int k = 0; k < 4; ++k) {
        const double u = d[k];
        const double w = u <= 1 ? ((a + 2) * u - (a + 3)) * u * u + 1
                                : ((a * u - 5 * a) * u + 8 * a) * u - 4 * a;
        const int64_t index = x0 - 1 + k;
        if (s.exclude_outside && (index < 0 || index >= in)) continue;
        t.taps.push_back({std::clamp<int64_t>(index, 0, in - 1), w});
        total += w;
      }
      if (s.exclude_outside && total != 0) {
        for (Tap& tap : t.taps) tap.weight /= total;
      }
    }
  }
  return result;
}

// True when the taps copy every index to itself (a dimension the resize leaves alone).
bool IsIdentity(const std::vector<OutputTaps>& taps, int64_t in) {
  if (static_cast<int64_t>(taps.size()) != in) return false;
  for (int64_t o = 0; o < in; ++o) {
    const OutputTaps& t = taps[o];
    if (t.extrapolate || t.taps.size() != 1 || t.taps[0].index != o || t.taps[0].weight != 1) {
      return false;
    }
  }
  return true;
}

template <typename T>
std::vector<T> ResizePass(const std::vector<T>& in, const std::vector<int64_t>& shape, size_t dim,
                          const std::vector<OutputTaps>& taps, double extrapolation) {
  const int64_t outer = ShapeProduct(shape, 0, dim);
  const int64_t inner = ShapeProduct(shape, dim + 1, shape.size());
  const int64_t in_len = shape[dim], out_len = static_cast<int64_t>(taps.size());
  std::vector<T> out(outer * out_len * inner);
  if (inner == 1) {
    // The last dimension: one element per tap, so no row copies or row accumulator. Same sums in
    // the same order as below.
    for (int64_t p = 0; p < outer; ++p) {
      const T* src = in.data() + p * in_len;
      T* dst = out.data() + p * out_len;
      for (int64_t o = 0; o < out_len; ++o) {
        const OutputTaps& t = taps[o];
        if (t.extrapolate) {
          dst[o] = static_cast<T>(extrapolation);
        } else if (t.taps.size() == 1 && t.taps[0].weight == 1) {
          dst[o] = src[t.taps[0].index];
        } else {
          double sum = 0.0;
          for (const Tap& tap : t.taps) sum += tap.weight * src[tap.index];
          dst[o] = static_cast<T>(sum);
        }
      }
    }
    return out;
  }
  std::vector<double> accumulator(inner);
  for (int64_t p = 0; p < outer; ++p) {
    const T* src = in.data() + p * in_len * inner;
    for (int64_t o = 0; o < out_len; ++o) {
      T* dst = out.data() + (p * out_len + o) * inner;
      const OutputTaps& t = taps[o];
      if (t.extrapolate) {
        std::fill(dst, dst + inner, static_cast<T>(extrapolation));
      } else if (t.taps.size() == 1 && t.taps[0].weight == 1) {
        std::copy_n(src + t.taps[0].index * inner, inner, dst);
      } else {
        std::fill(accumulator.begin(), accumulator.end(), 0.0);
        for (const Tap& tap : t.taps) {
          const T* row = src + tap.index * inner;
          for (int64_t i = 0; i < inner; ++i) accumulator[i] += tap.weight * row[i];
        }
        for (int64_t i = 0; i < inner; ++i) dst[i] = static_cast<T>(accumulator[i]);
      }
    }
  }
  return out;
}

absl::Status RunResize(KernelContext& context, const Tensor& x, const ResizeSettings& settings,
                       std::vector<float> scales, const std::vector<int64_t>& sizes,
                       const std::vector<float>& roi) {
  const std::vector<int64_t>& shape = x.shape();
  const size_t rank = shape.size();
  if (settings.mode != "nearest" && settings.mode != "linear" && settings.mode != "cubic") {
    return context.Error(absl::StrCat("unknown mode '", settings.mode, "'"));
  }
  const bool crop = settings.coordinates == "tf_crop_and_resize";
  if (crop && roi.size() != 2 * rank) {
    return context.Error(absl::StrCat("tf_crop_and_resize needs a roi of ", 2 * rank,
                                      " values, got ", roi.size()));
  }
  std::vector<int64_t> out_shape(rank);
  if (!sizes.empty()) {
    if (sizes.size() != rank) {
      return context.Error(absl::StrCat("sizes has ", sizes.size(), " values for rank ", rank));
    }
    out_shape = sizes;
    scales.resize(rank);
    for (size_t i = 0; i < rank; ++i) {
      if (sizes[i] < 0) return context.Error("sizes must be >= 0");
      scales[i] = shape[i] == 0 ? 1.0f : static_cast<float>(sizes[i]) / shape[i];
    }
  } else {
    if (scales.size() != rank) {
      return context.Error(absl::StrCat("scales has ", scales.size(), " values for rank ", rank));
    }
    for (size_t i = 0; i < rank; ++i) {
      if (!(scales[i] > 0)) return context.Error("scales must be > 0");
      const float extent = crop ? roi[rank + i] - roi[i] : 1.0f;
      out_shape[i] = static_cast<int64_t>(std::floor(shape[i] * extent * scales[i]));
    }
  }
  HALFCAST_ASSIGN_OR_RETURN(Tensor y, context.NewUninitializedTensor(x.type(), out_shape));
  if (settings.mode != "nearest" && x.type() != DataType::kFloat && x.type() != DataType::kDouble) {
    return context.Error(absl::StrCat(settings.mode, " resize needs float input, got ",
                                      DataTypeName(x.type())));
  }
  HALFCAST_RETURN_IF_ERROR(DispatchNumeric(x.type(), [&](auto zero) -> absl::Status {
    using T = decltype(zero);
    std::vector<T> current(x.data<T>(), x.data<T>() + x.element_count());
    std::vector<int64_t> current_shape = shape;
    for (size_t d = 0; d < rank; ++d) {
      if (current.empty()) break;
      const std::vector<OutputTaps> taps =
          ComputeTaps(settings, shape[d], out_shape[d], scales[d], crop ? roi[d] : 0.0,
                      crop ? roi[rank + d] : 1.0);
      if (IsIdentity(taps, shape[d])) continue;
      current = ResizePass(current, current_shape, d, taps, settings.extrapolation);
      current_shape[d] = out_shape[d];
    }
    // An empty input resized to explicit non-zero sizes gives zeros (y is uninitialised).
    T* out = y.mutable_data<T>();
    if (current.empty()) {
      std::fill(out, out + y.element_count(), T(0));
    } else {
      std::copy(current.begin(), current.end(), out);
    }
    return absl::OkStatus();
  }, "Resize"));
  context.set_output(0, std::move(y));
  return absl::OkStatus();
}

// An optional float input as values; absent or empty gives an empty vector.
absl::StatusOr<std::vector<float>> OptionalFloats(const KernelContext& context, int i) {
  const Tensor* t = context.input(i);
  if (t == nullptr || t->element_count() == 0) return std::vector<float>();
  return linalg::ReadFloats(context, *t);
}

absl::Status Resize(KernelContext& context) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* x, context.RequiredInput(0));
  ResizeSettings settings;
  settings.mode = context.GetString("mode", "nearest");
  if (context.opset() < 11) {
    HALFCAST_ASSIGN_OR_RETURN(const Tensor* scales, context.RequiredInput(1));
    HALFCAST_ASSIGN_OR_RETURN(std::vector<float> values, linalg::ReadFloats(context, *scales));
    return RunResize(context, *x, settings, values, {}, {});
  }
  settings.coordinates = context.GetString("coordinate_transformation_mode", "half_pixel");
  settings.nearest = context.GetString("nearest_mode", "round_prefer_floor");
  settings.cubic_a = context.GetFloat("cubic_coeff_a", -0.75f);
  settings.exclude_outside = context.GetInt("exclude_outside", 0) != 0;
  settings.extrapolation = context.GetFloat("extrapolation_value", 0.0f);
  static const char* const kCoordinates[] = {"half_pixel", "pytorch_half_pixel", "align_corners",
                                             "asymmetric", "tf_half_pixel_for_nn",
                                             "tf_crop_and_resize"};
  if (std::find(std::begin(kCoordinates), std::end(kCoordinates), settings.coordinates) ==
      std::end(kCoordinates)) {
    return context.Error(absl::StrCat("unknown coordinate_transformation_mode '",
                                      settings.coordinates, "'"));
  }
  static const char* const kNearest[] = {"round_prefer_floor", "round_prefer_ceil", "floor",
                                         "ceil"};
  if (std::find(std::begin(kNearest), std::end(kNearest), settings.nearest) == std::end(kNearest)) {
    return context.Error(absl::StrCat("unknown nearest_mode '", settings.nearest, "'"));
  }
  HALFCAST_ASSIGN_OR_RETURN(std::vector<float> roi, OptionalFloats(context, 1));
  HALFCAST_ASSIGN_OR_RETURN(std::vector<float> scales, OptionalFloats(context, 2));
  std::vector<int64_t> sizes;
  if (const Tensor* t = context.input(3); t != nullptr && t->element_count() > 0) {
    HALFCAST_ASSIGN_OR_RETURN(sizes, linalg::ReadInt64s(context, *t));
  }
  if (scales.empty() == sizes.empty()) {
    return context.Error("exactly one of scales and sizes must be given");
  }
  return RunResize(context, *x, settings, scales, sizes, roi);
}

absl::Status Upsample(KernelContext& context) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* x, context.RequiredInput(0));
  ResizeSettings settings;
  settings.mode = context.GetString("mode", "nearest");
  if (settings.mode == "bilinear") settings.mode = "linear";
  std::vector<float> scales = context.GetFloats("scales");
  if (context.opset() >= 9) {
    HALFCAST_ASSIGN_OR_RETURN(const Tensor* t, context.RequiredInput(1));
    HALFCAST_ASSIGN_OR_RETURN(scales, linalg::ReadFloats(context, *t));
  }
  if (settings.mode == "cubic") return context.Error("Upsample has no cubic mode");
  return RunResize(context, *x, settings, scales, {}, {});
}

const KernelDef kResizeKernels[] = {
    {"", "Resize", 10, 17, Resize},
    {"", "Upsample", 7, 9, Upsample},
};

}  // namespace

absl::Span<const KernelDef> ResizeKernels() { return kResizeKernels; }

}  // namespace halfcast::eval
