// conv_depthwise_row.h compiled for AVX (this file alone is built with -mavx and
// -ffp-contract=off; conv.cc calls it only when the CPU and OS support AVX). Eight floats a step
// instead of SSE2's four, with the same operations in the same order (no fused multiply-add),
// so results do not depend on the CPU.
#define HALFCAST_DEPTHWISE_NAMESPACE avx
#include "eval/kernels/conv_depthwise_avx.h"

#include "eval/kernels/conv_depthwise_row.h"

namespace halfcast::eval::depthwise::avx {

RowF32 RowKernelF32(int rows, int k, int stride) { return RowKernel<float>(rows, k, stride); }

}  // namespace halfcast::eval::depthwise::avx
