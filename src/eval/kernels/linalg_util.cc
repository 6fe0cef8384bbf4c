#include "eval/kernels/linalg_util.h"

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "eval/kernels/linalg_gemm_avx.h"

#define HALFCAST_GEMM_NAMESPACE generic
#include "eval/kernels/linalg_gemm_block.h"
#undef HALFCAST_GEMM_NAMESPACE

namespace halfcast::eval::linalg {
namespace {

// Column-block width of a split GEMM. Fixed (not derived from the thread count) so that every
// block sees the same Eigen blocking whatever the number of threads: deterministic results.
constexpr int64_t kGemmBlockColumns = 1024;
// Below this many multiply-adds a product runs on the calling thread only.
constexpr int64_t kGemmParallelWork = int64_t{1} << 21;

// The product of one column block, on the AVX + FMA build of Eigen when the CPU has both.
template <typename T>
void RunBlock(bool trans_a, bool trans_b, int64_t m, int64_t nb, int64_t k, T alpha, const T* a,
              const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
#if defined(HALFCAST_HAVE_AVX_GEMM)
  static const bool avx_fma = __builtin_cpu_supports("avx") && __builtin_cpu_supports("fma");
  if constexpr (std::is_same_v<T, float>) {
    if (avx_fma) {
      return avx::GemmBlockF32(trans_a, trans_b, m, nb, k, alpha, a, b, ldb, beta, c, ldc);
    }
  } else if constexpr (std::is_same_v<T, double>) {
    if (avx_fma) {
      return avx::GemmBlockF64(trans_a, trans_b, m, nb, k, alpha, a, b, ldb, beta, c, ldc);
    }
  }
#endif
  generic::GemmBlock<T>(trans_a, trans_b, m, nb, k, alpha, a, b, ldb, beta, c, ldc);
}

}  // namespace

void ParallelFor(int threads, int64_t count, const std::function<void(int64_t)>& fn) {
  const int64_t workers = std::min<int64_t>(std::max(threads, 1), count);
  if (workers <= 1) {
    for (int64_t i = 0; i < count; ++i) fn(i);
    return;
  }
  std::atomic<int64_t> next{0};
  auto work = [&] {
    for (int64_t i = next++; i < count; i = next++) fn(i);
  };
  std::vector<std::thread> pool;
  pool.reserve(workers - 1);
  for (int64_t t = 1; t < workers; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
}

template <typename T>
void Gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          const T* b, T beta, T* c, int64_t ldc, int threads) {
  if (m == 0 || n == 0) return;
  const int64_t ldb = trans_b ? k : n;
  if (n < 2 * kGemmBlockColumns || m * n * k < kGemmParallelWork) {
    RunBlock(trans_a, trans_b, m, n, k, alpha, a, b, ldb, beta, c, ldc);
    return;
  }
  const int64_t blocks = (n + kGemmBlockColumns - 1) / kGemmBlockColumns;
  ParallelFor(threads, blocks, [&](int64_t i) {
    const int64_t n0 = i * kGemmBlockColumns;
    const int64_t nb = std::min(kGemmBlockColumns, n - n0);
    const T* b_block = trans_b ? b + n0 * k : b + n0;
    RunBlock(trans_a, trans_b, m, nb, k, alpha, a, b_block, ldb, beta, c + n0, ldc);
  });
}

#define HALFCAST_INSTANTIATE_GEMM(T)                                                             \
  template void Gemm<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, const T*, T, T*, \
                        int64_t, int);
HALFCAST_INSTANTIATE_GEMM(float)
HALFCAST_INSTANTIATE_GEMM(double)
HALFCAST_INSTANTIATE_GEMM(int8_t)
HALFCAST_INSTANTIATE_GEMM(int16_t)
HALFCAST_INSTANTIATE_GEMM(int32_t)
HALFCAST_INSTANTIATE_GEMM(int64_t)
HALFCAST_INSTANTIATE_GEMM(uint8_t)
HALFCAST_INSTANTIATE_GEMM(uint16_t)
HALFCAST_INSTANTIATE_GEMM(uint32_t)
HALFCAST_INSTANTIATE_GEMM(uint64_t)
#undef HALFCAST_INSTANTIATE_GEMM

absl::StatusOr<const Tensor*> FloatInput(const KernelContext& context, int i) {
  absl::StatusOr<const Tensor*> input = context.RequiredInput(i);
  if (!input.ok()) return input.status();
  const DataType type = (*input)->type();
  if (type != DataType::kFloat && type != DataType::kDouble) {
    return context.Error(absl::StrCat("input ", i, " has type ", DataTypeName(type),
                                      "; expected float or double"));
  }
  return input;
}

absl::Status RequireType(const KernelContext& context, const Tensor& tensor, int i,
                         DataType type) {
  if (tensor.type() == type) return absl::OkStatus();
  return context.Error(absl::StrCat("input ", i, " has type ", DataTypeName(tensor.type()),
                                    "; expected ", DataTypeName(type)));
}

int64_t ShapeProduct(const std::vector<int64_t>& shape, size_t begin, size_t end) {
  int64_t product = 1;
  for (size_t i = begin; i < end && i < shape.size(); ++i) product *= shape[i];
  return product;
}

absl::StatusOr<std::vector<int64_t>> ReadInt64s(const KernelContext& context,
                                                const Tensor& tensor) {
  const int64_t count = tensor.element_count();
  if (tensor.type() == DataType::kInt64) {
    return std::vector<int64_t>(tensor.data<int64_t>(), tensor.data<int64_t>() + count);
  }
  if (tensor.type() == DataType::kInt32) {
    return std::vector<int64_t>(tensor.data<int32_t>(), tensor.data<int32_t>() + count);
  }
  return context.Error(absl::StrCat("expected an int32 or int64 tensor, got ",
                                    DataTypeName(tensor.type())));
}

absl::StatusOr<std::vector<float>> ReadFloats(const KernelContext& context,
                                              const Tensor& tensor) {
  const int64_t count = tensor.element_count();
  if (tensor.type() == DataType::kFloat) {
    return std::vector<float>(tensor.data<float>(), tensor.data<float>() + count);
  }
  if (tensor.type() == DataType::kDouble) {
    return std::vector<float>(tensor.data<double>(), tensor.data<double>() + count);
  }
  return context.Error(absl::StrCat("expected a float or double tensor, got ",
                                    DataTypeName(tensor.type())));
}

}  // namespace halfcast::eval::linalg
