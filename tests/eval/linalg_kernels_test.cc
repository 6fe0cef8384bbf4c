// MatMul, Gemm and Einsum against naive loops and hand-computed values.
#include <vector>

#include "eval/heavy_kernel_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace halfcast::eval {
namespace {

using ::halfcast::eval::testing::ExpectClose;
using ::halfcast::eval::testing::FloatTensor;
using ::halfcast::eval::testing::RandomTensor;
using ::halfcast::eval::testing::RunNode;
using ::halfcast::eval::testing::Values;
using ::halfcast::testing::StatusIs;
using ::testing::HasSubstr;

// Naive batched product: a [batch_a..., m, k] x b [batch_b..., k, n] with 1-sized batch
// dimensions of equal-rank batch shapes broadcast.
std::vector<float> NaiveMatMul(const std::vector<float>& a, const std::vector<float>& b,
                               int64_t batch, bool a_shared, bool b_shared, int64_t m, int64_t k,
                               int64_t n) {
  std::vector<float> c(batch * m * n);
  for (int64_t p = 0; p < batch; ++p) {
    const float* pa = a.data() + (a_shared ? 0 : p * m * k);
    const float* pb = b.data() + (b_shared ? 0 : p * k * n);
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        double sum = 0;
        for (int64_t q = 0; q < k; ++q) sum += double(pa[i * k + q]) * pb[q * n + j];
        c[(p * m + i) * n + j] = static_cast<float>(sum);
      }
    }
  }
  return c;
}

TEST(MatMulTest, TwoDimensional) {
  const Tensor a = FloatTensor({2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor b = FloatTensor({3, 2}, {7, 8, 9, 10, 11, 12});
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, RunNode("y = MatMul(a, b)", 13, {&a, &b}));
  ExpectClose(out[0], {2, 2}, {58, 64, 139, 154});
}

TEST(MatMulTest, VectorOperandsDropTheirDimension) {
  const Tensor v = FloatTensor({3}, {1, 2, 3});
  const Tensor m = FloatTensor({3, 2}, {1, 0, 0, 1, 1, 1});
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> left, RunNode("y = MatMul(v, m)", 13, {&v, &m}));
  ExpectClose(left[0], {2}, {4, 5});
  const Tensor mt = FloatTensor({2, 3}, {1, 0, 1, 0, 1, 1});
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> right, RunNode("y = MatMul(m, v)", 13, {&mt, &v}));
  ExpectClose(right[0], {2}, {4, 5});
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> dot, RunNode("y = MatMul(a, b)", 13, {&v, &v}));
  ExpectClose(dot[0], {}, {14});
}

TEST(MatMulTest, BroadcastsBatchDimensions) {
  const Tensor a = RandomTensor({3, 4, 5}, 1);
  const Tensor b = RandomTensor({1, 5, 6}, 2);
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, RunNode("y = MatMul(a, b)", 13, {&a, &b}));
  ExpectClose(out[0], {3, 4, 6}, NaiveMatMul(Values(a), Values(b), 3, false, true, 4, 5, 6));
  const Tensor a1 = RandomTensor({1, 4, 5}, 3);
  const Tensor b3 = RandomTensor({2, 3, 5, 6}, 4);
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out2, RunNode("y = MatMul(a, b)", 13, {&a1, &b3}));
  ExpectClose(out2[0], {2, 3, 4, 6}, NaiveMatMul(Values(a1), Values(b3), 6, true, false, 4, 5, 6));
}

TEST(MatMulTest, LargeProductIsTheSameOnAnyThreadCount) {
  const Tensor a = RandomTensor({64, 96}, 5);
  const Tensor b = RandomTensor({96, 4096}, 6);
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> one, RunNode("y = MatMul(a, b)", 13, {&a, &b}, 1));
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> two, RunNode("y = MatMul(a, b)", 13, {&a, &b}, 2));
  EXPECT_EQ(Values(one[0]), Values(two[0]));
  ExpectClose(one[0], {64, 4096}, NaiveMatMul(Values(a), Values(b), 1, true, true, 64, 96, 4096),
              1e-4f, 1e-4f);
}

TEST(MatMulTest, IntegerOperands) {
  const std::vector<int64_t> va = {1, 2, 3, 4}, vb = {5, 6, 7, 8};
  const Tensor a = Tensor::Copy(DataType::kInt64, {2, 2}, va.data());
  const Tensor b = Tensor::Copy(DataType::kInt64, {2, 2}, vb.data());
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, RunNode("y = MatMul(a, b)", 13, {&a, &b}));
  const int64_t* c = out[0].data<int64_t>();
  EXPECT_EQ(std::vector<int64_t>(c, c + 4), (std::vector<int64_t>{19, 22, 43, 50}));
}

