// RNN, GRU and LSTM: forward, reverse and bidirectional, sequence_lens, initial states, peepholes,
// clip, activation lists with alpha/beta, linear_before_reset, input_forget and opset 14's layout.
//
// Per direction, the input projection X * W^T of every time step is one GEMM up front; each step
// then multiplies the previous hidden state by R^T (one GEMM over the batch) and applies the gates.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "eval/kernel.h"
#include "eval/kernels/linalg_util.h"

namespace halfcast::eval {
namespace {

enum class CellKind { kRnn, kGru, kLstm };

struct Activation {
  enum Kind {
    kRelu, kTanh, kSigmoid, kAffine, kLeakyRelu, kThresholdedRelu, kScaledTanh, kHardSigmoid,
    kElu, kSoftsign, kSoftplus
  } kind;
  double alpha = 0, beta = 0;

  double operator()(double x) const {
    switch (kind) {
      case kRelu: return x > 0 ? x : 0;
      case kTanh: return std::tanh(x);
      case kSigmoid: return 1 / (1 + std::exp(-x));
      case kAffine: return alpha * x + beta;
      case kLeakyRelu: return x >= 0 ? x : alpha * x;
      case kThresholdedRelu: return x > alpha ? x : 0;
      case kScaledTanh: return alpha * std::tanh(beta * x);
      case kHardSigmoid: return std::clamp(alpha * x + beta, 0.0, 1.0);
      case kElu: return x >= 0 ? x : alpha * (std::exp(x) - 1);
      case kSoftsign: return x / (1 + std::abs(x));
      case kSoftplus: return std::log1p(std::exp(x));
    }
    return x;
  }
};

// Name -> activation, with the defaults of alpha/beta (ONNX Runtime's, as the spec gives none).
struct ActivationInfo {
  const char* name;
  Activation::Kind kind;
  bool uses_alpha, uses_beta;
  double alpha, beta;
};
constexpr ActivationInfo kActivations[] = {
    {"relu", Activation::kRelu, false, false, 0, 0},
    {"tanh", Activation::kTanh, false, false, 0, 0},
    {"sigmoid", Activation::kSigmoid, false, false, 0, 0},
    {"affine", Activation::kAffine, true, true, 1, 0},
    {"leakyrelu", Activation::kLeakyRelu, true, false, 0.01, 0},
    {"thresholdedrelu", Activation::kThresholdedRelu, true, false, 1, 0},
    {"scaledtanh", Activation::kScaledTanh, true, true, 1, 1},
    {"hardsigmoid", Activation::kHardSigmoid, true, true, 0.2, 0.5},
    {"elu", Activation::kElu, true, false, 1, 0},
    {"softsign", Activation::kSoftsign, false, false, 0, 0},
    {"softplus", Activation::kSoftplus, false, false, 0, 0},
};

// The activations of every direction (per_direction each), from the attributes or the defaults.
// activation_alpha/beta are consumed in order by the activations that take them.
absl::StatusOr<std::vector<Activation>> ReadActivations(const KernelContext& context,
                                                        const std::vector<std::string>& defaults,
                                                        int directions) {
  std::vector<std::string> names;
  if (const onnx::AttributeProto* a = context.attribute("activations")) {
    names.assign(a->strings().begin(), a->strings().end());
  }
  if (names.empty()) {
    for (int d = 0; d < directions; ++d) names.insert(names.end(), defaults.begin(), defaults.end());
  }
  if (names.size() != defaults.size() * directions) {
    return context.Error(absl::StrCat("activations lists ", names.size(), " functions; expected ",
                                      defaults.size() * directions));
  }
  const std::vector<float> alphas = context.GetFloats("activation_alpha");
  const std::vector<float> betas = context.GetFloats("activation_beta");
  size_t next_alpha = 0, next_beta = 0;
  std::vector<Activation> result;
  for (std::string name : names) {
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    const ActivationInfo* info = nullptr;
    for (const ActivationInfo& candidate : kActivations) {
      if (name == candidate.name) info = &candidate;
    }
    if (info == nullptr) return context.Error(absl::StrCat("unknown activation '", name, "'"));
    Activation activation{info->kind, info->alpha, info->beta};
    if (info->uses_alpha && next_alpha < alphas.size()) activation.alpha = alphas[next_alpha++];
    if (info->uses_beta && next_beta < betas.size()) activation.beta = betas[next_beta++];
    result.push_back(activation);
  }
  return result;
}

// Swaps the first two dimensions of a [a, b, rest] buffer.
template <typename T>
std::vector<T> SwapLeadingDims(const T* data, int64_t a, int64_t b, int64_t rest) {
  std::vector<T> out(a * b * rest);
  for (int64_t i = 0; i < a; ++i) {
    for (int64_t j = 0; j < b; ++j) {
      std::copy(data + (i * b + j) * rest, data + (i * b + j + 1) * rest,
                out.begin() + (j * a + i) * rest);
    }
  }
  return out;
}

template <typename T>
absl::Status RunRecurrent(KernelContext& context, CellKind kind) {
  const int gates = kind == CellKind::kRnn ? 1 : kind == CellKind::kGru ? 3 : 4;
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* x, linalg::FloatInput(context, 0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* w, context.RequiredInput(1));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* r, context.RequiredInput(2));
  const Tensor* b = context.input(3);
  const Tensor* lengths = context.input(4);
  const Tensor* initial_h = context.input(5);
  const Tensor* initial_c = kind == CellKind::kLstm ? context.input(6) : nullptr;
  const Tensor* peephole = kind == CellKind::kLstm ? context.input(7) : nullptr;
  const int64_t hidden = context.GetInt("hidden_size", 0);
  const std::string direction = context.GetString("direction", "forward");
  const int directions = direction == "bidirectional" ? 2 : 1;
  if (direction != "forward" && direction != "reverse" && direction != "bidirectional") {
    return context.Error(absl::StrCat("unknown direction '", direction, "'"));
  }
  const bool batch_major = context.opset() >= 14 && context.GetInt("layout", 0) != 0;
  if (x->shape().size() != 3) return context.Error("X must be 3-D");
  const int64_t seq = batch_major ? x->shape()[1] : x->shape()[0];
  const int64_t batch = batch_major ? x->shape()[0] : x->shape()[1];
  const int64_t input = x->shape()[2];
  const int64_t gh = gates * hidden;
  if (hidden < 1) return context.Error("hidden_size must be >= 1");
  auto check = [&](const Tensor* t, int i, std::vector<int64_t> shape) -> absl::Status {
    if (t == nullptr) return absl::OkStatus();
    HALFCAST_RETURN_IF_ERROR(linalg::RequireType(context, *t, i, x->type()));
    if (t->shape() != shape) {
      return context.Error(absl::StrCat("input ", i, " has shape [", absl::StrJoin(t->shape(), ","),
                                        "]; expected [", absl::StrJoin(shape, ","), "]"));
    }
    return absl::OkStatus();
  };
  const std::vector<int64_t> state_shape =
      batch_major ? std::vector<int64_t>{batch, directions, hidden}
                  : std::vector<int64_t>{directions, batch, hidden};
  HALFCAST_RETURN_IF_ERROR(check(w, 1, {directions, gh, input}));
  HALFCAST_RETURN_IF_ERROR(check(r, 2, {directions, gh, hidden}));
  HALFCAST_RETURN_IF_ERROR(check(b, 3, {directions, 2 * gh}));
  HALFCAST_RETURN_IF_ERROR(check(initial_h, 5, state_shape));
  HALFCAST_RETURN_IF_ERROR(check(initial_c, 6, state_shape));
  HALFCAST_RETURN_IF_ERROR(check(peephole, 7, {directions, 3 * hidden}));
  std::vector<int64_t> seq_lengths(batch, seq);
  if (lengths != nullptr) {
    HALFCAST_ASSIGN_OR_RETURN(seq_lengths, linalg::ReadInt64s(context, *lengths));
    if (static_cast<int64_t>(seq_lengths.size()) != batch) {
      return context.Error("sequence_lens must have one value per batch entry");
    }
    for (int64_t len : seq_lengths) {
      if (len < 0 || len > seq) {
        return context.Error(absl::StrCat("sequence length ", len, " is outside [0, ", seq, "]"));
      }
    }
  }
  const std::vector<std::string> defaults =
      kind == CellKind::kRnn   ? std::vector<std::string>{"Tanh"}
      : kind == CellKind::kGru ? std::vector<std::string>{"Sigmoid", "Tanh"}
                               : std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"};
  HALFCAST_ASSIGN_OR_RETURN(std::vector<Activation> activations,
                            ReadActivations(context, defaults, directions));
  const bool has_clip = context.HasAttribute("clip");
  const double clip = context.GetFloat("clip", 0.0f);
  const bool linear_before_reset = context.GetInt("linear_before_reset", 0) != 0;
  const bool input_forget = context.GetInt("input_forget", 0) != 0;

