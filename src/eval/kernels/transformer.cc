// The non-attention ops of transformer graphs: what ONNX Runtime's graph optimizer fuses
// transformer subgraphs into (com.microsoft FusedMatMul, the Gelu family, BiasAdd, the skip,
// simplified and embedding layer normalizations, FusedConv/FusedGemm) and the newer ONNX ops
// covering the same ground (Gelu-20, Mish-18, Swish-24, RMSNormalization-23,
// GroupNormalization-18/21). Semantics follow ONNX Runtime 1.30's CPU kernels for com.microsoft ops
// and the ONNX specification otherwise.
//
// Statistics accumulate in double, as in normalization.cc: ONNX Runtime accumulates in float, and
// double keeps the difference to it below float rounding of the result.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
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

constexpr int kLatest = std::numeric_limits<int>::max();
constexpr double kSqrtHalf = 0.70710678118654752440;
constexpr double kSqrtTwoOverPi = 0.79788456080286535588;

std::string ShapeText(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ","), "]");
}

// ---------------------------------------------------------------------------------------------
// Element-wise activations.

double ExactGelu(double x) { return 0.5 * x * (1.0 + std::erf(x * kSqrtHalf)); }
double TanhGelu(double x) {
  return 0.5 * x * (1.0 + std::tanh(kSqrtTwoOverPi * (x + 0.044715 * x * x * x)));
}
double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
// log(1 + e^x) without overflow for large x.
double Softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }

// A bias added to X before an activation (BiasGelu, FastGelu): ONNX Runtime requires a 1-D bias
// the size of X's last dimension; any shape equal to a suffix of X's shape indexes the same way.
absl::Status CheckSuffixBias(const KernelContext& context, const Tensor& x, const Tensor& bias,
                             int i) {
  HALFCAST_RETURN_IF_ERROR(linalg::RequireType(context, bias, i, x.type()));
  const std::vector<int64_t>& xs = x.shape();
  const std::vector<int64_t>& bs = bias.shape();
  bool fits = bs.size() <= xs.size();
  for (size_t k = 0; fits && k < bs.size(); ++k) {
    fits = bs[bs.size() - 1 - k] == xs[xs.size() - 1 - k];
  }
  if (!fits) {
    return context.Error(absl::StrCat("bias of shape ", ShapeText(bs),
                                      " must match the last dimensions of the input ",
                                      ShapeText(xs)));
  }
  return absl::OkStatus();
}

// y = fn(x + bias) element-wise, the bias (input `bias_index`, optional) repeating over X's
// leading dimensions. T is float or double; `fn` computes in double.
template <typename Fn>
absl::Status BiasedActivation(KernelContext& context, int bias_index, Fn fn) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* x, linalg::FloatInput(context, 0));
  const Tensor* bias = bias_index >= 0 ? context.input(bias_index) : nullptr;
  if (bias != nullptr) HALFCAST_RETURN_IF_ERROR(CheckSuffixBias(context, *x, *bias, bias_index));
  return DispatchFloat(x->type(), [&](auto tag) -> absl::Status {
    using T = decltype(tag);
    HALFCAST_ASSIGN_OR_RETURN(Tensor y, context.NewUninitializedTensor(x->type(), x->shape()));
    const int64_t count = x->element_count();
    const T* px = x->data<T>();
    T* py = y.mutable_data<T>();
    if (bias == nullptr) {
      for (int64_t i = 0; i < count; ++i) py[i] = static_cast<T>(fn(static_cast<double>(px[i])));
    } else {
      const T* pb = bias->data<T>();
      const int64_t period = std::max<int64_t>(bias->element_count(), 1);
      for (int64_t i = 0; i < count; ++i) {
        // The sum is rounded to T first, as ONNX Runtime adds in float before the activation.
        const T sum = static_cast<T>(px[i] + pb[i % period]);
        py[i] = static_cast<T>(fn(static_cast<double>(sum)));
      }
    }
    context.set_output(0, std::move(y));
    return absl::OkStatus();
  });
}

absl::Status MsGelu(KernelContext& context) { return BiasedActivation(context, -1, ExactGelu); }
absl::Status BiasGelu(KernelContext& context) {
  HALFCAST_RETURN_IF_ERROR(context.RequiredInput(1).status());
  return BiasedActivation(context, 1, ExactGelu);
}
absl::Status FastGelu(KernelContext& context) { return BiasedActivation(context, 1, TanhGelu); }

absl::Status QuickGelu(KernelContext& context) {
  const double alpha = context.GetFloat("alpha", 1.702f);
  return BiasedActivation(context, -1, [alpha](double x) { return x * Sigmoid(alpha * x); });
}

absl::Status Gelu20(KernelContext& context) {
  const std::string approximate = context.GetString("approximate", "none");
  if (approximate == "none") return BiasedActivation(context, -1, ExactGelu);
  if (approximate == "tanh") return BiasedActivation(context, -1, TanhGelu);
  return context.Error(
      absl::StrCat("approximate must be 'none' or 'tanh', not '", approximate, "'"));
}

absl::Status Mish(KernelContext& context) {
  return BiasedActivation(context, -1, [](double x) { return x * std::tanh(Softplus(x)); });
}

