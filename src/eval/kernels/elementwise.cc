// Elementwise kernels: unary math, broadcasting binary and variadic ops, Where, Cast, and the
// simple generators (Constant, ConstantOfShape, Range, EyeLike).
//
// Kernels compute in the input's C++ type; float16/bfloat16 arrive as float32 (kernel.h) except
// in the kernels registered with exact_16bit, which only move bits or convert types themselves.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "eval/kernel.h"
#include "eval/kernels/broadcast.h"
#include "eval/kernels/dispatch.h"
#include "numerics/float16.h"

namespace halfcast::eval {
namespace {

constexpr int kLatest = std::numeric_limits<int>::max();

// ---------------------------------------------------------------------------------------------
// Unary maps.

enum class Domain { kFloat, kNumeric, kBool };

template <Domain kDomain, typename Fn>
absl::Status UnaryMap(KernelContext& ctx, Fn fn) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* x, ctx.RequiredInput(0));
  auto body = [&](auto tag) -> absl::Status {
    using T = decltype(tag);
    HALFCAST_ASSIGN_OR_RETURN(Tensor y, ctx.NewUninitializedTensor(x->type(), x->shape()));
    const T* in = x->data<T>();
    T* out = y.mutable_data<T>();
    const int64_t n = x->element_count();
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(fn(in[i]));
    ctx.set_output(0, std::move(y));
    return absl::OkStatus();
  };
  const char* op = ctx.node().op_type().c_str();
  if constexpr (kDomain == Domain::kFloat) return DispatchFloat(x->type(), body, op);
  if constexpr (kDomain == Domain::kNumeric) return DispatchNumeric(x->type(), body, op);
  if constexpr (kDomain == Domain::kBool) {
    if (x->type() != DataType::kBool) return UnsupportedType(x->type(), op);
    return body(bool{});
  }
}

#define HALFCAST_FLOAT_UNARY(Name, expr)                                              \
  absl::Status Name(KernelContext& ctx) {                                             \
    return UnaryMap<Domain::kFloat>(ctx, [&](auto x) -> decltype(x) { return expr; }); \
  }

HALFCAST_FLOAT_UNARY(Acos, std::acos(x))
HALFCAST_FLOAT_UNARY(Acosh, std::acosh(x))
HALFCAST_FLOAT_UNARY(Asin, std::asin(x))
HALFCAST_FLOAT_UNARY(Asinh, std::asinh(x))
HALFCAST_FLOAT_UNARY(Atan, std::atan(x))
HALFCAST_FLOAT_UNARY(Atanh, std::atanh(x))
HALFCAST_FLOAT_UNARY(Ceil, std::ceil(x))
HALFCAST_FLOAT_UNARY(Cos, std::cos(x))
HALFCAST_FLOAT_UNARY(Cosh, std::cosh(x))
HALFCAST_FLOAT_UNARY(Erf, std::erf(x))
HALFCAST_FLOAT_UNARY(Exp, std::exp(x))
HALFCAST_FLOAT_UNARY(Floor, std::floor(x))
HALFCAST_FLOAT_UNARY(Log, std::log(x))
HALFCAST_FLOAT_UNARY(Reciprocal, 1 / x)
// Round halves to even: nearbyint in the default rounding mode.
HALFCAST_FLOAT_UNARY(Round, std::nearbyint(x))
HALFCAST_FLOAT_UNARY(Sin, std::sin(x))
HALFCAST_FLOAT_UNARY(Sinh, std::sinh(x))
HALFCAST_FLOAT_UNARY(Sqrt, std::sqrt(x))
HALFCAST_FLOAT_UNARY(Tan, std::tan(x))
HALFCAST_FLOAT_UNARY(Tanh, std::tanh(x))
HALFCAST_FLOAT_UNARY(Sigmoid, x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x)))
// log(1 + e^x) without overflow for large x.
HALFCAST_FLOAT_UNARY(Softplus, x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)))
HALFCAST_FLOAT_UNARY(Softsign, x / (1 + std::abs(x)))
HALFCAST_FLOAT_UNARY(HardSwish, x * std::max<decltype(x)>(0, std::min<decltype(x)>(1, x / 6 + 0.5)))
#undef HALFCAST_FLOAT_UNARY

absl::Status Abs(KernelContext& ctx) {
  return UnaryMap<Domain::kNumeric>(ctx, [](auto x) -> decltype(x) {
    if constexpr (std::is_unsigned_v<decltype(x)>) return x;
    else return x < 0 ? -x : x;
  });
}

absl::Status Neg(KernelContext& ctx) {
  return UnaryMap<Domain::kNumeric>(ctx, [](auto x) -> decltype(x) { return -x; });
}

absl::Status Sign(KernelContext& ctx) {
  return UnaryMap<Domain::kNumeric>(ctx, [](auto x) -> decltype(x) {
    using T = decltype(x);
    if (std::is_floating_point_v<T> && x != x) return x;
    return static_cast<T>((T{0} < x) - (x < T{0}));
  });
}

absl::Status Relu(KernelContext& ctx) {
  return UnaryMap<Domain::kNumeric>(ctx, [](auto x) -> decltype(x) { return x > 0 ? x : 0; });
}

absl::Status Not(KernelContext& ctx) {
  return UnaryMap<Domain::kBool>(ctx, [](bool x) { return !x; });
}

absl::Status LeakyRelu(KernelContext& ctx) {
  const float alpha = ctx.GetFloat("alpha", 0.01f);
  return UnaryMap<Domain::kFloat>(ctx, [&](auto x) -> decltype(x) { return x < 0 ? alpha * x : x; });
}

