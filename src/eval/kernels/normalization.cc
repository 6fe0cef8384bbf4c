// BatchNormalization (inference, and training mode from opset 14), InstanceNormalization and
// LayerNormalization. Means and variances accumulate in double: a plane of 10^5 float values
// then loses no precision to the running sum.
#include <cmath>
#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "eval/kernel.h"
#include "eval/kernels/linalg_util.h"

namespace halfcast::eval {
namespace {

using linalg::ShapeProduct;

// Mean and population variance of `count` values `stride` apart in each of `groups` blocks
// `group_stride` apart (groups of one channel across the batch).
template <typename T>
void MeanVariance(const T* x, int64_t groups, int64_t group_stride, int64_t count, double* mean,
                  double* variance) {
  double sum = 0, square_sum = 0;
  for (int64_t g = 0; g < groups; ++g) {
    const T* p = x + g * group_stride;
    for (int64_t i = 0; i < count; ++i) sum += p[i];
  }
  const double n = static_cast<double>(groups * count);
  *mean = n > 0 ? sum / n : 0.0;
  for (int64_t g = 0; g < groups; ++g) {
    const T* p = x + g * group_stride;
    for (int64_t i = 0; i < count; ++i) {
      const double d = p[i] - *mean;
      square_sum += d * d;
    }
  }
  *variance = n > 0 ? square_sum / n : 0.0;
}

absl::Status CheckParameter(const KernelContext& context, const Tensor& x, const Tensor& p, int i,
                            int64_t count) {
  HALFCAST_RETURN_IF_ERROR(linalg::RequireType(context, p, i, x.type()));
  if (p.element_count() != count) {
    return context.Error(absl::StrCat("input ", i, " has ", p.element_count(),
                                      " values; expected ", count));
  }
  return absl::OkStatus();
}

template <typename T>
absl::Status BatchNormTyped(KernelContext& context, const Tensor& x) {
  const std::vector<int64_t>& shape = x.shape();
  if (shape.size() < 2) return context.Error("input must be [N, C, ...]");
  const int64_t batch = shape[0], channels = shape[1];
  const int64_t plane = ShapeProduct(shape, 2, shape.size());
  const double epsilon = context.GetFloat("epsilon", 1e-5f);
  const bool training = context.opset() >= 14 && context.GetInt("training_mode", 0) != 0;
  // Opset 7's spatial = 0: one parameter per (channel, spatial position) instead of per channel.
  const bool per_position = context.opset() < 9 && context.GetInt("spatial", 1) == 0;
  const int64_t params = per_position ? channels * plane : channels;
  const Tensor* inputs[4];
  for (int i = 1; i <= 4; ++i) {
    HALFCAST_ASSIGN_OR_RETURN(inputs[i - 1], context.RequiredInput(i));
    HALFCAST_RETURN_IF_ERROR(CheckParameter(context, x, *inputs[i - 1], i, params));
  }
  const T* scale = inputs[0]->data<T>();
  const T* bias = inputs[1]->data<T>();
  const T* in_mean = inputs[2]->data<T>();
  const T* in_var = inputs[3]->data<T>();
  std::vector<double> mean(in_mean, in_mean + params), variance(in_var, in_var + params);
  if (training) {
    const double momentum = context.GetFloat("momentum", 0.9f);
    std::vector<double> batch_mean(channels), batch_var(channels);
    for (int64_t c = 0; c < channels; ++c) {
      MeanVariance(x.data<T>() + c * plane, batch, channels * plane, plane, &batch_mean[c],
                   &batch_var[c]);
    }
    for (int i = 1; i <= 2; ++i) {
      if (!context.output_wanted(i)) continue;
      HALFCAST_ASSIGN_OR_RETURN(Tensor running, context.NewTensor(x.type(), {channels}));
      T* out = running.mutable_data<T>();
      const std::vector<double>& current = i == 1 ? batch_mean : batch_var;
      const T* previous = i == 1 ? in_mean : in_var;
      for (int64_t c = 0; c < channels; ++c) {
        out[c] = static_cast<T>(previous[c] * momentum + current[c] * (1 - momentum));
      }
      context.set_output(i, std::move(running));
    }
    mean = std::move(batch_mean);
    variance = std::move(batch_var);
  }
  // y = x * a + b per parameter position.
  std::vector<T> a(params), b(params);
  for (int64_t p = 0; p < params; ++p) {
    const double factor = scale[p] / std::sqrt(variance[p] + epsilon);
    a[p] = static_cast<T>(factor);
    b[p] = static_cast<T>(bias[p] - mean[p] * factor);
  }
  HALFCAST_ASSIGN_OR_RETURN(Tensor y, context.NewUninitializedTensor(x.type(), shape));
  const T* px = x.data<T>();
  T* py = y.mutable_data<T>();
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t c = 0; c < channels; ++c) {
      const int64_t offset = (n * channels + c) * plane;
      if (per_position) {
        for (int64_t i = 0; i < plane; ++i) {
          py[offset + i] = px[offset + i] * a[c * plane + i] + b[c * plane + i];
        }
      } else {
        for (int64_t i = 0; i < plane; ++i) py[offset + i] = px[offset + i] * a[c] + b[c];
      }
    }
  }
  context.set_output(0, std::move(y));
  return absl::OkStatus();
}