absl::Status Swish(KernelContext& context) {
  const double alpha = context.GetFloat("alpha", 1.0f);
  return BiasedActivation(context, -1, [alpha](double x) { return x * Sigmoid(alpha * x); });
}

// BiasAdd (com.microsoft): X [N, S, C] + bias [C] + skip [N, S, C], the residual add after a
// convolution in diffusion models.
absl::Status BiasAdd(KernelContext& context) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* x, linalg::FloatInput(context, 0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* bias, context.RequiredInput(1));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* skip, context.RequiredInput(2));
  const std::vector<int64_t>& xs = x->shape();
  if (xs.size() != 3) return context.Error(absl::StrCat("input must be 3-D, not ", ShapeText(xs)));
  if (bias->shape() != std::vector<int64_t>{xs[2]}) {
    return context.Error(
        absl::StrCat("bias must be [", xs[2], "], not ", ShapeText(bias->shape())));
  }
  if (skip->shape() != xs) {
    return context.Error(absl::StrCat("skip must have the input's shape ", ShapeText(xs), ", not ",
                                      ShapeText(skip->shape())));
  }
  HALFCAST_RETURN_IF_ERROR(linalg::RequireType(context, *bias, 1, x->type()));
  HALFCAST_RETURN_IF_ERROR(linalg::RequireType(context, *skip, 2, x->type()));
  return DispatchFloat(x->type(), [&](auto tag) -> absl::Status {
    using T = decltype(tag);
    HALFCAST_ASSIGN_OR_RETURN(Tensor y, context.NewUninitializedTensor(x->type(), xs));
    const T* px = x->data<T>();
    const T* pb = bias->data<T>();
    const T* ps = skip->data<T>();
    T* py = y.mutable_data<T>();
    const int64_t count = x->element_count(), channels = xs[2];
    for (int64_t i = 0; i < count; ++i) py[i] = px[i] + pb[i % channels] + ps[i];
    context.set_output(0, std::move(y));
    return absl::OkStatus();
  });
}

// ---------------------------------------------------------------------------------------------
// FusedMatMul (com.microsoft): Y = alpha * op(A) @ op(B) with numpy batch broadcasting. op()
// optionally moves the leading dimension behind the batch dimensions (transBatch: the stored
// [M, b..., K] is read as [b..., M, K], what a Transpose(perm = [1, ..., r-2, 0, r-1]) folded
// into the product leaves) and then swaps the last two dimensions (trans).

// `t` as a contiguous [batch..., rows, cols] tensor after the transBatch move (rank >= 3).
template <typename T>
std::vector<T> MoveLeadingBehindBatch(const Tensor& t, std::vector<int64_t>* shape) {
  const std::vector<int64_t>& s = t.shape();
  const int64_t lead = s[0], last = s.back();
  const int64_t batch = ShapeProduct(s, 1, s.size() - 1);
  const T* in = t.data<T>();
  std::vector<T> out(t.element_count());
  for (int64_t l = 0; l < lead; ++l) {
    for (int64_t b = 0; b < batch; ++b) {
      std::copy_n(in + (l * batch + b) * last, last, out.data() + (b * lead + l) * last);
    }
  }
  shape->assign(s.begin() + 1, s.end() - 1);
  shape->push_back(lead);
  shape->push_back(last);
  return out;
}