absl::Status ThresholdedRelu(KernelContext& ctx) {
  const float alpha = ctx.GetFloat("alpha", 1.0f);
  return UnaryMap<Domain::kFloat>(ctx, [&](auto x) -> decltype(x) { return x > alpha ? x : 0; });
}

absl::Status Elu(KernelContext& ctx) {
  const float alpha = ctx.GetFloat("alpha", 1.0f);
  return UnaryMap<Domain::kFloat>(
      ctx, [&](auto x) -> decltype(x) { return x < 0 ? alpha * (std::exp(x) - 1) : x; });
}

absl::Status Celu(KernelContext& ctx) {
  const float alpha = ctx.GetFloat("alpha", 1.0f);
  return UnaryMap<Domain::kFloat>(ctx, [&](auto x) -> decltype(x) {
    using T = decltype(x);
    return std::max<T>(0, x) + std::min<T>(0, alpha * (std::exp(x / alpha) - 1));
  });
}

absl::Status Selu(KernelContext& ctx) {
  const float alpha = ctx.GetFloat("alpha", 1.67326319217681884765625f);
  const float gamma = ctx.GetFloat("gamma", 1.05070102214813232421875f);
  return UnaryMap<Domain::kFloat>(ctx, [&](auto x) -> decltype(x) {
    return x <= 0 ? gamma * (alpha * std::exp(x) - alpha) : gamma * x;
  });
}

absl::Status HardSigmoid(KernelContext& ctx) {
  const float alpha = ctx.GetFloat("alpha", 0.2f);
  const float beta = ctx.GetFloat("beta", 0.5f);
  return UnaryMap<Domain::kFloat>(ctx, [&](auto x) -> decltype(x) {
    using T = decltype(x);
    return std::max<T>(0, std::min<T>(1, alpha * x + beta));
  });
}

template <typename To>
To ConvertValue(double v);  // below, with Cast

// Clip: bounds are attributes before opset 11 and optional scalar inputs from 11 on.
absl::Status Clip(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* x, ctx.RequiredInput(0));
  return DispatchNumeric(x->type(), [&](auto tag) -> absl::Status {
    using T = decltype(tag);
    T lo = std::numeric_limits<T>::lowest();
    T hi = std::numeric_limits<T>::max();
    if (ctx.opset() < 11) {
      // Saturated: the float defaults (and any attribute) may lie outside an integer T's range.
      lo = ConvertValue<T>(ctx.GetFloat("min", -std::numeric_limits<float>::max()));
      hi = ConvertValue<T>(ctx.GetFloat("max", std::numeric_limits<float>::max()));
    } else {
      for (int i : {1, 2}) {
        const Tensor* bound = ctx.input(i);
        if (bound == nullptr) continue;
        if (bound->type() != x->type() || bound->element_count() != 1) {
          return ctx.Error(absl::StrCat("bound ", i, " must be a single ",
                                        DataTypeName(x->type()), " value"));
        }
        (i == 1 ? lo : hi) = bound->data<T>()[0];
      }
    }
    HALFCAST_ASSIGN_OR_RETURN(Tensor y, ctx.NewUninitializedTensor(x->type(), x->shape()));
    const T* in = x->data<T>();
    T* out = y.mutable_data<T>();
    const int64_t n = x->element_count();
    // NaN compares false both ways and so passes through, as numpy.clip does.
    for (int64_t i = 0; i < n; ++i) out[i] = in[i] < lo ? lo : (in[i] > hi ? hi : in[i]);
    ctx.set_output(0, std::move(y));
    return absl::OkStatus();
  }, "Clip");
}

absl::Status Shrink(KernelContext& ctx) {
  const float bias = ctx.GetFloat("bias", 0.0f);
  const float lambd = ctx.GetFloat("lambd", 0.5f);
  return UnaryMap<Domain::kNumeric>(ctx, [&](auto x) -> decltype(x) {
    using T = decltype(x);
    if (x < -lambd) return static_cast<T>(x + bias);
    if (x > lambd) return static_cast<T>(x - bias);
    return 0;
  });
}

// IsNaN / IsInf: float in, bool out.
absl::Status IsNaN(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* x, ctx.RequiredInput(0));
  return DispatchFloat(x->type(), [&](auto tag) -> absl::Status {
    using T = decltype(tag);
    HALFCAST_ASSIGN_OR_RETURN(Tensor y, ctx.NewUninitializedTensor(DataType::kBool, x->shape()));
    const T* in = x->data<T>();
    bool* out = y.mutable_data<bool>();
    for (int64_t i = 0; i < x->element_count(); ++i) out[i] = std::isnan(in[i]);
    ctx.set_output(0, std::move(y));
    return absl::OkStatus();
  }, "IsNaN");
}

absl::Status IsInf(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* x, ctx.RequiredInput(0));
  const bool positive = ctx.GetInt("detect_positive", 1) != 0;
  const bool negative = ctx.GetInt("detect_negative", 1) != 0;
  return DispatchFloat(x->type(), [&](auto tag) -> absl::Status {
    using T = decltype(tag);
    HALFCAST_ASSIGN_OR_RETURN(Tensor y, ctx.NewUninitializedTensor(DataType::kBool, x->shape()));
    const T* in = x->data<T>();
    bool* out = y.mutable_data<bool>();
    for (int64_t i = 0; i < x->element_count(); ++i) {
      out[i] = std::isinf(in[i]) && (in[i] > 0 ? positive : negative);
    }
    ctx.set_output(0, std::move(y));
    return absl::OkStatus();
  }, "IsInf");
}

