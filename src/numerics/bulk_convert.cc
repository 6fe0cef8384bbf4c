#include "numerics/bulk_convert.h"

#include "numerics/bulk_convert_internal.h"

namespace halfcast::numerics {
namespace {

const internal::BulkKernels& Active() {
  static const internal::BulkKernels* const kernels = [] {
    const internal::BulkKernels* fast = internal::Avx2F16cKernels();
    return fast != nullptr ? fast : &internal::PortableKernels();
  }();
  return *kernels;
}

}  // namespace

void ConvertFloatTo16(const float* in, uint16_t* out, size_t n, TargetType target,
                      const ClipOptions& clip, ClipCounts* counts) {
  ClipCounts ignored;
  Active().float_to_16(in, out, n, target, &clip, counts != nullptr ? counts : &ignored);
}

void Narrow(const float* in, uint16_t* out, size_t n, TargetType target) {
  Active().float_to_16(in, out, n, target, nullptr, nullptr);
}

void Widen(const uint16_t* in, float* out, size_t n, TargetType target) {
  Active().widen(in, out, n, target);
}

const char* BulkKernelName() { return Active().name; }

}  // namespace halfcast::numerics