template <typename T>
absl::Status FusedMatMulTyped(KernelContext& context, const Tensor& a, const Tensor& b) {
  const bool trans_a = context.GetInt("transA", 0) != 0;
  const bool trans_b = context.GetInt("transB", 0) != 0;
  const bool batch_a = context.GetInt("transBatchA", 0) != 0;
  const bool batch_b = context.GetInt("transBatchB", 0) != 0;
  const T alpha = static_cast<T>(context.GetFloat("alpha", 1.0f));
  if ((batch_a || batch_b) && (a.shape().size() < 3 || a.shape().size() != b.shape().size())) {
    return context.Error("transBatchA and transBatchB need inputs of one rank, at least 3");
  }
  std::vector<int64_t> as = a.shape(), bs = b.shape();
  std::vector<T> a_moved, b_moved;
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  if (batch_a) {
    a_moved = MoveLeadingBehindBatch<T>(a, &as);
    pa = a_moved.data();
  }
  if (batch_b) {
    b_moved = MoveLeadingBehindBatch<T>(b, &bs);
    pb = b_moved.data();
  }
  if (as.empty() || bs.empty()) return context.Error("inputs must have rank >= 1");
  // 1-D operands as numpy: A [K] is [1, K] (transA has no effect), B [K] is [K, 1].
  const bool a_vector = as.size() == 1, b_vector = bs.size() == 1;
  if (a_vector) as.insert(as.begin(), 1);
  if (b_vector) bs.push_back(1);
  const bool ta = trans_a && !a_vector, tb = trans_b && !b_vector;
  const int64_t m = ta ? as[as.size() - 1] : as[as.size() - 2];
  const int64_t k = ta ? as[as.size() - 2] : as[as.size() - 1];
  const int64_t kb = tb ? bs[bs.size() - 1] : bs[bs.size() - 2];
  const int64_t n = tb ? bs[bs.size() - 2] : bs[bs.size() - 1];
  if (k != kb) {
    return context.Error(absl::StrCat("inner dimensions differ: ", k, " and ", kb, " (A ",
                                      ShapeText(a.shape()), ", B ", ShapeText(b.shape()), ")"));
  }
  const std::vector<int64_t> a_batch(as.begin(), as.end() - 2), b_batch(bs.begin(), bs.end() - 2);
  const size_t rank = std::max(a_batch.size(), b_batch.size());
  std::vector<int64_t> batch(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a_batch.size() ? 1 : a_batch[i - (rank - a_batch.size())];
    const int64_t db = i < rank - b_batch.size() ? 1 : b_batch[i - (rank - b_batch.size())];
    if (da != db && da != 1 && db != 1) {
      return context.Error(absl::StrCat("batch dimensions ", ShapeText(a_batch), " and ",
                                        ShapeText(b_batch), " do not broadcast"));
    }
    batch[i] = da == 1 ? db : da;
  }
  std::vector<int64_t> out_shape = batch;
  if (!a_vector) out_shape.push_back(m);
  if (!b_vector) out_shape.push_back(n);
  HALFCAST_ASSIGN_OR_RETURN(Tensor y, context.NewUninitializedTensor(a.type(), out_shape));
  T* py = y.mutable_data<T>();
  const int64_t batches = ShapeProduct(batch, 0, batch.size());
  // Batch index -> matrix index in A and B under broadcasting.
  std::vector<int64_t> index(rank, 0);
  for (int64_t i = 0; i < batches; ++i) {
    int64_t ia = 0, ib = 0;
    for (size_t d = 0; d < rank; ++d) {
      if (d >= rank - a_batch.size()) {
        const int64_t dim = a_batch[d - (rank - a_batch.size())];
        ia = ia * dim + (dim == 1 ? 0 : index[d]);
      }
      if (d >= rank - b_batch.size()) {
        const int64_t dim = b_batch[d - (rank - b_batch.size())];
        ib = ib * dim + (dim == 1 ? 0 : index[d]);
      }
    }
    linalg::Gemm<T>(ta, tb, m, n, k, alpha, pa + ia * m * k, pb + ib * k * n, T(0), py + i * m * n,
                    n, context.threads());
    for (size_t d = rank; d-- > 0;) {
      if (++index[d] < batch[d]) break;
      index[d] = 0;
    }
  }
  context.set_output(0, std::move(y));
  return absl::OkStatus();
}

absl::Status FusedMatMul(KernelContext& context) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* a, linalg::FloatInput(context, 0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* b, context.RequiredInput(1));
  HALFCAST_RETURN_IF_ERROR(linalg::RequireType(context, *b, 1, a->type()));
  if (a->type() == DataType::kDouble) return FusedMatMulTyped<double>(context, *a, *b);
  return FusedMatMulTyped<float>(context, *a, *b);
}

// ---------------------------------------------------------------------------------------------
// Normalizations over the trailing dimensions.

// A parameter (scale, bias) broadcast over the normalized block X[axis:]: its shape must be
// unidirectionally broadcastable to that block. Returns, for each position of the block, the
// index into the parameter.
absl::StatusOr<std::vector<int64_t>> ParameterIndex(const KernelContext& context, const Tensor& x,
                                                    const Tensor& p, int i, int64_t axis) {
  HALFCAST_RETURN_IF_ERROR(linalg::RequireType(context, p, i, x.type()));
  const std::vector<int64_t>& xs = x.shape();
  const std::vector<int64_t>& ps = p.shape();
  const int64_t block_rank = static_cast<int64_t>(xs.size()) - axis;
  bool fits = static_cast<int64_t>(ps.size()) <= block_rank ||
              std::all_of(ps.begin(), ps.end() - block_rank, [](int64_t d) { return d == 1; });
  for (size_t k = 0; fits && k < ps.size() && static_cast<int64_t>(k) < block_rank; ++k) {
    const int64_t d = ps[ps.size() - 1 - k];
    fits = d == 1 || d == xs[xs.size() - 1 - k];
  }
  if (!fits) {
    return context.Error(absl::StrCat("input ", i, " of shape ", ShapeText(ps),
                                      " does not broadcast to the normalized shape of ",
                                      ShapeText(xs), " from axis ", axis));
  }
  const int64_t size = ShapeProduct(xs, axis, xs.size());
  std::vector<int64_t> index(size);
  for (int64_t j = 0; j < size; ++j) {
    int64_t rest = j, offset = 0, stride = 1;
    for (size_t k = 0; k < ps.size() && static_cast<int64_t>(k) < block_rank; ++k) {
      const int64_t dim = xs[xs.size() - 1 - k];
      const int64_t pdim = ps[ps.size() - 1 - k];
      if (pdim != 1) offset += (rest % dim) * stride;
      rest /= dim;
      stride *= pdim;
    }
    index[j] = offset;
  }
  return index;
}

absl::StatusOr<int64_t> NormalizedAxis(const KernelContext& context, const Tensor& x) {
  const int64_t rank = static_cast<int64_t>(x.shape().size());
  const int64_t given = context.GetInt("axis", -1);
  const int64_t axis = given < 0 ? given + rank : given;
  if (axis < 0 || axis >= rank) {
    return context.Error(absl::StrCat("axis ", given, " is out of range for rank ", rank));
  }
  return axis;
}