absl::Status BatchNormalization(KernelContext& context) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* x, linalg::FloatInput(context, 0));
  if (x->type() == DataType::kDouble) return BatchNormTyped<double>(context, *x);
  return BatchNormTyped<float>(context, *x);
}

template <typename T>
absl::Status InstanceNormTyped(KernelContext& context, const Tensor& x) {
  const std::vector<int64_t>& shape = x.shape();
  if (shape.size() < 2) return context.Error("input must be [N, C, ...]");
  const int64_t batch = shape[0], channels = shape[1];
  const int64_t plane = ShapeProduct(shape, 2, shape.size());
  const double epsilon = context.GetFloat("epsilon", 1e-5f);
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* scale, context.RequiredInput(1));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* bias, context.RequiredInput(2));
  HALFCAST_RETURN_IF_ERROR(CheckParameter(context, x, *scale, 1, channels));
  HALFCAST_RETURN_IF_ERROR(CheckParameter(context, x, *bias, 2, channels));
  HALFCAST_ASSIGN_OR_RETURN(Tensor y, context.NewUninitializedTensor(x.type(), shape));
  const T* px = x.data<T>();
  T* py = y.mutable_data<T>();
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t c = 0; c < channels; ++c) {
      const int64_t offset = (n * channels + c) * plane;
      double mean, variance;
      MeanVariance(px + offset, 1, 0, plane, &mean, &variance);
      const double a = scale->data<T>()[c] / std::sqrt(variance + epsilon);
      const double b = bias->data<T>()[c];
      for (int64_t i = 0; i < plane; ++i) {
        py[offset + i] = static_cast<T>((px[offset + i] - mean) * a + b);
      }
    }
  }
  context.set_output(0, std::move(y));
  return absl::OkStatus();
}

absl::Status InstanceNormalization(KernelContext& context) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* x, linalg::FloatInput(context, 0));
  if (x->type() == DataType::kDouble) return InstanceNormTyped<double>(context, *x);
  return InstanceNormTyped<float>(context, *x);
}

// Scale and bias of LayerNormalization broadcast to the normalized shape X[axis:]: any shape
// whose element count divides it as a suffix does (leading 1s, or one value).
absl::Status CheckLayerNormParameter(const KernelContext& context, const Tensor& x,
                                     const Tensor& p, int i, int64_t axis) {
  HALFCAST_RETURN_IF_ERROR(linalg::RequireType(context, p, i, x.type()));
  const std::vector<int64_t>& xs = x.shape();
  const std::vector<int64_t>& ps = p.shape();
  for (size_t k = 0; k < ps.size(); ++k) {
    const int64_t dim = ps[ps.size() - 1 - k];
    const int64_t x_index = static_cast<int64_t>(xs.size()) - 1 - static_cast<int64_t>(k);
    const bool fits = x_index >= axis ? (dim == 1 || dim == xs[x_index]) : dim == 1;
    if (!fits) {
      return context.Error(absl::StrCat("input ", i, " of shape [", absl::StrJoin(ps, ","),
                                        "] does not broadcast to the normalized shape of [",
                                        absl::StrJoin(xs, ","), "] from axis ", axis));
    }
  }
  return absl::OkStatus();
}