// ---------------------------------------------------------------------------------------------
// Broadcasting binary ops.

absl::Status SameType(const KernelContext& ctx, const Tensor& a, const Tensor& b) {
  if (a.type() == b.type()) return absl::OkStatus();
  return ctx.Error(absl::StrCat("inputs have different types ", DataTypeName(a.type()), " and ",
                                DataTypeName(b.type())));
}

// out = fn(a, b) broadcast, inputs of C++ type T, output of `out_type` holding O.
template <typename T, typename O, typename Fn>
absl::StatusOr<Tensor> BroadcastTensors(const KernelContext& ctx, const Tensor& a,
                                        const Tensor& b, DataType out_type, Fn fn) {
  absl::StatusOr<std::vector<int64_t>> shape = BroadcastShapes({&a.shape(), &b.shape()});
  if (!shape.ok()) return ctx.Error(std::string(shape.status().message()));
  HALFCAST_ASSIGN_OR_RETURN(Tensor out, ctx.NewUninitializedTensor(out_type, *shape));
  BroadcastBinary(a.data<T>(), a.shape(), b.data<T>(), b.shape(), out.mutable_data<O>(), *shape,
                  fn);
  return out;
}

// Sets output 0 to fn(a, b) broadcast, in the inputs' type T.
template <typename T, typename Fn>
absl::Status SetBroadcastOutput(KernelContext& ctx, const Tensor& a, const Tensor& b, Fn fn) {
  HALFCAST_ASSIGN_OR_RETURN(Tensor y, (BroadcastTensors<T, T>(ctx, a, b, a.type(), fn)));
  ctx.set_output(0, std::move(y));
  return absl::OkStatus();
}

// Applies a same-typed binary op across all inputs from left to right (Add is the 2-input case
// of Sum). `fn` is a generic lambda; `dispatch` picks the allowed types.
template <typename Dispatch, typename Fn>
absl::Status FoldInputs(KernelContext& ctx, Dispatch dispatch, Fn fn) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* first, ctx.RequiredInput(0));
  for (int i = 1; i < ctx.input_count(); ++i) {
    HALFCAST_ASSIGN_OR_RETURN(const Tensor* x, ctx.RequiredInput(i));
    HALFCAST_RETURN_IF_ERROR(SameType(ctx, *first, *x));
  }
  return dispatch(first->type(), [&](auto tag) -> absl::Status {
    using T = decltype(tag);
    Tensor acc = *first;
    if (ctx.input_count() == 1) {
      HALFCAST_ASSIGN_OR_RETURN(acc, ctx.NewTensor(first->type(), first->shape()));
      if (first->byte_size() > 0) {
        std::memcpy(acc.mutable_raw_data(), first->raw_data(), first->byte_size());
      }
    }
    for (int i = 1; i < ctx.input_count(); ++i) {
      HALFCAST_ASSIGN_OR_RETURN(
          acc, (BroadcastTensors<T, T>(ctx, acc, *ctx.input(i), first->type(),
                                       [&](T a, T b) -> T { return static_cast<T>(fn(a, b)); })));
    }
    ctx.set_output(0, std::move(acc));
    return absl::OkStatus();
  });
}

constexpr auto kNumeric = [](DataType t, auto&& fn) { return DispatchNumeric(t, fn); };
constexpr auto kFloatOnly = [](DataType t, auto&& fn) { return DispatchFloat(t, fn); };

// Integer +, - and * wrap around, as in numpy and ONNX Runtime. They are computed in an unsigned
// type at least as wide as unsigned int: signed overflow, including that of integers promoted to
// int (uint16 * uint16), is undefined in C++.
template <typename T, typename Op>
T Wrapping(T a, T b, Op op) {
  if constexpr (std::is_integral_v<T>) {
    using U = std::common_type_t<std::make_unsigned_t<T>, unsigned>;
    return static_cast<T>(op(static_cast<U>(a), static_cast<U>(b)));
  } else {
    return op(a, b);
  }
}

absl::Status Add(KernelContext& ctx) {
  return FoldInputs(ctx, kNumeric, [](auto a, auto b) { return Wrapping(a, b, std::plus<>()); });
}
absl::Status Sub(KernelContext& ctx) {
  return FoldInputs(ctx, kNumeric, [](auto a, auto b) { return Wrapping(a, b, std::minus<>()); });
}
absl::Status Mul(KernelContext& ctx) {
  return FoldInputs(ctx, kNumeric,
                    [](auto a, auto b) { return Wrapping(a, b, std::multiplies<>()); });
}

// numpy.maximum / minimum: NaN wins.
absl::Status Max(KernelContext& ctx) {
  return FoldInputs(ctx, kNumeric, [](auto a, auto b) {
    if (a != a) return a;
    return b != b || b > a ? b : a;
  });
}
absl::Status Min(KernelContext& ctx) {
  return FoldInputs(ctx, kNumeric, [](auto a, auto b) {
    if (a != a) return a;
    return b != b || b < a ? b : a;
  });
}

absl::Status Mean(KernelContext& ctx) {
  HALFCAST_RETURN_IF_ERROR(FoldInputs(ctx, kFloatOnly, [](auto a, auto b) { return a + b; }));
  Tensor& sum = ctx.outputs()[0].mutable_tensor();
  return DispatchFloat(sum.type(), [&](auto tag) -> absl::Status {
    using T = decltype(tag);
    T* values = sum.mutable_data<T>();
    const T count = static_cast<T>(ctx.input_count());
    for (int64_t i = 0; i < sum.element_count(); ++i) values[i] /= count;
    return absl::OkStatus();
  });
}