// LayerNormalization (ONNX Runtime's contrib schema for opsets before 17, the same computation
// as ONNX's opset 17) and SimplifiedLayerNormalization (root mean square, no mean removal; ONNX
// Runtime registers it in the default domain). Mean and inverse standard deviation are float32
// outputs whatever X's type (stash_type 1, the only one ONNX Runtime implements on CPU).
template <typename T>
absl::Status TrailingNormTyped(KernelContext& context, const Tensor& x, bool simplified) {
  HALFCAST_ASSIGN_OR_RETURN(const int64_t axis, NormalizedAxis(context, x));
  const double epsilon = context.GetFloat("epsilon", 1e-5f);
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* scale, context.RequiredInput(1));
  const Tensor* bias = simplified ? nullptr : context.input(2);
  HALFCAST_ASSIGN_OR_RETURN(std::vector<int64_t> scale_index,
                            ParameterIndex(context, x, *scale, 1, axis));
  std::vector<int64_t> bias_index;
  if (bias != nullptr) {
    HALFCAST_ASSIGN_OR_RETURN(bias_index, ParameterIndex(context, x, *bias, 2, axis));
  }
  const std::vector<int64_t>& shape = x.shape();
  const int64_t rows = ShapeProduct(shape, 0, axis);
  const int64_t size = ShapeProduct(shape, axis, shape.size());
  std::vector<int64_t> stat_shape = shape;
  for (size_t i = axis; i < shape.size(); ++i) stat_shape[i] = 1;
  HALFCAST_ASSIGN_OR_RETURN(Tensor y, context.NewUninitializedTensor(x.type(), shape));
  HALFCAST_ASSIGN_OR_RETURN(Tensor mean_out, context.NewTensor(DataType::kFloat, stat_shape));
  HALFCAST_ASSIGN_OR_RETURN(Tensor inv_out, context.NewTensor(DataType::kFloat, stat_shape));
  const T* px = x.data<T>();
  const T* ps = scale->data<T>();
  const T* pb = bias != nullptr ? bias->data<T>() : nullptr;
  T* py = y.mutable_data<T>();
  float* pm = mean_out.mutable_data<float>();
  float* pi = inv_out.mutable_data<float>();
  for (int64_t r = 0; r < rows; ++r) {
    const T* in = px + r * size;
    double mean = 0, square = 0;
    if (!simplified) {
      for (int64_t j = 0; j < size; ++j) mean += in[j];
      mean = size > 0 ? mean / size : 0.0;
    }
    for (int64_t j = 0; j < size; ++j) square += (in[j] - mean) * (in[j] - mean);
    const double inv = 1.0 / std::sqrt((size > 0 ? square / size : 0.0) + epsilon);
    for (int64_t j = 0; j < size; ++j) {
      double v = (in[j] - mean) * inv * ps[scale_index[j]];
      if (pb != nullptr) v += pb[bias_index[j]];
      py[r * size + j] = static_cast<T>(v);
    }
    pm[r] = static_cast<float>(mean);
    pi[r] = static_cast<float>(inv);
  }
  context.set_output(0, std::move(y));
  // SimplifiedLayerNormalization's second output is the inverse root mean square.
  if (simplified) {
    if (context.output_wanted(1)) context.set_output(1, std::move(inv_out));
  } else {
    if (context.output_wanted(1)) context.set_output(1, std::move(mean_out));
    if (context.output_wanted(2)) context.set_output(2, std::move(inv_out));
  }
  return absl::OkStatus();
}

absl::Status LayerNormalizationContrib(KernelContext& context) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* x, linalg::FloatInput(context, 0));
  if (x->type() == DataType::kDouble) return TrailingNormTyped<double>(context, *x, false);
  return TrailingNormTyped<float>(context, *x, false);
}

absl::Status SimplifiedLayerNormalization(KernelContext& context) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* x, linalg::FloatInput(context, 0));
  if (x->type() == DataType::kDouble) return TrailingNormTyped<double>(context, *x, true);
  return TrailingNormTyped<float>(context, *x, true);
}

// RMSNormalization-23: the simplified normalization as an ONNX op, with only the Y output.
absl::Status RMSNormalization(KernelContext& context) {
  return SimplifiedLayerNormalization(context);
}

