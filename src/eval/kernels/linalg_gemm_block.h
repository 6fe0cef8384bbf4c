// The Eigen product behind linalg::Gemm, included by two translation units: linalg_util.cc (the
// compiler's default instruction set) and linalg_gemm_avx.cc (built with -mavx -mfma, renaming
// the Eigen namespace so its template instances never merge with the default ones). Each
// includer defines HALFCAST_GEMM_NAMESPACE first. No include guard: one inclusion per unit.
#include <cstdint>

#include "Eigen/Core"

namespace halfcast::eval::linalg::HALFCAST_GEMM_NAMESPACE {

template <typename T>
using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using ConstMap = Eigen::Map<const RowMajor<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
template <typename T>
using MutableMap = Eigen::Map<RowMajor<T>, Eigen::Unaligned, Eigen::OuterStride<>>;

// C[m, nb] = alpha * op(A) * op(B) + beta * C with row strides ldb (B) and ldc (C); see Gemm.
template <typename T>
void GemmBlock(bool trans_a, bool trans_b, int64_t m, int64_t nb, int64_t k, T alpha, const T* a,
               const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  MutableMap<T> out(c, m, nb, Eigen::OuterStride<>(ldc));
  if (beta == T(0)) {
    out.setZero();
  } else if (beta != T(1)) {
    out *= beta;
  }
  auto multiply = [&](const auto& lhs) {
    if (trans_b) {
      ConstMap<T> rhs(b, nb, k, Eigen::OuterStride<>(ldb));
      out.noalias() += alpha * (lhs * rhs.transpose());
    } else {
      ConstMap<T> rhs(b, k, nb, Eigen::OuterStride<>(ldb));
      out.noalias() += alpha * (lhs * rhs);
    }
  };
  if (trans_a) {
    ConstMap<T> lhs(a, k, m, Eigen::OuterStride<>(m));
    multiply(lhs.transpose());
  } else {
    ConstMap<T> lhs(a, m, k, Eigen::OuterStride<>(k));
    multiply(lhs);
  }
}

}  // namespace halfcast::eval::linalg::HALFCAST_GEMM_NAMESPACE