TEST(MatMulTest, MismatchedInnerDimensionIsAnError) {
  const Tensor a = RandomTensor({2, 3}, 1);
  const Tensor b = RandomTensor({4, 2}, 2);
  EXPECT_THAT(RunNode("y = MatMul(a, b)", 13, {&a, &b}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("inner dimensions")));
  const Tensor c = RandomTensor({2, 3, 4}, 3);
  const Tensor d = RandomTensor({3, 4, 2}, 4);
  EXPECT_THAT(RunNode("y = MatMul(a, b)", 13, {&c, &d}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("broadcast")));
}

TEST(GemmTest, TransposesScalesAndBroadcastsC) {
  const Tensor a = RandomTensor({4, 3}, 7);  // transposed: op(A) is [3, 4]
  const Tensor b = RandomTensor({5, 4}, 8);  // transposed: op(B) is [4, 5]
  const Tensor c = FloatTensor({5}, {1, 2, 3, 4, 5});
  ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      RunNode("y = Gemm <transA = 1, transB = 1, alpha = 0.5, beta = 2.0> (a, b, c)", 13,
              {&a, &b, &c}));
  std::vector<float> expected(15);
  const std::vector<float> va = Values(a), vb = Values(b);
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 5; ++j) {
      double sum = 0;
      for (int q = 0; q < 4; ++q) sum += double(va[q * 3 + i]) * vb[j * 4 + q];
      expected[i * 5 + j] = static_cast<float>(0.5 * sum + 2.0 * (j + 1));
    }
  }
  ExpectClose(out[0], {3, 5}, expected);
}

TEST(GemmTest, ColumnVectorCAndOptionalC) {
  const Tensor a = FloatTensor({2, 2}, {1, 2, 3, 4});
  const Tensor b = FloatTensor({2, 2}, {1, 0, 0, 1});
  const Tensor c = FloatTensor({2, 1}, {10, 20});
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, RunNode("y = Gemm(a, b, c)", 13, {&a, &b, &c}));
  ExpectClose(out[0], {2, 2}, {11, 12, 23, 24});
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> no_c, RunNode("y = Gemm(a, b)", 13, {&a, &b}));
  ExpectClose(no_c[0], {2, 2}, {1, 2, 3, 4});
  EXPECT_THAT(RunNode("y = Gemm(a, b)", 9, {&a, &b}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("needs C")));
  const Tensor bad_c = FloatTensor({3}, {1, 2, 3});
  EXPECT_THAT(RunNode("y = Gemm(a, b, c)", 13, {&a, &b, &bad_c}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("broadcast")));
}

TEST(EinsumTest, BatchedMatMulAndTranspose) {
  const Tensor a = RandomTensor({2, 3, 4}, 9);
  const Tensor b = RandomTensor({2, 4, 5}, 10);
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                       RunNode("y = Einsum <equation = \"bij,bjk->bik\"> (a, b)", 12, {&a, &b}));
  ExpectClose(out[0], {2, 3, 5}, NaiveMatMul(Values(a), Values(b), 2, false, false, 3, 4, 5));
  const Tensor m = FloatTensor({2, 3}, {1, 2, 3, 4, 5, 6});
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> t,
                       RunNode("y = Einsum <equation = \"ij->ji\"> (m)", 12, {&m}));
  ExpectClose(t[0], {3, 2}, {1, 4, 2, 5, 3, 6});
}

TEST(EinsumTest, TraceSumImplicitOutputAndEllipsis) {
  const Tensor m = FloatTensor({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> trace,
                       RunNode("y = Einsum <equation = \"ii\"> (m)", 12, {&m}));
  ExpectClose(trace[0], {}, {15});
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> diag,
                       RunNode("y = Einsum <equation = \"ii->i\"> (m)", 12, {&m}));
  ExpectClose(diag[0], {3}, {1, 5, 9});
  // Implicit output: labels seen once, alphabetically ("ba" -> "ab" is a transpose).
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> implicit,
                       RunNode("y = Einsum <equation = \"ba\"> (m)", 12, {&m}));
  ExpectClose(implicit[0], {3, 3}, {1, 4, 7, 2, 5, 8, 3, 6, 9});
  const Tensor x = RandomTensor({2, 3, 4}, 11);
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> sum,
                       RunNode("y = Einsum <equation = \"...j->...\"> (x)", 12, {&x}));
  std::vector<float> expected(6, 0.0f);
  const std::vector<float> vx = Values(x);
  for (int i = 0; i < 24; ++i) expected[i / 4] += vx[i];
  ExpectClose(sum[0], {2, 3}, expected);
}

TEST(EinsumTest, BadEquationsAreErrors) {
  const Tensor m = RandomTensor({2, 3}, 1);
  EXPECT_THAT(RunNode("y = Einsum <equation = \"ijk->i\"> (m)", 12, {&m}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("does not fit")));
  EXPECT_THAT(RunNode("y = Einsum <equation = \"ij,jk->ik\"> (m)", 12, {&m}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("operands")));
  EXPECT_THAT(RunNode("y = Einsum <equation = \"i1->i\"> (m)", 12, {&m}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("invalid character")));
}

}  // namespace
}  // namespace halfcast::eval
