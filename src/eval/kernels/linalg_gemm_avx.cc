// linalg::Gemm's float and double products compiled for AVX + FMA (this file alone is built with
// -mavx -mfma; linalg_util.cc calls it only when the CPU and OS support both). Eigen picks its
// 8-wide float kernels from the compiler flags, so this doubles the GEMM throughput of SSE2
// builds without making the library require AVX.
//
// Renaming Eigen's namespace gives every Eigen template instantiated here its own symbol: the
// linker can then never substitute an AVX instance for the default one (or the reverse).
#define Eigen halfcast_eigen_avx
#define HALFCAST_GEMM_NAMESPACE avx
#include "eval/kernels/linalg_gemm_block.h"
#include "eval/kernels/linalg_gemm_avx.h"

namespace halfcast::eval::linalg::avx {

void GemmBlockF32(bool trans_a, bool trans_b, int64_t m, int64_t nb, int64_t k, float alpha,
                  const float* a, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  GemmBlock<float>(trans_a, trans_b, m, nb, k, alpha, a, b, ldb, beta, c, ldc);
}

void GemmBlockF64(bool trans_a, bool trans_b, int64_t m, int64_t nb, int64_t k, double alpha,
                  const double* a, const double* b, int64_t ldb, double beta, double* c,
                  int64_t ldc) {
  GemmBlock<double>(trans_a, trans_b, m, nb, k, alpha, a, b, ldb, beta, c, ldc);
}

}  // namespace halfcast::eval::linalg::avx
