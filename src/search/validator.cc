#include "search/validator.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "numerics/float16.h"
#include "search/tensor_values.h"
#include "search/user_code.h"

namespace halfcast::search {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

absl::StatusOr<std::optional<Tolerance>> ResolveTolerance(std::optional<double> rtol,
                                                          std::optional<double> atol,
                                                          bool has_validate_fn) {
  for (const auto& [name, value] : {std::pair{"rtol", rtol}, std::pair{"atol", atol}}) {
    if (value && !(std::isfinite(*value) && *value >= 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " must be finite and >= 0, got ", *value));
    }
  }
  if (!rtol && !atol) {
    if (has_validate_fn) return std::optional<Tolerance>();
    return absl::InvalidArgumentError(
        "mixed precision needs rtol, atol or a validate_fn to judge candidate outputs");
  }
  return std::optional<Tolerance>(Tolerance{rtol.value_or(1e-5), atol.value_or(1e-8)});
}

Tensor WidenToFloat(const Tensor& tensor) {
  if (tensor.type() != DataType::kFloat16 && tensor.type() != DataType::kBFloat16) return tensor;
  Tensor wide = Tensor::Zeros(DataType::kFloat, tensor.shape());
  const uint16_t* in = tensor.data<uint16_t>();
  float* out = wide.mutable_data<float>();
  const int64_t count = tensor.element_count();
  const bool half = tensor.type() == DataType::kFloat16;
  for (int64_t i = 0; i < count; ++i) {
    out[i] = half ? numerics::HalfToFloat(in[i]) : numerics::BFloat16ToFloat(in[i]);
  }
  return wide;
}

Tensor NarrowFloat(const Tensor& tensor, DataType type) {
  if (tensor.type() != DataType::kFloat) return tensor;
  Tensor narrow = Tensor::Zeros(type, tensor.shape());
  const float* in = tensor.data<float>();
  uint16_t* out = narrow.mutable_data<uint16_t>();
  const int64_t count = tensor.element_count();
  const bool half = type == DataType::kFloat16;
  for (int64_t i = 0; i < count; ++i) {
    out[i] = half ? numerics::FloatToHalf(in[i]) : numerics::FloatToBFloat16(in[i]);
  }
  return narrow;
}

Comparison CompareTensors(const std::string& name, const Tensor& reference, const Tensor& candidate,
                          const Tolerance& tolerance) {
  Comparison result;
  result.error.name = name;
  auto fail = [&](std::string why) {
    result.close = false;
    result.ratio = kInf;
    result.error.max_abs_error = kInf;
    result.error.max_rel_error = kInf;
    result.mismatch = std::move(why);
    return result;
  };
  if (reference.shape() != candidate.shape()) {
    return fail(absl::StrCat("output '", name, "' has shape ", ShapeText(candidate.shape()),
                             ", the float32 model gives ", ShapeText(reference.shape())));
  }
  if ((reference.type() == DataType::kString) != (candidate.type() == DataType::kString)) {
    return fail(absl::StrCat("output '", name, "' has type ", DataTypeName(candidate.type()),
                             ", the float32 model gives ", DataTypeName(reference.type())));
  }
  if (reference.type() == DataType::kString) {
    if (reference.strings() != candidate.strings()) {
      return fail(absl::StrCat("output '", name, "' strings differ"));
    }
    return result;
  }
  const std::vector<double> b = ToDoubles(reference);
  const std::vector<double> a = ToDoubles(candidate);
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) || std::isnan(b[i])) {
      result.close = false;
      result.ratio = result.error.max_abs_error = result.error.max_rel_error = kInf;
      continue;
    }
    if (std::isinf(a[i]) || std::isinf(b[i])) {
      if (a[i] != b[i]) {  // numpy: infinities are close only to themselves
        result.close = false;
        result.ratio = result.error.max_abs_error = result.error.max_rel_error = kInf;
      }
      continue;
    }
    const double diff = std::fabs(a[i] - b[i]);
    const double bound = tolerance.atol + tolerance.rtol * std::fabs(b[i]);
    if (diff > bound) result.close = false;
    result.error.max_abs_error = std::max(result.error.max_abs_error, diff);
    if (b[i] != 0) {
      result.error.max_rel_error = std::max(result.error.max_rel_error, diff / std::fabs(b[i]));
    }
    const double ratio = bound > 0 ? diff / bound : (diff > 0 ? kInf : 0);
    result.ratio = std::max(result.ratio, ratio);
  }
  return result;
}

Validator::Validator(std::optional<Tolerance> tolerance, ValidateFn validate_fn)
    : tolerance_(tolerance), validate_fn_(std::move(validate_fn)) {}

absl::StatusOr<Verdict> Validator::Judge(const TensorMap& reference,
                                         const TensorMap& candidate) const {
  Verdict verdict;
  verdict.valid = true;
  const Tolerance tolerance = tolerance_.value_or(Tolerance{});
  double worst = -1;
  for (const auto& [name, ref] : reference) {
    auto it = candidate.find(name);
    Comparison comparison;
    if (it == candidate.end()) {
      comparison.close = false;
      comparison.ratio = comparison.error.max_abs_error = comparison.error.max_rel_error = kInf;
      comparison.error.name = name;
      comparison.mismatch = absl::StrCat("output '", name, "' is missing");
    } else {
      comparison = CompareTensors(name, ref, it->second, tolerance);
    }
    // Without tolerances only a structural mismatch fails here; validate_fn decides the rest.
    if (!comparison.mismatch.empty() || (tolerance_ && !comparison.close)) verdict.valid = false;
    const double score = tolerance_ ? comparison.ratio : comparison.error.max_abs_error;
    if (score > worst) {
      worst = score;
      verdict.summary =
          !comparison.mismatch.empty()
              ? comparison.mismatch
              : absl::StrCat("output '", name, "' max abs error ", comparison.error.max_abs_error,
                             ", max rel error ", comparison.error.max_rel_error);
    }
    verdict.errors.push_back(std::move(comparison.error));
  }
  for (const auto& [name, value] : candidate) {
    if (reference.count(name) == 0) {
      verdict.valid = false;
      worst = kInf;
      verdict.summary = absl::StrCat("output '", name, "' is not an output of the float32 model");
    }
  }
  verdict.score = std::max(worst, 0.0);
  if (validate_fn_) {
    absl::StatusOr<bool> accepted =
        CallUserCode("validate_fn", [&] { return validate_fn_(reference, candidate); });
    if (!accepted.ok()) return accepted.status();
    if (!*accepted) {
      verdict.valid = false;
      if (verdict.summary.empty()) verdict.summary = "validate_fn rejected the outputs";
      else absl::StrAppend(&verdict.summary, " (validate_fn rejected the outputs)");
    }
  }
  return verdict;
}

}  // namespace halfcast::search
