// Bulk conversions between float32 and the 16-bit float types, vectorized.
//
//   halfcast::numerics::ClipOptions clip{1e-7f, 1e4f};
//   halfcast::numerics::ClipCounts counts;
//   std::vector<uint16_t> half(values.size());
//   ConvertFloatTo16(values.data(), half.data(), values.size(), TargetType::kFloat16, clip,
//   &counts);
//   // counts.below_min / counts.above_max: how many values were clipped.
//
// Every function gives bit-identical results to the scalar conversions of float16.h (rounding to
// nearest even; NaN stays NaN with its sign and top payload bits, quieted), whichever
// implementation runs: an F16C/AVX2 one on CPUs that have both (picked once, at the first call),
// a portable one elsewhere.
//
// Pointers need not be aligned beyond their element type; `in` and `out` must not overlap.
// Threading: reentrant; no shared mutable state.
#ifndef HALFCAST_NUMERICS_BULK_CONVERT_H_
#define HALFCAST_NUMERICS_BULK_CONVERT_H_

#include <cstddef>
#include <cstdint>

#include "halfcast/options.h"

namespace halfcast::numerics {

// The clipping of onnxconverter-common's convert_np_to_float16 (SPEC section 1), applied to
// float32 values before rounding: 0 < |x| < min_positive_val becomes sign(x) * min_positive_val;
// finite |x| > max_finite_val becomes sign(x) * max_finite_val; 0, NaN and +-inf never change.
// Comparisons are done in float32, as numpy does for a float32 array.
struct ClipOptions {
  float min_positive_val = 1e-7f;
  float max_finite_val = 1e4f;
};

// How many values each clipping rule changed. Conversions add to the counts (so one object can
// accumulate over the chunks of a tensor).
struct ClipCounts {
  int64_t below_min = 0;
  int64_t above_max = 0;
};

// Clips (see ClipOptions) and rounds n float32 values to float16 or bfloat16 bits. `counts` may
// be null when the counts are not wanted.
void ConvertFloatTo16(const float* in, uint16_t* out, size_t n, TargetType target,
                      const ClipOptions& clip, ClipCounts* counts);

// Rounds n float32 values to float16 or bfloat16 bits without clipping (values beyond the
// largest finite float16 become +-inf).
void Narrow(const float* in, uint16_t* out, size_t n, TargetType target);

// Widens n float16 or bfloat16 values to float32 (exact).
void Widen(const uint16_t* in, float* out, size_t n, TargetType target);

// The implementation the functions above use on this CPU: "avx2+f16c" or "portable".
const char* BulkKernelName();

}  // namespace halfcast::numerics

#endif  // HALFCAST_NUMERICS_BULK_CONVERT_H_
