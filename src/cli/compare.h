// Comparing a candidate's outputs with a reference's, as numpy.allclose does.
#ifndef HALFCAST_CLI_COMPARE_H_
#define HALFCAST_CLI_COMPARE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "halfcast/tensor.h"

namespace halfcast::cli {

struct TensorComparison {
  bool same_shape = true;
  double max_abs_error = 0;  // max |c - r| over elements (inf when one side is inf or NaN)
  double max_rel_error = 0;  // max |c - r| / |r| over elements whose reference is not 0
  int64_t not_close = 0;     // elements failing |c - r| <= atol + rtol * |r|
  bool close() const { return same_shape && not_close == 0; }
};

// Values of a numeric tensor (float, float16, bfloat16, double, integers, bool) as doubles;
// InvalidArgument for string tensors.
absl::StatusOr<std::vector<double>> ToDoubles(const Tensor& tensor);

// numpy.allclose(candidate, reference, rtol, atol) with equal_nan=False: NaN is never close,
// infinities are close only to the same infinity. Different shapes are never close.
absl::StatusOr<TensorComparison> CompareTensors(const Tensor& reference, const Tensor& candidate,
                                                double rtol, double atol);

}  // namespace halfcast::cli

#endif  // HALFCAST_CLI_COMPARE_H_
