// The implementations behind bulk_convert.h, reachable one by one so tests can compare them and
// benchmarks can time them. Not for other modules: call bulk_convert.h.
#ifndef HALFCAST_NUMERICS_BULK_CONVERT_INTERNAL_H_
#define HALFCAST_NUMERICS_BULK_CONVERT_INTERNAL_H_

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "halfcast/options.h"
#include "numerics/bulk_convert.h"

namespace halfcast::numerics::internal {

// One set of kernels. `clip` null: no clipping (Narrow); otherwise `counts` is non-null.
struct BulkKernels {
  const char* name;
  void (*float_to_16)(const float* in, uint16_t* out, size_t n, TargetType target,
                      const ClipOptions* clip, ClipCounts* counts);
  void (*widen)(const uint16_t* in, float* out, size_t n, TargetType target);
};

// The clipping rule for one value; every implementation handles its tail with it.
inline float ClipValue(float x, const ClipOptions& clip, ClipCounts* counts) {
  const float magnitude = std::fabs(x);
  if (magnitude < clip.min_positive_val && magnitude > 0.0f) {
    ++counts->below_min;
    return std::copysign(clip.min_positive_val, x);
  }
  if (magnitude > clip.max_finite_val && magnitude < std::numeric_limits<float>::infinity()) {
    ++counts->above_max;
    return std::copysign(clip.max_finite_val, x);
  }
  return x;  // 0, NaN, +-inf and values in range
}

// Clips (when `clip` is not null) and rounds in[0, n) one value at a time.
void FloatTo16Scalar(const float* in, uint16_t* out, size_t n, TargetType target,
                     const ClipOptions* clip, ClipCounts* counts);

const BulkKernels& PortableKernels();
// Null when the CPU lacks AVX2 or F16C.
const BulkKernels* Avx2F16cKernels();

}  // namespace halfcast::numerics::internal

#endif  // HALFCAST_NUMERICS_BULK_CONVERT_INTERNAL_H_