// Integer division and modulo by zero are errors rather than undefined behaviour.
template <typename T>
absl::Status CheckNoZeroDivisor(const KernelContext& ctx, const Tensor& b) {
  if constexpr (std::is_integral_v<T>) {
    const T* values = b.data<T>();
    for (int64_t i = 0; i < b.element_count(); ++i) {
      if (values[i] == 0) return ctx.Error("integer division by zero");
    }
  }
  return absl::OkStatus();
}

absl::Status Div(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* a, ctx.RequiredInput(0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* b, ctx.RequiredInput(1));
  HALFCAST_RETURN_IF_ERROR(SameType(ctx, *a, *b));
  return DispatchNumeric(a->type(), [&](auto tag) -> absl::Status {
    using T = decltype(tag);
    HALFCAST_RETURN_IF_ERROR(CheckNoZeroDivisor<T>(ctx, *b));
    // Integer division truncates toward zero, as C++ does.
    return SetBroadcastOutput<T>(ctx, *a, *b, [](T x, T y) -> T { return static_cast<T>(x / y); });
  }, "Div");
}

absl::Status Mod(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* a, ctx.RequiredInput(0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* b, ctx.RequiredInput(1));
  HALFCAST_RETURN_IF_ERROR(SameType(ctx, *a, *b));
  const bool fmod = ctx.GetInt("fmod", 0) != 0;
  return DispatchNumeric(a->type(), [&](auto tag) -> absl::Status {
    using T = decltype(tag);
    HALFCAST_RETURN_IF_ERROR(CheckNoZeroDivisor<T>(ctx, *b));
    auto fn = [fmod](T x, T y) -> T {
      if constexpr (std::is_floating_point_v<T>) {
        const T r = std::fmod(x, y);
        // fmod=0 on floats: the sign of the divisor, as numpy.mod.
        if (!fmod && r != 0 && ((r < 0) != (y < 0))) return r + y;
        return r;
      } else {
        const T r = static_cast<T>(x % y);
        if (!fmod && r != 0 && ((r < 0) != (y < 0))) return static_cast<T>(r + y);
        return r;
      }
    };
    return SetBroadcastOutput<T>(ctx, *a, *b, fn);
  }, "Mod");
}

// A value (widened to double) converted to the numeric or bool type To. 16-bit float targets
// are produced by CastTensor from float32, rounding to nearest even.
template <typename To>
To ConvertValue(double v) {
  if constexpr (std::is_same_v<To, bool>) {
    return v != 0;
  } else if constexpr (std::is_floating_point_v<To>) {
    return static_cast<To>(v);
  } else {
    // Out-of-range and NaN conversions are undefined in C++; saturate instead.
    if (v != v) return 0;
    if (v <= static_cast<double>(std::numeric_limits<To>::lowest())) {
      return std::numeric_limits<To>::lowest();
    }
    if (v >= static_cast<double>(std::numeric_limits<To>::max())) {
      return std::numeric_limits<To>::max();
    }
    return static_cast<To>(v);
  }
}

// Pow: the exponent may have another type than the base (opset 12+); the result has the base's.
absl::Status Pow(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* a, ctx.RequiredInput(0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* b, ctx.RequiredInput(1));
  return DispatchNumeric(a->type(), [&](auto base_tag) -> absl::Status {
    using T = decltype(base_tag);
    return DispatchNumeric(b->type(), [&](auto exp_tag) -> absl::Status {
      using E = decltype(exp_tag);
      absl::StatusOr<std::vector<int64_t>> shape = BroadcastShapes({&a->shape(), &b->shape()});
      if (!shape.ok()) return ctx.Error(std::string(shape.status().message()));
      HALFCAST_ASSIGN_OR_RETURN(Tensor y, ctx.NewUninitializedTensor(a->type(), *shape));
      BroadcastBinary(a->data<T>(), a->shape(), b->data<E>(), b->shape(), y.mutable_data<T>(),
                      *shape, [](T x, E e) -> T {
                        if constexpr (std::is_same_v<T, float> && std::is_same_v<E, float>) {
                          return std::pow(x, e);
                        }
                        // Integer results beyond T's range saturate (a plain cast is UB).
                        return ConvertValue<T>(
                            std::pow(static_cast<double>(x), static_cast<double>(e)));
                      });
      ctx.set_output(0, std::move(y));
      return absl::OkStatus();
    }, "Pow");
  }, "Pow");
}

// Comparisons: numeric (Equal also bool) inputs, bool output.
template <bool kAllowBool, typename Fn>
absl::Status Compare(KernelContext& ctx, Fn fn) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* a, ctx.RequiredInput(0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* b, ctx.RequiredInput(1));
  HALFCAST_RETURN_IF_ERROR(SameType(ctx, *a, *b));
  auto body = [&](auto tag) -> absl::Status {
    using T = decltype(tag);
    HALFCAST_ASSIGN_OR_RETURN(
        Tensor y, (BroadcastTensors<T, bool>(ctx, *a, *b, DataType::kBool,
                                             [&](T x, T y) -> bool { return fn(x, y); })));
    ctx.set_output(0, std::move(y));
    return absl::OkStatus();
  };
  const char* op = ctx.node().op_type().c_str();
  if constexpr (kAllowBool) return DispatchNumericOrBool(a->type(), body, op);
  else return DispatchNumeric(a->type(), body, op);
}