// SkipLayerNormalization and SkipSimplifiedLayerNormalization (com.microsoft): the residual sum
// input + skip (+ bias) normalized over the last dimension. skip is the input's shape, or
// [S, H] / [1, S, H] repeating over the batch. Outputs: y, mean and inverse standard deviation
// (float32 [..., 1]), and the sum itself.
template <typename T>
absl::Status SkipNormTyped(KernelContext& context, const Tensor& x, bool simplified) {
  const std::vector<int64_t>& shape = x.shape();
  if (shape.size() != 2 && shape.size() != 3) {
    return context.Error(absl::StrCat("input must be 2-D or 3-D, not ", ShapeText(shape)));
  }
  const int64_t hidden = shape.back();
  const int64_t count = x.element_count();
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* skip, context.RequiredInput(1));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* gamma, context.RequiredInput(2));
  const Tensor* beta = simplified ? nullptr : context.input(3);
  const Tensor* bias = context.input(simplified ? 3 : 4);
  HALFCAST_RETURN_IF_ERROR(linalg::RequireType(context, *skip, 1, x.type()));
  const std::vector<int64_t>& ss = skip->shape();
  const bool skip_fits =
      ss == shape || (shape.size() == 3 &&
                      ((ss.size() == 2 && ss[0] == shape[1] && ss[1] == shape[2]) ||
                       (ss.size() == 3 && ss[0] == 1 && ss[1] == shape[1] && ss[2] == shape[2])));
  if (!skip_fits) {
    return context.Error(absl::StrCat("skip of shape ", ShapeText(ss), " does not match the input ",
                                      ShapeText(shape)));
  }
  const int64_t skip_count = skip->element_count();
  const Tensor* params[3] = {gamma, beta, bias};
  const int param_inputs[3] = {2, 3, simplified ? 3 : 4};
  for (int p = 0; p < 3; ++p) {
    if (params[p] == nullptr) continue;
    HALFCAST_RETURN_IF_ERROR(linalg::RequireType(context, *params[p], param_inputs[p], x.type()));
    if (params[p]->element_count() != hidden || params[p]->shape().size() > 1) {
      return context.Error(absl::StrCat("input ", param_inputs[p], " must be [", hidden, "], not ",
                                        ShapeText(params[p]->shape())));
    }
  }
  const double epsilon = context.GetFloat("epsilon", 1e-12f);
  std::vector<int64_t> stat_shape = shape;
  stat_shape.back() = 1;
  HALFCAST_ASSIGN_OR_RETURN(Tensor y, context.NewUninitializedTensor(x.type(), shape));
  HALFCAST_ASSIGN_OR_RETURN(Tensor sum_out, context.NewUninitializedTensor(x.type(), shape));
  HALFCAST_ASSIGN_OR_RETURN(Tensor mean_out, context.NewTensor(DataType::kFloat, stat_shape));
  HALFCAST_ASSIGN_OR_RETURN(Tensor inv_out, context.NewTensor(DataType::kFloat, stat_shape));
  const T* px = x.data<T>();
  const T* pk = skip->data<T>();
  const T* pg = gamma->data<T>();
  const T* pe = beta != nullptr ? beta->data<T>() : nullptr;
  const T* pc = bias != nullptr ? bias->data<T>() : nullptr;
  T* py = y.mutable_data<T>();
  T* psum = sum_out.mutable_data<T>();
  const int64_t rows = hidden > 0 ? count / hidden : 0;
  for (int64_t r = 0; r < rows; ++r) {
    T* sum = psum + r * hidden;
    const T* in = px + r * hidden;
    const T* sk = pk + (r * hidden) % std::max<int64_t>(skip_count, 1);
    double mean = 0, square = 0;
    for (int64_t j = 0; j < hidden; ++j) {
      sum[j] = pc != nullptr ? in[j] + sk[j] + pc[j] : in[j] + sk[j];
      mean += sum[j];
    }
    mean = simplified || hidden == 0 ? 0.0 : mean / hidden;
    for (int64_t j = 0; j < hidden; ++j) square += (sum[j] - mean) * (sum[j] - mean);
    const double inv = 1.0 / std::sqrt((hidden > 0 ? square / hidden : 0.0) + epsilon);
    for (int64_t j = 0; j < hidden; ++j) {
      double v = (sum[j] - mean) * inv * pg[j];
      if (pe != nullptr) v += pe[j];
      py[r * hidden + j] = static_cast<T>(v);
    }
    mean_out.mutable_data<float>()[r] = static_cast<float>(mean);
    inv_out.mutable_data<float>()[r] = static_cast<float>(inv);
  }
  context.set_output(0, std::move(y));
  if (context.output_wanted(1)) context.set_output(1, std::move(mean_out));
  if (context.output_wanted(2)) context.set_output(2, std::move(inv_out));
  if (context.output_wanted(3)) context.set_output(3, std::move(sum_out));
  return absl::OkStatus();
}

absl::Status SkipLayerNormalization(KernelContext& context) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* x, linalg::FloatInput(context, 0));
  if (x->type() == DataType::kDouble) return SkipNormTyped<double>(context, *x, false);
  return SkipNormTyped<float>(context, *x, false);
}

absl::Status SkipSimplifiedLayerNormalization(KernelContext& context) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* x, linalg::FloatInput(context, 0));
  if (x->type() == DataType::kDouble) return SkipNormTyped<double>(context, *x, true);
  return SkipNormTyped<float>(context, *x, true);
}

