// Helpers shared by the matrix-heavy kernel families (linalg, conv, recurrent, normalization,
// resize): a row-major GEMM on Eigen, a deterministic parallel-for, and input/output checks.
#ifndef HALFCAST_EVAL_KERNELS_LINALG_UTIL_H_
#define HALFCAST_EVAL_KERNELS_LINALG_UTIL_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "eval/kernel.h"
#include "halfcast/tensor.h"

namespace halfcast::eval::linalg {

// Runs fn(i) for i in [0, count) on up to `threads` threads (the caller's included). The split
// into tasks is the caller's: results do not depend on `threads` as long as each fn(i) writes
// its own outputs. Threads are started per call, so callers only parallelise large work.
void ParallelFor(int threads, int64_t count, const std::function<void(int64_t)>& fn);

// C[m, n] = alpha * op(A) * op(B) + beta * C, all row-major: op(A) is [m, k] (A stored [k, m]
// when trans_a), op(B) is [k, n] (B stored [n, k] when trans_b), A and B contiguous, rows of C
// `ldc` apart (ldc >= n). When beta is 0, C is not read (it may hold garbage or NaN). Large products are split into column blocks of a
// fixed width run on `threads` threads, so the result is the same for any thread count.
// Instantiated for float, double and the 8- to 64-bit integers (dispatch.h's DispatchNumeric).
template <typename T>
void Gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          const T* b, T beta, T* c, int64_t ldc, int threads);

// The input `i` when it is present and float or double (the types the heavy kernels compute
// in); otherwise an error naming the node and the input.
absl::StatusOr<const Tensor*> FloatInput(const KernelContext& context, int i);

// Requires `tensor` to have `type`; the error names the node and the input index.
absl::Status RequireType(const KernelContext& context, const Tensor& tensor, int i, DataType type);

// Product of shape[begin, end).
int64_t ShapeProduct(const std::vector<int64_t>& shape, size_t begin, size_t end);

// Reads an integer tensor (int32 or int64) as int64 values.
absl::StatusOr<std::vector<int64_t>> ReadInt64s(const KernelContext& context, const Tensor& tensor);
// Reads a float, double or float16-as-float tensor as float values.
absl::StatusOr<std::vector<float>> ReadFloats(const KernelContext& context, const Tensor& tensor);

}  // namespace halfcast::eval::linalg

#endif  // HALFCAST_EVAL_KERNELS_LINALG_UTIL_H_