  // Time-major working copies.
  std::vector<T> xs = batch_major ? SwapLeadingDims(x->data<T>(), batch, seq, input)
                                  : std::vector<T>(x->data<T>(), x->data<T>() + x->element_count());
  auto states = [&](const Tensor* t) {
    if (t == nullptr) return std::vector<T>(directions * batch * hidden, T(0));
    return batch_major ? SwapLeadingDims(t->data<T>(), batch, directions, hidden)
                       : std::vector<T>(t->data<T>(), t->data<T>() + t->element_count());
  };
  std::vector<T> h_state = states(initial_h), c_state = states(initial_c);
  std::vector<T> y(seq * directions * batch * hidden, T(0));  // [seq, dirs, batch, hidden]

  const int threads = context.threads();
  std::vector<T> xw(seq * batch * gh), hr(batch * gh), gate(gh), reset_h(hidden), reset_hr(hidden),
      candidate(hidden);
  auto pre = [&](double v) { return has_clip ? std::clamp(v, -clip, clip) : v; };
  for (int d = 0; d < directions; ++d) {
    const bool reverse = direction == "reverse" || d == 1;
    const T* wd = w->data<T>() + d * gh * input;
    const T* rd = r->data<T>() + d * gh * hidden;
    const T* wb = b != nullptr ? b->data<T>() + d * 2 * gh : nullptr;
    const T* rb = wb != nullptr ? wb + gh : nullptr;
    const T* pd = peephole != nullptr ? peephole->data<T>() + d * 3 * hidden : nullptr;
    const Activation* act = activations.data() + d * defaults.size();
    T* hd = h_state.data() + d * batch * hidden;
    T* cd = c_state.data() + d * batch * hidden;
    linalg::Gemm<T>(false, true, seq * batch, gh, input, T(1), xs.data(), wd, T(0), xw.data(), gh,
                    threads);
    for (int64_t step = 0; step < seq; ++step) {
      // GRU without linear_before_reset multiplies (r * H) by Rh later: only z and r here.
      const int64_t hr_cols = kind == CellKind::kGru && !linear_before_reset ? 2 * hidden : gh;
      linalg::Gemm<T>(false, true, batch, hr_cols, hidden, T(1), hd, rd, T(0), hr.data(), gh,
                      threads);
      for (int64_t n = 0; n < batch; ++n) {
        if (step >= seq_lengths[n]) continue;
        const int64_t t = reverse ? seq_lengths[n] - 1 - step : step;
        const T* xrow = xw.data() + (t * batch + n) * gh;
        const T* hrow = hr.data() + n * gh;
        T* h = hd + n * hidden;
        for (int64_t j = 0; j < hr_cols; ++j) {
          gate[j] = xrow[j] + hrow[j] + (wb != nullptr ? wb[j] + rb[j] : T(0));
        }
        if (kind == CellKind::kRnn) {
          for (int64_t j = 0; j < hidden; ++j) h[j] = static_cast<T>(act[0](pre(gate[j])));
        } else if (kind == CellKind::kGru) {
          // Gates z, r, h.
          T* z = gate.data();
          T* rg = gate.data() + hidden;
          for (int64_t j = 0; j < hidden; ++j) {
            z[j] = static_cast<T>(act[0](pre(z[j])));
            rg[j] = static_cast<T>(act[0](pre(rg[j])));
          }
          if (linear_before_reset) {
            for (int64_t j = 0; j < hidden; ++j) {
              const double rh = hrow[2 * hidden + j] + (rb != nullptr ? rb[2 * hidden + j] : T(0));
              const double xh = xrow[2 * hidden + j] + (wb != nullptr ? wb[2 * hidden + j] : T(0));
              candidate[j] = static_cast<T>(act[1](pre(xh + rg[j] * rh)));
            }
          } else {
            for (int64_t j = 0; j < hidden; ++j) reset_h[j] = rg[j] * h[j];
            linalg::Gemm<T>(false, true, 1, hidden, hidden, T(1), reset_h.data(),
                            rd + 2 * hidden * hidden, T(0), reset_hr.data(), hidden, 1);
            for (int64_t j = 0; j < hidden; ++j) {
              const double sum = xrow[2 * hidden + j] + reset_hr[j] +
                                 (wb != nullptr ? wb[2 * hidden + j] + rb[2 * hidden + j] : T(0));
              candidate[j] = static_cast<T>(act[1](pre(sum)));
            }
          }
          for (int64_t j = 0; j < hidden; ++j) {
            h[j] = static_cast<T>((1 - z[j]) * candidate[j] + z[j] * h[j]);
          }
        } else {
          // Gates i, o, f, c; peepholes i, o, f.
          T* c = cd + n * hidden;
          for (int64_t j = 0; j < hidden; ++j) {
            const double c_prev = c[j];
            const double i = act[0](pre(gate[j] + (pd != nullptr ? pd[j] * c_prev : 0)));
            const double f =
                input_forget ? 1 - i
                             : act[0](pre(gate[2 * hidden + j] +
                                          (pd != nullptr ? pd[2 * hidden + j] * c_prev : 0)));
            const double g = act[1](pre(gate[3 * hidden + j]));
            const double c_new = f * c_prev + i * g;
            const double o =
                act[0](pre(gate[hidden + j] + (pd != nullptr ? pd[hidden + j] * c_new : 0)));
            c[j] = static_cast<T>(c_new);
            h[j] = static_cast<T>(o * act[2](c_new));
          }
        }
        std::copy(h, h + hidden, y.begin() + ((t * directions + d) * batch + n) * hidden);
      }
    }
  }

