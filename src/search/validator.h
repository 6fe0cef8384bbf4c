// Judging candidate outputs against the float32 reference: numpy.allclose tolerances and/or the
// caller's validate_fn, with the per-output errors the report gives.
#ifndef HALFCAST_SEARCH_VALIDATOR_H_
#define HALFCAST_SEARCH_VALIDATOR_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "halfcast/mixed_precision.h"
#include "halfcast/tensor.h"

namespace halfcast::search {

struct Tolerance {
  double rtol = 0;
  double atol = 0;
};

// SPEC.md section 2: only atol -> rtol 1e-5; only rtol -> atol 1e-8; neither -> nullopt when a
// validate_fn is given, else InvalidArgument. Negative or non-finite values are InvalidArgument.
absl::StatusOr<std::optional<Tolerance>> ResolveTolerance(std::optional<double> rtol,
                                                          std::optional<double> atol,
                                                          bool has_validate_fn);

// float16/bfloat16 tensors as float32 (exact); other tensors unchanged.
Tensor WidenToFloat(const Tensor& tensor);
// Float tensors rounded to `type` (kFloat16 or kBFloat16, nearest even); others unchanged.
Tensor NarrowFloat(const Tensor& tensor, DataType type);

// One output compared element-wise; `candidate` is already widened.
struct Comparison {
  OutputError error;          // max |a-b| and max |a-b|/|b| over elements with b != 0
  bool close = true;          // numpy.allclose(a, b, rtol, atol) with equal_nan=False
  double ratio = 0;           // max |a-b| / (atol + rtol*|b|); +inf for a mismatched inf/NaN
  std::string mismatch;       // non-empty when names, types or shapes differ (then close = false)
};
Comparison CompareTensors(const std::string& name, const Tensor& reference, const Tensor& candidate,
                          const Tolerance& tolerance);

struct Verdict {
  bool valid = false;
  // How far from passing: the largest allclose ratio over outputs (<= 1 passes) when tolerances
  // are set, else the largest max-abs error. Used to report the smallest error seen.
  double score = 0;
  std::vector<OutputError> errors;  // per reference output, in name order
  std::string summary;              // the worst output, for messages
};

class Validator {
 public:
  // `tolerance` nullopt: only validate_fn decides. `validate_fn` may be empty.
  Validator(std::optional<Tolerance> tolerance, ValidateFn validate_fn);

  // Compares `candidate` (graph outputs by name, already widened to float32) with `reference`.
  // An error comes only from validate_fn (returned as is, so the search stops with it).
  absl::StatusOr<Verdict> Judge(const TensorMap& reference, const TensorMap& candidate) const;

 private:
  std::optional<Tolerance> tolerance_;
  ValidateFn validate_fn_;
};

}  // namespace halfcast::search

#endif  // HALFCAST_SEARCH_VALIDATOR_H_
