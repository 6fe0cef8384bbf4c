// Entry points of linalg_gemm_avx.cc (x86-64 builds only; call them only when the CPU has AVX
// and FMA). Same contract as linalg::Gemm on one column block.
#ifndef HALFCAST_EVAL_KERNELS_LINALG_GEMM_AVX_H_
#define HALFCAST_EVAL_KERNELS_LINALG_GEMM_AVX_H_

#include <cstdint>

namespace halfcast::eval::linalg::avx {

void GemmBlockF32(bool trans_a, bool trans_b, int64_t m, int64_t nb, int64_t k, float alpha,
                  const float* a, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
void GemmBlockF64(bool trans_a, bool trans_b, int64_t m, int64_t nb, int64_t k, double alpha,
                  const double* a, const double* b, int64_t ldb, double beta, double* c,
                  int64_t ldc);

}  // namespace halfcast::eval::linalg::avx

#endif  // HALFCAST_EVAL_KERNELS_LINALG_GEMM_AVX_H_
