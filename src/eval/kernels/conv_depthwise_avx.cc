// conv_depthwise_row.h compiled for AVX (this file alone is built with -mavx and
// -ffp-contract=off; conv.cc calls it only when the CPU and OS support AVX). Eight floats a step
// instead of SSE2's four, with the same operations in the same order (no fused multiply-add),
// so results do not depend on the CPU.
#define HALFCAST_DEPTHWISE_NAMESPACE avx
#include "eval/kernels/conv_depthwise_avx.h"

#include "eval/kernels/conv_depthwise_row.h"

namespace halfcast::eval::depthwise::avx {

RowF32 RowKernelF32(int k, int stride) {
  if (k == 3) return stride == 1 ? Row<float, 3, 1> : Row<float, 3, 2>;
  return stride == 1 ? Row<float, 5, 1> : Row<float, 5, 2>;
}

}  // namespace halfcast::eval::depthwise::avx