absl::Status Equal(KernelContext& ctx) {
  return Compare<true>(ctx, [](auto a, auto b) { return a == b; });
}
absl::Status Greater(KernelContext& ctx) {
  return Compare<false>(ctx, [](auto a, auto b) { return a > b; });
}
absl::Status GreaterOrEqual(KernelContext& ctx) {
  return Compare<false>(ctx, [](auto a, auto b) { return a >= b; });
}
absl::Status Less(KernelContext& ctx) {
  return Compare<false>(ctx, [](auto a, auto b) { return a < b; });
}
absl::Status LessOrEqual(KernelContext& ctx) {
  return Compare<false>(ctx, [](auto a, auto b) { return a <= b; });
}

template <typename Fn>
absl::Status Logical(KernelContext& ctx, Fn fn) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* a, ctx.RequiredInput(0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* b, ctx.RequiredInput(1));
  if (a->type() != DataType::kBool || b->type() != DataType::kBool) {
    return ctx.Error("inputs must be bool");
  }
  HALFCAST_ASSIGN_OR_RETURN(Tensor y, (BroadcastTensors<bool, bool>(ctx, *a, *b, DataType::kBool,
                                                                     fn)));
  ctx.set_output(0, std::move(y));
  return absl::OkStatus();
}

absl::Status And(KernelContext& ctx) {
  return Logical(ctx, [](bool a, bool b) { return a && b; });
}
absl::Status Or(KernelContext& ctx) {
  return Logical(ctx, [](bool a, bool b) { return a || b; });
}
absl::Status Xor(KernelContext& ctx) {
  return Logical(ctx, [](bool a, bool b) { return a != b; });
}

// Unsigned integers only; shifting by the bit width or more gives 0 rather than C++'s undefined
// behaviour.
absl::Status BitShift(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* a, ctx.RequiredInput(0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* b, ctx.RequiredInput(1));
  HALFCAST_RETURN_IF_ERROR(SameType(ctx, *a, *b));
  const std::string direction = ctx.GetString("direction", "");
  if (direction != "LEFT" && direction != "RIGHT") {
    return ctx.Error("direction must be LEFT or RIGHT");
  }
  const bool left = direction == "LEFT";
  return DispatchInteger(a->type(), [&](auto tag) -> absl::Status {
    using T = decltype(tag);
    if constexpr (!std::is_unsigned_v<T>) {
      return UnsupportedType(a->type(), "BitShift");
    } else {
      return SetBroadcastOutput<T>(ctx, *a, *b, [left](T x, T n) -> T {
        if (n >= sizeof(T) * 8) return 0;
        return static_cast<T>(left ? x << n : x >> n);
      });
    }
  }, "BitShift");
}

absl::Status PRelu(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* x, ctx.RequiredInput(0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* slope, ctx.RequiredInput(1));
  HALFCAST_RETURN_IF_ERROR(SameType(ctx, *x, *slope));
  // Before opset 7 a 1-D slope holds one value per channel (axis 1), not numpy broadcasting.
  Tensor channel_slope;
  if (ctx.opset() < 7 && slope->shape().size() == 1 && x->shape().size() >= 2 &&
      slope->shape()[0] == x->shape()[1]) {
    std::vector<int64_t> shape(x->shape().size() - 1, 1);
    shape[0] = slope->shape()[0];
    channel_slope = Tensor::Borrow(slope->type(), std::move(shape), slope->raw_data());
    slope = &channel_slope;
  }
  return DispatchNumeric(x->type(), [&](auto tag) -> absl::Status {
    using T = decltype(tag);
    return SetBroadcastOutput<T>(ctx, *x, *slope, [](T v, T s) -> T {
      return v < 0 ? static_cast<T>(s * v) : v;
    });
  }, "PRelu");
}

// Where only selects elements, so it moves 16-bit values as they are.
absl::Status Where(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* cond, ctx.RequiredInput(0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* x, ctx.RequiredInput(1));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* y, ctx.RequiredInput(2));
  if (cond->type() != DataType::kBool) return ctx.Error("condition must be bool");
  HALFCAST_RETURN_IF_ERROR(SameType(ctx, *x, *y));
  absl::StatusOr<std::vector<int64_t>> shape =
      BroadcastShapes({&cond->shape(), &x->shape(), &y->shape()});
  if (!shape.ok()) return ctx.Error(std::string(shape.status().message()));
  return DispatchBySize(x->type(), [&](auto tag) -> absl::Status {
    using T = decltype(tag);
    HALFCAST_ASSIGN_OR_RETURN(Tensor out, ctx.NewUninitializedTensor(x->type(), *shape));
    const bool* c = cond->data<bool>();
    const T* a = x->data<T>();
    const T* b = y->data<T>();
    T* o = out.mutable_data<T>();
    ForEachBroadcastRow<3>(*shape,
                           {BroadcastStrides(cond->shape(), *shape),
                            BroadcastStrides(x->shape(), *shape),
                            BroadcastStrides(y->shape(), *shape)},
                           [&](const std::array<int64_t, 3>& off,
                               const std::array<int64_t, 3>& step, int64_t out_offset,
                               int64_t n) {
                             for (int64_t j = 0; j < n; ++j) {
                               o[out_offset + j] = c[off[0] + j * step[0]]
                                                       ? a[off[1] + j * step[1]]
                                                       : b[off[2] + j * step[2]];
                             }
                           });
    ctx.set_output(0, std::move(out));
    return absl::OkStatus();
  }, "Where");
}