// Index into a broadcast parameter for position j of the normalized block.
int64_t BroadcastIndex(const std::vector<int64_t>& xs, const std::vector<int64_t>& ps, int64_t j) {
  int64_t index = 0, stride = 1;
  for (size_t k = 0; k < ps.size(); ++k) {
    const int64_t dim = xs[xs.size() - 1 - k];
    const int64_t pos = j % dim;
    j /= dim;
    if (ps[ps.size() - 1 - k] != 1) index += pos * stride;
    stride *= ps[ps.size() - 1 - k];
  }
  return index;
}

template <typename T>
absl::Status LayerNormTyped(KernelContext& context, const Tensor& x) {
  const std::vector<int64_t>& shape = x.shape();
  const int64_t rank = static_cast<int64_t>(shape.size());
  int64_t axis = context.GetInt("axis", -1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) {
    return context.Error(absl::StrCat("axis ", context.GetInt("axis", -1),
                                      " is out of range for rank ", rank));
  }
  const double epsilon = context.GetFloat("epsilon", 1e-5f);
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* scale, context.RequiredInput(1));
  const Tensor* bias = context.input(2);
  HALFCAST_RETURN_IF_ERROR(CheckLayerNormParameter(context, x, *scale, 1, axis));
  if (bias != nullptr) HALFCAST_RETURN_IF_ERROR(CheckLayerNormParameter(context, x, *bias, 2, axis));
  const int64_t rows = ShapeProduct(shape, 0, axis);
  const int64_t size = ShapeProduct(shape, axis, shape.size());
  std::vector<int64_t> scale_index(size), bias_index(size);
  for (int64_t j = 0; j < size; ++j) {
    scale_index[j] = BroadcastIndex(shape, scale->shape(), j);
    if (bias != nullptr) bias_index[j] = BroadcastIndex(shape, bias->shape(), j);
  }
  std::vector<int64_t> stat_shape = shape;
  for (int64_t i = axis; i < rank; ++i) stat_shape[i] = 1;
  HALFCAST_ASSIGN_OR_RETURN(Tensor y, context.NewUninitializedTensor(x.type(), shape));
  HALFCAST_ASSIGN_OR_RETURN(Tensor mean_out, context.NewTensor(x.type(), stat_shape));
  HALFCAST_ASSIGN_OR_RETURN(Tensor inv_std_out, context.NewTensor(x.type(), stat_shape));
  const T* px = x.data<T>();
  const T* ps = scale->data<T>();
  const T* pb = bias != nullptr ? bias->data<T>() : nullptr;
  T* py = y.mutable_data<T>();
  T* pm = mean_out.mutable_data<T>();
  T* pi = inv_std_out.mutable_data<T>();
  for (int64_t r = 0; r < rows; ++r) {
    const T* in = px + r * size;
    T* out = py + r * size;
    double mean, variance;
    MeanVariance(in, 1, 0, size, &mean, &variance);
    const double inv_std = 1.0 / std::sqrt(variance + epsilon);
    for (int64_t j = 0; j < size; ++j) {
      const double normalized = (in[j] - mean) * inv_std * ps[scale_index[j]];
      out[j] = static_cast<T>(pb != nullptr ? normalized + pb[bias_index[j]] : normalized);
    }
    pm[r] = static_cast<T>(mean);
    pi[r] = static_cast<T>(inv_std);
  }
  context.set_output(0, std::move(y));
  if (context.output_wanted(1)) context.set_output(1, std::move(mean_out));
  if (context.output_wanted(2)) context.set_output(2, std::move(inv_std_out));
  return absl::OkStatus();
}

absl::Status LayerNormalization(KernelContext& context) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* x, linalg::FloatInput(context, 0));
  if (x->type() == DataType::kDouble) return LayerNormTyped<double>(context, *x);
  return LayerNormTyped<float>(context, *x);
}

const KernelDef kNormalizationKernels[] = {
    {"", "BatchNormalization", 1, 17, BatchNormalization},
    {"", "InstanceNormalization", 6, 17, InstanceNormalization},
    // Mean and inverse standard deviation stay float32 for 16-bit inputs, as in ONNX Runtime.
    {"", "LayerNormalization", 17, 17, LayerNormalization, false, 0b110},
};

}  // namespace

absl::Span<const KernelDef> NormalizationKernels() { return kNormalizationKernels; }

}  // namespace halfcast::eval