// GroupNormalization: X [N, C, ...] normalized over groups of C / num_groups channels and all
// spatial positions. Opset 18 has one scale and bias per group; opset 21 one per channel.
template <typename T>
absl::Status GroupNormTyped(KernelContext& context, const Tensor& x) {
  const std::vector<int64_t>& shape = x.shape();
  if (shape.size() < 2) return context.Error("input must be [N, C, ...]");
  const int64_t groups = context.GetInt("num_groups", 0);
  const int64_t batch = shape[0], channels = shape[1];
  if (groups <= 0 || channels % groups != 0) {
    return context.Error(absl::StrCat("num_groups ", groups, " must be positive and divide the ",
                                      channels, " channels"));
  }
  const bool per_channel = context.opset() >= 21;
  const int64_t params = per_channel ? channels : groups;
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* scale, context.RequiredInput(1));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* bias, context.RequiredInput(2));
  for (const auto& [p, i] : {std::pair{scale, 1}, std::pair{bias, 2}}) {
    HALFCAST_RETURN_IF_ERROR(linalg::RequireType(context, *p, i, x.type()));
    if (p->element_count() != params) {
      return context.Error(
          absl::StrCat("input ", i, " has ", p->element_count(), " values; expected ", params));
    }
  }
  const double epsilon = context.GetFloat("epsilon", 1e-5f);
  const int64_t plane = ShapeProduct(shape, 2, shape.size());
  const int64_t group_channels = channels / groups;
  const int64_t group_size = group_channels * plane;
  HALFCAST_ASSIGN_OR_RETURN(Tensor y, context.NewUninitializedTensor(x.type(), shape));
  const T* px = x.data<T>();
  const T* ps = scale->data<T>();
  const T* pb = bias->data<T>();
  T* py = y.mutable_data<T>();
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t offset = (n * groups + g) * group_size;
      double mean = 0, square = 0;
      for (int64_t i = 0; i < group_size; ++i) mean += px[offset + i];
      mean = group_size > 0 ? mean / group_size : 0.0;
      for (int64_t i = 0; i < group_size; ++i) {
        square += (px[offset + i] - mean) * (px[offset + i] - mean);
      }
      const double inv = 1.0 / std::sqrt((group_size > 0 ? square / group_size : 0.0) + epsilon);
      for (int64_t c = 0; c < group_channels; ++c) {
        const int64_t p = per_channel ? g * group_channels + c : g;
        const int64_t base = offset + c * plane;
        for (int64_t i = 0; i < plane; ++i) {
          py[base + i] = static_cast<T>((px[base + i] - mean) * inv * ps[p] + pb[p]);
        }
      }
    }
  }
  context.set_output(0, std::move(y));
  return absl::OkStatus();
}

absl::Status GroupNormalization(KernelContext& context) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* x, linalg::FloatInput(context, 0));
  if (x->type() == DataType::kDouble) return GroupNormTyped<double>(context, *x);
  return GroupNormTyped<float>(context, *x);
}

