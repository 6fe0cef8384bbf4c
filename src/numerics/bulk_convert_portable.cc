// The portable kernels: the scalar conversions of float16.h in a loop.
#include "numerics/bulk_convert_internal.h"
#include "numerics/float16.h"

namespace halfcast::numerics::internal {
namespace {

template <uint16_t (*Round)(float)>
void FloatTo16Loop(const float* in, uint16_t* out, size_t n, const ClipOptions* clip,
                   ClipCounts* counts) {
  if (clip == nullptr) {
    for (size_t i = 0; i < n; ++i) out[i] = Round(in[i]);
  } else {
    for (size_t i = 0; i < n; ++i) out[i] = Round(ClipValue(in[i], *clip, counts));
  }
}

void WidenPortable(const uint16_t* in, float* out, size_t n, TargetType target) {
  if (target == TargetType::kFloat16) {
    for (size_t i = 0; i < n; ++i) out[i] = HalfToFloat(in[i]);
  } else {
    for (size_t i = 0; i < n; ++i) out[i] = BFloat16ToFloat(in[i]);
  }
}

}  // namespace

void FloatTo16Scalar(const float* in, uint16_t* out, size_t n, TargetType target,
                     const ClipOptions* clip, ClipCounts* counts) {
  if (target == TargetType::kFloat16) {
    FloatTo16Loop<FloatToHalf>(in, out, n, clip, counts);
  } else {
    FloatTo16Loop<FloatToBFloat16>(in, out, n, clip, counts);
  }
}

const BulkKernels& PortableKernels() {
  static constexpr BulkKernels kPortable = {"portable", FloatTo16Scalar, WidenPortable};
  return kPortable;
}

}  // namespace halfcast::numerics::internal