// ---------------------------------------------------------------------------------------------
// Cast, CastLike, Identity, Dropout.

template <typename From, typename To>
void ConvertArray(const From* in, To* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (std::is_same_v<From, To>) {
      out[i] = in[i];
    } else if constexpr ((std::is_integral_v<From> && std::is_integral_v<To> &&
                          !std::is_same_v<To, bool>) ||
                         (std::is_same_v<From, float> && std::is_same_v<To, double>)) {
      // Integer to integer wraps like numpy's astype; float to double is exact.
      out[i] = static_cast<To>(in[i]);
    } else if constexpr (std::is_same_v<From, float> && std::is_same_v<To, bool>) {
      out[i] = in[i] != 0;
    } else {
      out[i] = ConvertValue<To>(static_cast<double>(in[i]));
    }
  }
}

absl::StatusOr<Tensor> CastTensor(const KernelContext& ctx, const Tensor& x, DataType to) {
  if (x.type() == to) return x;
  if (x.type() == DataType::kString || to == DataType::kString) {
    return absl::UnimplementedError(
        absl::StrCat("Cast between string and ", DataTypeName(x.type() == DataType::kString ? to : x.type()),
                     " is not supported"));
  }
  // A 16-bit float source becomes float32 first; a 16-bit target is produced from float32.
  Tensor source = x;
  if (x.type() == DataType::kFloat16 || x.type() == DataType::kBFloat16) {
    HALFCAST_ASSIGN_OR_RETURN(source, ctx.NewUninitializedTensor(DataType::kFloat, x.shape()));
    float* f = source.mutable_data<float>();
    const uint16_t* bits = x.data<uint16_t>();
    const bool half = x.type() == DataType::kFloat16;
    for (int64_t i = 0; i < x.element_count(); ++i) {
      f[i] = half ? numerics::HalfToFloat(bits[i]) : numerics::BFloat16ToFloat(bits[i]);
    }
    if (to == DataType::kFloat) return source;
  }
  const bool to_16bit = to == DataType::kFloat16 || to == DataType::kBFloat16;
  const DataType compute_to = to_16bit ? DataType::kFloat : to;
  Tensor result;
  if (source.type() == compute_to) {
    result = source;
  } else {
    HALFCAST_ASSIGN_OR_RETURN(result, ctx.NewUninitializedTensor(compute_to, x.shape()));
    HALFCAST_RETURN_IF_ERROR(DispatchNumericOrBool(source.type(), [&](auto from_tag) {
      using From = decltype(from_tag);
      return DispatchNumericOrBool(compute_to, [&](auto to_tag) -> absl::Status {
        using To = decltype(to_tag);
        ConvertArray(source.data<From>(), result.mutable_data<To>(), x.element_count());
        return absl::OkStatus();
      });
    }));
  }
  if (!to_16bit) return result;
  HALFCAST_ASSIGN_OR_RETURN(Tensor narrow, ctx.NewUninitializedTensor(to, x.shape()));
  uint16_t* bits = narrow.mutable_data<uint16_t>();
  const float* f = result.data<float>();
  for (int64_t i = 0; i < x.element_count(); ++i) {
    bits[i] = to == DataType::kFloat16 ? numerics::FloatToHalf(f[i])
                                       : numerics::FloatToBFloat16(f[i]);
  }
  return narrow;
}

bool IsKnownType(int64_t t) { return (t >= 1 && t <= 13) || t == 16; }

absl::Status Cast(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* x, ctx.RequiredInput(0));
  const int64_t to = ctx.GetInt("to", 0);
  if (!IsKnownType(to)) return ctx.Error(absl::StrCat("unsupported target type ", to));
  HALFCAST_ASSIGN_OR_RETURN(Tensor y, CastTensor(ctx, *x, static_cast<DataType>(to)));
  ctx.set_output(0, std::move(y));
  return absl::OkStatus();
}

absl::Status CastLike(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* x, ctx.RequiredInput(0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* like, ctx.RequiredInput(1));
  HALFCAST_ASSIGN_OR_RETURN(Tensor y, CastTensor(ctx, *x, like->type()));
  ctx.set_output(0, std::move(y));
  return absl::OkStatus();
}

// Any value: a tensor, and from opset 14 a sequence, from opset 16 an optional.
absl::Status Identity(KernelContext& ctx) {
  const Value* x = ctx.value_input(0);
  if (x == nullptr) return ctx.Error("required input 0 is missing");
  ctx.set_output(0, *x);
  return absl::OkStatus();
}