// EmbedLayerNormalization (com.microsoft, BERT's embedding fusion): for each token the word,
// position and (optional) segment embedding rows summed and layer-normalized over the hidden
// dimension; mask_index is the count of ones of each row of the optional mask (0 without one).
absl::Status EmbedLayerNormalization(KernelContext& context) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* ids, context.RequiredInput(0));
  const Tensor* segment_ids = context.input(1);
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* words, linalg::FloatInput(context, 2));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* positions, context.RequiredInput(3));
  const Tensor* segments = context.input(4);
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* gamma, context.RequiredInput(5));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* beta, context.RequiredInput(6));
  const Tensor* mask = context.input(7);
  const Tensor* position_ids = context.input(8);
  if (words->type() != DataType::kFloat) {
    return absl::UnimplementedError("EmbedLayerNormalization: only float32 embeddings");
  }
  const std::vector<int64_t>& is = ids->shape();
  const std::vector<int64_t>& ws = words->shape();
  if (is.size() != 2 || ws.size() != 2 || (segment_ids == nullptr) != (segments == nullptr)) {
    return context.Error(absl::StrCat("input_ids ", ShapeText(is), " must be [B, S] and ",
                                      "word_embedding ", ShapeText(ws), " [V, H]; segment ids",
                                      " and embedding come together"));
  }
  const int64_t batch = is[0], seq = is[1], hidden = ws[1];
  const Tensor* tables[3] = {words, positions, segments};
  for (int t = 0; t < 3; ++t) {
    if (tables[t] == nullptr) continue;
    HALFCAST_RETURN_IF_ERROR(linalg::RequireType(context, *tables[t], 2 + t, DataType::kFloat));
    if (tables[t]->shape().size() != 2 || tables[t]->shape()[1] != hidden) {
      return context.Error(absl::StrCat("embedding input ", 2 + t, " must be [rows, ", hidden,
                                        "], not ", ShapeText(tables[t]->shape())));
    }
  }
  for (const auto& [p, i] : {std::pair{gamma, 5}, std::pair{beta, 6}}) {
    HALFCAST_RETURN_IF_ERROR(linalg::RequireType(context, *p, i, DataType::kFloat));
    if (p->element_count() != hidden) {
      return context.Error(absl::StrCat("input ", i, " must have ", hidden, " values"));
    }
  }
  HALFCAST_ASSIGN_OR_RETURN(std::vector<int64_t> word_ids, linalg::ReadInt64s(context, *ids));
  std::vector<int64_t> segment_rows, position_rows;
  if (segment_ids != nullptr) {
    HALFCAST_ASSIGN_OR_RETURN(segment_rows, linalg::ReadInt64s(context, *segment_ids));
    if (segment_ids->shape() != is) return context.Error("segment_ids must match input_ids");
  }
  if (position_ids != nullptr) {
    HALFCAST_ASSIGN_OR_RETURN(position_rows, linalg::ReadInt64s(context, *position_ids));
    const std::vector<int64_t>& ps = position_ids->shape();
    if (ps.size() != 2 || (ps[0] != batch && ps[0] != 1) || ps[1] != seq) {
      return context.Error(
          absl::StrCat("position_ids of shape ", ShapeText(ps), " is not [B, S] or [1, S]"));
    }
  }
  const double epsilon = context.GetFloat("epsilon", 1e-12f);
  HALFCAST_ASSIGN_OR_RETURN(Tensor y,
                            context.NewUninitializedTensor(DataType::kFloat, {batch, seq, hidden}));
  HALFCAST_ASSIGN_OR_RETURN(Tensor sum_out,
                            context.NewUninitializedTensor(DataType::kFloat, {batch, seq, hidden}));
  const float* pg = gamma->data<float>();
  const float* pb = beta->data<float>();
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t s = 0; s < seq; ++s) {
      const int64_t token = b * seq + s;
      const int64_t rows[3] = {
          word_ids[token],
          position_ids == nullptr
              ? s
              : position_rows[(position_ids->shape()[0] == 1 ? 0 : b) * seq + s],
          segment_ids != nullptr ? segment_rows[token] : 0};
      float* sum = sum_out.mutable_data<float>() + token * hidden;
      std::fill(sum, sum + hidden, 0.0f);
      for (int t = 0; t < 3; ++t) {
        if (tables[t] == nullptr) continue;
        if (rows[t] < 0 || rows[t] >= tables[t]->shape()[0]) {
          return context.Error(absl::StrCat("index ", rows[t], " is outside embedding input ",
                                            2 + t, " of ", tables[t]->shape()[0], " rows"));
        }
        const float* row = tables[t]->data<float>() + rows[t] * hidden;
        for (int64_t j = 0; j < hidden; ++j) sum[j] += row[j];
      }
      double mean = 0, square = 0;
      for (int64_t j = 0; j < hidden; ++j) mean += sum[j];
      mean /= std::max<int64_t>(hidden, 1);
      for (int64_t j = 0; j < hidden; ++j) square += (sum[j] - mean) * (sum[j] - mean);
      const double inv = 1.0 / std::sqrt(square / std::max<int64_t>(hidden, 1) + epsilon);
      float* out = y.mutable_data<float>() + token * hidden;
      for (int64_t j = 0; j < hidden; ++j) {
        out[j] = static_cast<float>((sum[j] - mean) * inv * pg[j] + pb[j]);
      }
    }
  }
  context.set_output(0, std::move(y));
  if (context.output_wanted(1)) {
    HALFCAST_ASSIGN_OR_RETURN(Tensor mask_index, context.NewTensor(DataType::kInt32, {batch}));
    if (mask != nullptr) {
      if (mask->shape() != is) return context.Error("mask must match input_ids");
      HALFCAST_ASSIGN_OR_RETURN(std::vector<int64_t> m, linalg::ReadInt64s(context, *mask));
      for (int64_t b = 0; b < batch; ++b) {
        mask_index.mutable_data<int32_t>()[b] = static_cast<int32_t>(
            std::count(m.begin() + b * seq, m.begin() + (b + 1) * seq, int64_t{1}));
      }
    }
    context.set_output(1, std::move(mask_index));
  }
  if (context.output_wanted(2)) context.set_output(2, std::move(sum_out));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// FusedConv and FusedGemm (com.microsoft): Conv or Gemm followed by an activation, what ONNX
// Runtime's CPU fusions leave. Their attributes carry Conv's and Gemm's names, so the default
// domain's kernel computes the product and only the activation is added here.

using Activation = std::function<double(double)>;

// The activation named by `activation`, its parameters from `params` (FusedConv's
// activation_params) or from alpha/beta (FusedGemm's activation_alpha/beta).
absl::StatusOr<Activation> FusedActivation(const KernelContext& context,
                                           const std::vector<float>& params) {
  const std::string name = context.GetString("activation", "");
  auto param = [&](size_t i, float fallback) {
    return i < params.size() ? static_cast<double>(params[i]) : fallback;
  };
  if (name.empty() || name == "Identity") return Activation([](double x) { return x; });
  if (name == "Relu") return Activation([](double x) { return x > 0 ? x : 0.0; });
  if (name == "Tanh") return Activation([](double x) { return std::tanh(x); });
  if (name == "Sigmoid") return Activation(Sigmoid);
  if (name == "LeakyRelu") {
    const double alpha = param(0, 0.01f);
    return Activation([alpha](double x) { return x >= 0 ? x : alpha * x; });
  }
  if (name == "HardSigmoid") {
    const double alpha = param(0, 0.2f), beta = param(1, 0.5f);
    return Activation([alpha, beta](double x) { return std::clamp(alpha * x + beta, 0.0, 1.0); });
  }
  if (name == "Clip") {
    const double low = param(0, std::numeric_limits<float>::lowest());
    const double high = param(1, std::numeric_limits<float>::max());
    return Activation([low, high](double x) { return std::clamp(x, low, high); });
  }
  return absl::UnimplementedError(
      absl::StrCat(context.node().op_type(), ": activation '", name, "' is not supported"));
}

