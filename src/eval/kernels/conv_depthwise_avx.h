// Entry point of conv_depthwise_avx.cc (x86-64 builds only; call it only when the CPU has AVX).
#ifndef HALFCAST_EVAL_KERNELS_CONV_DEPTHWISE_AVX_H_
#define HALFCAST_EVAL_KERNELS_CONV_DEPTHWISE_AVX_H_

#include <cstdint>

namespace halfcast::eval::depthwise::avx {

using RowF32 = void (*)(const float* const* rows, const float* weights, int64_t pad, int64_t begin,
                        int64_t end, float* out);

// The AVX build of conv_depthwise_row.h's RowKernel<float>(rows, k, stride).
RowF32 RowKernelF32(int rows, int k, int stride);

}  // namespace halfcast::eval::depthwise::avx

#endif  // HALFCAST_EVAL_KERNELS_CONV_DEPTHWISE_AVX_H_