// Inference: the output is the input and the mask all true. Training mode needs random numbers,
// which a reference evaluator cannot match, unless the ratio is 0.
absl::Status Dropout(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* x, ctx.RequiredInput(0));
  const Tensor* training = ctx.input(2);
  if (training != nullptr && training->element_count() == 1 && training->data<bool>()[0]) {
    const Tensor* ratio = ctx.input(1);
    bool zero_ratio = false;
    if (ratio != nullptr && ratio->element_count() == 1) {
      if (ratio->type() == DataType::kFloat) zero_ratio = ratio->data<float>()[0] == 0;
      if (ratio->type() == DataType::kDouble) zero_ratio = ratio->data<double>()[0] == 0;
    }
    if (!zero_ratio) {
      return absl::UnimplementedError(ctx.Error("training mode is not supported").message());
    }
  }
  ctx.set_output(0, *x);
  if (ctx.output_wanted(1)) {
    HALFCAST_ASSIGN_OR_RETURN(Tensor mask, ctx.NewTensor(DataType::kBool, x->shape()));
    std::memset(mask.mutable_raw_data(), 1, mask.byte_size());
    ctx.set_output(1, std::move(mask));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Generators.

absl::Status Constant(KernelContext& ctx) {
  const onnx::NodeProto& node = ctx.node();
  for (const onnx::AttributeProto& a : node.attribute()) {
    const std::string& name = a.name();
    Tensor value;
    if (name == "value") {
      HALFCAST_ASSIGN_OR_RETURN(value, TensorFromProto(a.t()));
    } else if (name == "value_float") {
      const float f = a.f();
      value = Tensor::Copy(DataType::kFloat, {}, &f);
    } else if (name == "value_floats") {
      value = Tensor::Copy(DataType::kFloat, {a.floats_size()}, a.floats().data());
    } else if (name == "value_int") {
      const int64_t i = a.i();
      value = Tensor::Copy(DataType::kInt64, {}, &i);
    } else if (name == "value_ints") {
      value = Tensor::Copy(DataType::kInt64, {a.ints_size()}, a.ints().data());
    } else if (name == "value_string") {
      value = Tensor::Strings({}, {a.s()});
    } else if (name == "value_strings") {
      value = Tensor::Strings({a.strings_size()}, {a.strings().begin(), a.strings().end()});
    } else if (name == "sparse_value") {
      return absl::UnimplementedError(ctx.Error("sparse_value is not supported").message());
    } else {
      continue;
    }
    ctx.set_output(0, std::move(value));
    return absl::OkStatus();
  }
  return ctx.Error("has no value attribute");
}

// Reads a 1-D int64 shape input.
absl::StatusOr<std::vector<int64_t>> ShapeInput(const KernelContext& ctx, const Tensor& t) {
  if (t.type() != DataType::kInt64 || t.shape().size() > 1) {
    return ctx.Error("shape input must be a 1-D int64 tensor");
  }
  return std::vector<int64_t>(t.data<int64_t>(), t.data<int64_t>() + t.element_count());
}

absl::Status ConstantOfShape(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* shape_input, ctx.RequiredInput(0));
  HALFCAST_ASSIGN_OR_RETURN(std::vector<int64_t> shape, ShapeInput(ctx, *shape_input));
  Tensor value = Tensor::Zeros(DataType::kFloat, {1});
  if (const onnx::AttributeProto* a = ctx.attribute("value")) {
    HALFCAST_ASSIGN_OR_RETURN(value, TensorFromProto(a->t()));
    if (value.element_count() != 1 || value.type() == DataType::kString) {
      return ctx.Error("value must hold one numeric element");
    }
  }
  HALFCAST_ASSIGN_OR_RETURN(Tensor out, ctx.NewUninitializedTensor(value.type(), std::move(shape)));
  const std::size_t size = ElementSize(value.type());
  auto* bytes = static_cast<unsigned char*>(out.mutable_raw_data());
  for (int64_t i = 0; i < out.element_count(); ++i) {
    std::memcpy(bytes + i * size, value.raw_data(), size);
  }
  ctx.set_output(0, std::move(out));
  return absl::OkStatus();
}

absl::Status Range(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* start, ctx.RequiredInput(0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* limit, ctx.RequiredInput(1));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* delta, ctx.RequiredInput(2));
  if (start->element_count() != 1 || limit->element_count() != 1 || delta->element_count() != 1) {
    return ctx.Error("start, limit and delta must be scalars");
  }
  HALFCAST_RETURN_IF_ERROR(SameType(ctx, *start, *limit));
  HALFCAST_RETURN_IF_ERROR(SameType(ctx, *start, *delta));
  return DispatchNumeric(start->type(), [&](auto tag) -> absl::Status {
    using T = decltype(tag);
    const T s = start->data<T>()[0];
    const T l = limit->data<T>()[0];
    const T d = delta->data<T>()[0];
    if (d == 0) return ctx.Error("delta is zero");
    const double steps = std::ceil((static_cast<double>(l) - static_cast<double>(s)) /
                                   static_cast<double>(d));
    if (!(steps < 9.2e18)) return ctx.Error("the range has too many elements");
    const int64_t n = std::max<int64_t>(0, static_cast<int64_t>(steps));
    HALFCAST_ASSIGN_OR_RETURN(Tensor out, ctx.NewUninitializedTensor(start->type(), {n}));
    T* values = out.mutable_data<T>();
    // Accumulate like the ONNX function body (start + i * delta, computed stepwise).
    T v = s;
    for (int64_t i = 0; i < n; ++i) {
      values[i] = v;
      v = static_cast<T>(v + d);
    }
    ctx.set_output(0, std::move(out));
    return absl::OkStatus();
  }, "Range");
}