  // Outputs, back in the requested layout.
  if (context.output_wanted(0)) {
    std::vector<int64_t> shape = batch_major ? std::vector<int64_t>{batch, seq, directions, hidden}
                                             : std::vector<int64_t>{seq, directions, batch, hidden};
    HALFCAST_ASSIGN_OR_RETURN(Tensor out, context.NewTensor(x->type(), shape));
    T* po = out.mutable_data<T>();
    if (batch_major) {
      for (int64_t t = 0; t < seq; ++t)
        for (int d = 0; d < directions; ++d)
          for (int64_t n = 0; n < batch; ++n)
            std::copy_n(y.data() + ((t * directions + d) * batch + n) * hidden, hidden,
                        po + ((n * seq + t) * directions + d) * hidden);
    } else {
      std::copy(y.begin(), y.end(), po);
    }
    context.set_output(0, std::move(out));
  }
  const int last_state = kind == CellKind::kLstm ? 2 : 1;
  for (int i = 1; i <= last_state; ++i) {
    if (!context.output_wanted(i)) continue;
    const std::vector<T>& state = i == 1 ? h_state : c_state;
    HALFCAST_ASSIGN_OR_RETURN(Tensor out, context.NewTensor(x->type(), state_shape));
    const std::vector<T> ordered =
        batch_major ? SwapLeadingDims(state.data(), directions, batch, hidden) : state;
    std::copy(ordered.begin(), ordered.end(), out.mutable_data<T>());
    context.set_output(i, std::move(out));
  }
  return absl::OkStatus();
}

template <CellKind kKind>
absl::Status Recurrent(KernelContext& context) {
  const Tensor* x = context.input(0);
  if (x != nullptr && x->type() == DataType::kDouble) return RunRecurrent<double>(context, kKind);
  return RunRecurrent<float>(context, kKind);
}

const KernelDef kRecurrentKernels[] = {
    {"", "RNN", 7, 17, Recurrent<CellKind::kRnn>},
    {"", "GRU", 7, 17, Recurrent<CellKind::kGru>},
    {"", "LSTM", 7, 17, Recurrent<CellKind::kLstm>},
};

}  // namespace

absl::Span<const KernelDef> RecurrentKernels() { return kRecurrentKernels; }

}  // namespace halfcast::eval