// Runs the default-domain kernel `op_type` (at `opset`) on this node's first `count` inputs.
absl::StatusOr<Tensor> RunInnerKernel(KernelContext& context, std::string_view op_type, int opset,
                                      int count) {
  const KernelDef* def = FindKernel("", op_type, opset);
  if (def == nullptr)
    return absl::InternalError(absl::StrCat("no ", std::string(op_type), " kernel"));
  std::vector<const Value*> inputs;
  for (int i = 0; i < count; ++i) inputs.push_back(context.value_input(i));
  KernelContext inner(context.node(), opset, std::move(inputs), context.threads(),
                      context.subgraphs());
  inner.set_memory_budget(context.memory_budget());
  HALFCAST_RETURN_IF_ERROR(def->fn(inner));
  return std::move(inner.outputs()[0].mutable_tensor());
}

// y = activation(y + z): `z` (FusedConv's optional sum input) has y's shape.
absl::Status ApplyActivation(KernelContext& context, Tensor y, const Tensor* z,
                             const Activation& fn) {
  if (z != nullptr && (z->shape() != y.shape() || z->type() != y.type())) {
    return context.Error(absl::StrCat("Z must be the output's ", DataTypeName(y.type()), " ",
                                      ShapeText(y.shape()), ", not ", ShapeText(z->shape())));
  }
  return DispatchFloat(y.type(), [&](auto tag) -> absl::Status {
    using T = decltype(tag);
    T* py = y.mutable_data<T>();
    const T* pz = z != nullptr ? z->data<T>() : nullptr;
    for (int64_t i = 0; i < y.element_count(); ++i) {
      const T v = pz != nullptr ? static_cast<T>(py[i] + pz[i]) : py[i];
      py[i] = static_cast<T>(fn(static_cast<double>(v)));
    }
    context.set_output(0, std::move(y));
    return absl::OkStatus();
  });
}

absl::Status FusedConv(KernelContext& context) {
  HALFCAST_ASSIGN_OR_RETURN(Activation fn,
                            FusedActivation(context, context.GetFloats("activation_params")));
  HALFCAST_ASSIGN_OR_RETURN(Tensor y, RunInnerKernel(context, "Conv", 11, 3));
  return ApplyActivation(context, std::move(y), context.input(3), fn);
}

absl::Status FusedGemm(KernelContext& context) {
  std::vector<float> params;
  if (context.HasAttribute("activation_alpha")) {
    params.push_back(context.GetFloat("activation_alpha", 0));
    if (context.HasAttribute("activation_beta")) {
      params.push_back(context.GetFloat("activation_beta", 0));
    }
  }
  HALFCAST_ASSIGN_OR_RETURN(Activation fn, FusedActivation(context, params));
  HALFCAST_ASSIGN_OR_RETURN(Tensor y, RunInnerKernel(context, "Gemm", 13, 3));
  return ApplyActivation(context, std::move(y), nullptr, fn);
}

// Outputs that stay float32 for 16-bit inputs (kernel.h): the statistics outputs.
constexpr uint32_t kStatistics12 = (1u << 1) | (1u << 2);
constexpr uint32_t kStatistics1 = 1u << 1;

const KernelDef kTransformerKernels[] = {
    {"com.microsoft", "FusedMatMul", 1, kLatest, FusedMatMul},
    {"com.microsoft", "Gelu", 1, kLatest, MsGelu},
    {"com.microsoft", "BiasGelu", 1, kLatest, BiasGelu},
    {"com.microsoft", "FastGelu", 1, kLatest, FastGelu},
    {"com.microsoft", "QuickGelu", 1, kLatest, QuickGelu},
    {"com.microsoft", "BiasAdd", 1, kLatest, BiasAdd},
    {"com.microsoft", "EmbedLayerNormalization", 1, kLatest, EmbedLayerNormalization},
    {"com.microsoft", "FusedConv", 1, kLatest, FusedConv},
    {"com.microsoft", "FusedGemm", 1, kLatest, FusedGemm},
    {"com.microsoft", "SkipLayerNormalization", 1, kLatest, SkipLayerNormalization, false,
     kStatistics12},
    {"com.microsoft", "SkipSimplifiedLayerNormalization", 1, kLatest,
     SkipSimplifiedLayerNormalization, false, kStatistics12},
    // ONNX Runtime registers these two contrib schemas in the default domain.
    {"", "SimplifiedLayerNormalization", 1, kLatest, SimplifiedLayerNormalization, false,
     kStatistics1},
    {"", "LayerNormalization", 1, 16, LayerNormalizationContrib, false, kStatistics12},
    {"", "Gelu", 20, kLatest, Gelu20},
    {"", "Mish", 18, kLatest, Mish},
    {"", "Swish", 24, kLatest, Swish},
    {"", "RMSNormalization", 23, kLatest, RMSNormalization},
    {"", "GroupNormalization", 18, kLatest, GroupNormalization},
};

}  // namespace

absl::Span<const KernelDef> TransformerKernels() { return kTransformerKernels; }

}  // namespace halfcast::eval