absl::Status EyeLike(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* x, ctx.RequiredInput(0));
  if (x->shape().size() != 2) return ctx.Error("input must be 2-D");
  const int64_t dtype = ctx.GetInt("dtype", static_cast<int64_t>(x->type()));
  if (!IsKnownType(dtype) || dtype == static_cast<int64_t>(DataType::kString)) {
    return ctx.Error(absl::StrCat("unsupported dtype ", dtype));
  }
  const auto type = static_cast<DataType>(dtype);
  const int64_t k = ctx.GetInt("k", 0);
  HALFCAST_ASSIGN_OR_RETURN(Tensor out, ctx.NewTensor(type, x->shape()));
  const int64_t rows = x->shape()[0];
  const int64_t cols = x->shape()[1];
  auto* bytes = static_cast<unsigned char*>(out.mutable_raw_data());
  const std::size_t size = ElementSize(type);
  // The bytes of the value 1 in `type`.
  unsigned char one[8] = {};
  HALFCAST_RETURN_IF_ERROR([&]() -> absl::Status {
    if (type == DataType::kFloat16) {
      const uint16_t bits = 0x3C00;
      std::memcpy(one, &bits, 2);
      return absl::OkStatus();
    }
    if (type == DataType::kBFloat16) {
      const uint16_t bits = 0x3F80;
      std::memcpy(one, &bits, 2);
      return absl::OkStatus();
    }
    return DispatchNumericOrBool(type, [&](auto tag) -> absl::Status {
      using T = decltype(tag);
      const T value = 1;
      std::memcpy(one, &value, sizeof value);
      return absl::OkStatus();
    });
  }());
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t c = r + k;
    if (c >= 0 && c < cols) std::memcpy(bytes + (r * cols + c) * size, one, size);
  }
  ctx.set_output(0, std::move(out));
  return absl::OkStatus();
}

constexpr KernelDef kKernels[] = {
    {"", "Abs", 1, kLatest, Abs},
    {"", "Acos", 7, kLatest, Acos},
    {"", "Acosh", 9, kLatest, Acosh},
    {"", "Asin", 7, kLatest, Asin},
    {"", "Asinh", 9, kLatest, Asinh},
    {"", "Atan", 7, kLatest, Atan},
    {"", "Atanh", 9, kLatest, Atanh},
    {"", "Ceil", 1, kLatest, Ceil},
    {"", "Cos", 7, kLatest, Cos},
    {"", "Cosh", 9, kLatest, Cosh},
    {"", "Erf", 9, kLatest, Erf},
    {"", "Exp", 1, kLatest, Exp},
    {"", "Floor", 1, kLatest, Floor},
    {"", "Log", 1, kLatest, Log},
    {"", "Neg", 1, kLatest, Neg},
    {"", "Reciprocal", 1, kLatest, Reciprocal},
    {"", "Round", 11, kLatest, Round},
    {"", "Sign", 9, kLatest, Sign},
    {"", "Sin", 7, kLatest, Sin},
    {"", "Sinh", 9, kLatest, Sinh},
    {"", "Sqrt", 1, kLatest, Sqrt},
    {"", "Tan", 7, kLatest, Tan},
    {"", "Tanh", 1, kLatest, Tanh},
    {"", "Sigmoid", 1, kLatest, Sigmoid},
    {"", "HardSigmoid", 1, kLatest, HardSigmoid},
    {"", "HardSwish", 14, kLatest, HardSwish},
    {"", "Relu", 1, kLatest, Relu},
    {"", "LeakyRelu", 1, kLatest, LeakyRelu},
    {"", "Elu", 1, kLatest, Elu},
    {"", "Celu", 12, kLatest, Celu},
    {"", "Selu", 1, kLatest, Selu},
    {"", "Softplus", 1, kLatest, Softplus},
    {"", "Softsign", 1, kLatest, Softsign},
    {"", "ThresholdedRelu", 10, kLatest, ThresholdedRelu},
    {"", "PRelu", 1, kLatest, PRelu},
    {"", "Clip", 1, kLatest, Clip},
    {"", "Not", 1, kLatest, Not},
    {"", "Shrink", 9, kLatest, Shrink},
    {"", "BitShift", 11, kLatest, BitShift},
    {"", "IsNaN", 9, kLatest, IsNaN},
    {"", "IsInf", 10, kLatest, IsInf},
    {"", "Add", 1, kLatest, Add},
    {"", "Sub", 1, kLatest, Sub},
    {"", "Mul", 1, kLatest, Mul},
    {"", "Div", 1, kLatest, Div},
    {"", "Pow", 1, kLatest, Pow},
    {"", "Mod", 10, kLatest, Mod},
    {"", "And", 1, kLatest, And},
    {"", "Or", 1, kLatest, Or},
    {"", "Xor", 1, kLatest, Xor},
    {"", "Equal", 1, kLatest, Equal},
    {"", "Greater", 1, kLatest, Greater},
    {"", "GreaterOrEqual", 12, kLatest, GreaterOrEqual},
    {"", "Less", 1, kLatest, Less},
    {"", "LessOrEqual", 12, kLatest, LessOrEqual},
    {"", "Max", 1, kLatest, Max},
    {"", "Min", 1, kLatest, Min},
    {"", "Mean", 1, kLatest, Mean},
    {"", "Sum", 1, kLatest, Add},
    {"", "Where", 9, kLatest, Where, /*exact_16bit=*/true},
    {"", "Cast", 1, kLatest, Cast, /*exact_16bit=*/true},
    {"", "CastLike", 15, kLatest, CastLike, /*exact_16bit=*/true},
    {"", "Identity", 1, kLatest, Identity, /*exact_16bit=*/true, /*float32_outputs=*/0,
     /*takes_values=*/true},
    {"", "Dropout", 1, kLatest, Dropout, /*exact_16bit=*/true},
    {"", "Constant", 1, kLatest, Constant, /*exact_16bit=*/true},
    {"", "ConstantOfShape", 9, kLatest, ConstantOfShape, /*exact_16bit=*/true},
    {"", "Range", 11, kLatest, Range},
    {"", "EyeLike", 9, kLatest, EyeLike, /*exact_16bit=*/true},
};

}  // namespace

absl::Span<const KernelDef> ElementwiseKernels() { return kKernels; }

}  // namespace halfcast::eval
