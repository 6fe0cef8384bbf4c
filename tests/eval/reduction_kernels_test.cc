// Reduction kernels (kernels/reduction.cc): Reduce*, ArgMax/ArgMin, the softmax family, TopK
// and CumSum on hand-computed cases, their opset variants and their errors.
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "eval/kernel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "halfcast/tensor.h"
#include "tensor_kernel_test_util.h"
#include "testing/status_matchers.h"

namespace halfcast::eval {
namespace {

using ::halfcast::eval::testing::Ints;
using ::halfcast::eval::testing::Make;
using ::halfcast::eval::testing::Run1;
using ::halfcast::eval::testing::RunError;
using ::halfcast::eval::testing::RunNode;
using ::halfcast::eval::testing::Values;
using ::halfcast::testing::StatusIs;
using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::FloatNear;
using ::testing::HasSubstr;
using ::testing::IsNan;
using Shape = std::vector<int64_t>;

constexpr float kInf = std::numeric_limits<float>::infinity();

// 0, 1, 2, ... as float.
Tensor Iota(Shape shape) {
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  std::vector<float> values(count);
  for (int64_t i = 0; i < count; ++i) values[i] = static_cast<float>(i);
  return Make(std::move(shape), values);
}

TEST(ReduceTest, SumAxesInputFrom13) {
  const Tensor x = Iota({2, 3});
  const Tensor axes = Ints({-1});
  const Tensor y = Run1("y = ReduceSum <keepdims = 0> (x, a)", 13, {&x, &axes});
  EXPECT_EQ(y.shape(), (Shape{2}));
  EXPECT_THAT(Values<float>(y), ElementsAre(3, 12));
  // No axes: everything, unless noop_with_empty_axes.
  const Tensor all = Run1("y = ReduceSum(x)", 13, {&x});
  EXPECT_EQ(all.shape(), (Shape{1, 1}));
  EXPECT_THAT(Values<float>(all), ElementsAre(15));
  const Tensor noop = Run1("y = ReduceSum <noop_with_empty_axes = 1> (x)", 13, {&x});
  EXPECT_EQ(noop.shape(), (Shape{2, 3}));
  EXPECT_THAT(Values<float>(noop), ElementsAre(0, 1, 2, 3, 4, 5));
  // Before 13 the axes are an attribute.
  EXPECT_THAT(Values<float>(Run1("y = ReduceSum <axes = [0]> (x)", 11, {&x})),
              ElementsAre(3, 5, 7));
}

TEST(ReduceTest, NonAdjacentAxesAreTransposedFirst) {
  const Tensor x = Iota({2, 3, 2});
  // Sum over axes 0 and 2: for j, x[0,j,0] + x[0,j,1] + x[1,j,0] + x[1,j,1].
  const Tensor y = Run1("y = ReduceMean <axes = [0, -1], keepdims = 1> (x)", 11, {&x});
  EXPECT_EQ(y.shape(), (Shape{1, 3, 1}));
  EXPECT_THAT(Values<float>(y), ElementsAre(3.5f, 5.5f, 7.5f));
  // The middle axis only: [outer, reduced, inner] without a copy.
  EXPECT_THAT(Values<float>(Run1("y = ReduceMax <axes = [1], keepdims = 0> (x)", 13, {&x})),
              ElementsAre(4, 5, 10, 11));
}

TEST(ReduceTest, AxesInputFrom18ForTheOthers) {
  const Tensor x = Iota({2, 3});
  const Tensor axes = Ints({0});
  EXPECT_THAT(Values<float>(Run1("y = ReduceMin <keepdims = 0> (x, a)", 18, {&x, &axes})),
              ElementsAre(0, 1, 2));
  EXPECT_THAT(Values<float>(Run1("y = ReduceL1 <noop_with_empty_axes = 1> (x)", 18, {&x})),
              ElementsAre(0, 1, 2, 3, 4, 5));
}

TEST(ReduceTest, EachKind) {
  const Tensor x = Make<float>({4}, {-1, 2, -3, 4});
  auto reduce = [&](const char* op) {
    return Values<float>(Run1(std::string("y = ") + op + " <keepdims = 0> (x)", 13, {&x}))[0];
  };
  EXPECT_FLOAT_EQ(reduce("ReduceL1"), 10);
  EXPECT_FLOAT_EQ(reduce("ReduceL2"), std::sqrt(30.0f));
  EXPECT_FLOAT_EQ(reduce("ReduceSumSquare"), 30);
  EXPECT_FLOAT_EQ(reduce("ReduceProd"), 24);
  EXPECT_FLOAT_EQ(reduce("ReduceMean"), 0.5f);
  EXPECT_FLOAT_EQ(reduce("ReduceMax"), 4);
  EXPECT_FLOAT_EQ(reduce("ReduceMin"), -3);
  EXPECT_FLOAT_EQ(reduce("ReduceLogSumExp"),
                  std::log(std::exp(-1.0f) + std::exp(2.0f) + std::exp(-3.0f) + std::exp(4.0f)));
  const Tensor positive = Make<float>({2}, {2, 3});
  EXPECT_FLOAT_EQ(Values<float>(Run1("y = ReduceLogSum(x)", 13, {&positive}))[0], std::log(5.0f));
}

TEST(ReduceTest, LogSumExpDoesNotOverflow) {
  const Tensor x = Make<float>({2, 2}, {1000, 1000, -kInf, -kInf});
  const Tensor y = Run1("y = ReduceLogSumExp <axes = [1], keepdims = 0> (x)", 13, {&x});
  EXPECT_THAT(Values<float>(y), ElementsAre(FloatNear(1000 + std::log(2.0f), 1e-3f), -kInf));
}

TEST(ReduceTest, EmptySetsGiveTheIdentity) {
  const Tensor x = Make<float>({0, 2}, {});
  auto reduce = [&](const char* op) {
    return Values<float>(Run1(std::string("y = ") + op + " <axes = [0]> (x)", 11, {&x}));
  };
  EXPECT_THAT(reduce("ReduceSum"), ElementsAre(0, 0));
  EXPECT_THAT(reduce("ReduceProd"), ElementsAre(1, 1));
  EXPECT_THAT(reduce("ReduceMax"), ElementsAre(-kInf, -kInf));
  EXPECT_THAT(reduce("ReduceMin"), ElementsAre(kInf, kInf));
  EXPECT_THAT(reduce("ReduceLogSumExp"), ElementsAre(-kInf, -kInf));
  EXPECT_THAT(reduce("ReduceMean"), ElementsAre(IsNan(), IsNan()));
}

TEST(ReduceTest, NanPropagatesThroughMaxAndMin) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor x = Make<float>({3}, {1, nan, 3});
  EXPECT_THAT(Values<float>(Run1("y = ReduceMax(x)", 13, {&x})), ElementsAre(IsNan()));
  EXPECT_THAT(Values<float>(Run1("y = ReduceMin(x)", 13, {&x})), ElementsAre(IsNan()));
}

TEST(ReduceTest, IntegersAndOverflow) {
  const Tensor x = Make<int32_t>({2, 2}, {1, -2, 3, 4});
  EXPECT_THAT(Values<int32_t>(Run1("y = ReduceSumSquare <axes = [1]> (x)", 13, {&x})),
              ElementsAre(5, 25));
  EXPECT_THAT(Values<int32_t>(Run1("y = ReduceMean <axes = [0]> (x)", 13, {&x})),
              ElementsAre(2, 1));
  const Tensor big = Make<int32_t>({2}, {1 << 20, 1 << 12});
  EXPECT_THAT(RunError("y = ReduceProd(x)", 13, {&big}),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("overflow")));
  const Tensor u = Make<uint8_t>({2}, {200, 100});
  EXPECT_THAT(RunError("y = ReduceSum(x)", 13, {&u}),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("overflow")));
}

TEST(ReduceTest, BadAxesAreErrors) {
  const Tensor x = Iota({2, 3});
  const Tensor repeated = Ints({1, -1}), out_of_range = Ints({2});
  EXPECT_THAT(RunError("y = ReduceSum(x, a)", 13, {&x, &repeated}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("repeated")));
  EXPECT_THAT(RunError("y = ReduceSum(x, a)", 13, {&x, &out_of_range}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("out of range")));
}

TEST(ArgTest, SelectLastIndexAndKeepdims) {
  const Tensor x = Make<float>({2, 3}, {2, 5, 5, 7, 1, 1});
  const Tensor first = Run1("y = ArgMax <axis = 1> (x)", 13, {&x});
  EXPECT_EQ(first.shape(), (Shape{2, 1}));
  EXPECT_THAT(Values<int64_t>(first), ElementsAre(1, 0));
  EXPECT_THAT(Values<int64_t>(Run1("y = ArgMax <axis = 1, select_last_index = 1> (x)", 13, {&x})),
              ElementsAre(2, 0));
  const Tensor min =
      Run1("y = ArgMin <axis = -1, keepdims = 0, select_last_index = 1> (x)", 13, {&x});
  EXPECT_EQ(min.shape(), (Shape{2}));
  EXPECT_THAT(Values<int64_t>(min), ElementsAre(0, 2));
  EXPECT_THAT(Values<int64_t>(Run1("y = ArgMin <axis = 0, keepdims = 0> (x)", 11, {&x})),
              ElementsAre(0, 1, 1));
  const Tensor empty = Make<float>({0}, {});
  EXPECT_THAT(RunError("y = ArgMax(x)", 13, {&empty}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
}

TEST(SoftmaxTest, Opset13NormalizesOneAxisEarlierOpsetsFlatten) {
  // x[0] = [[0, 1], [2, 3]], x[1] = [[4, 5], [6, 7]]; axis 1.
  const Tensor x = Iota({2, 2, 2});
  const float e2 = std::exp(2.0f);
  // 13: pairs (x[n,0,k], x[n,1,k]) differ by 2.
  const float low = 1 / (1 + e2), high = e2 / (1 + e2);
  EXPECT_THAT(Values<float>(Run1("y = Softmax <axis = 1> (x)", 13, {&x})),
              ElementsAre(FloatNear(low, 1e-6f), FloatNear(low, 1e-6f), FloatNear(high, 1e-6f),
                          FloatNear(high, 1e-6f), FloatNear(low, 1e-6f), FloatNear(low, 1e-6f),
                          FloatNear(high, 1e-6f), FloatNear(high, 1e-6f)));
  // 11: each x[n] flattened to 4 values v, v+1, v+2, v+3.
  const float total = 1 + std::exp(1.0f) + e2 + std::exp(3.0f);
  std::vector<float> row = {1 / total, std::exp(1.0f) / total, e2 / total, std::exp(3.0f) / total};
  const std::vector<float> y11 = Values<float>(Run1("y = Softmax <axis = 1> (x)", 11, {&x}));
  ASSERT_EQ(y11.size(), 8u);
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(y11[i], row[i % 4], 1e-6f) << i;
  // The 11 default axis is 1, the 13 default -1.
  EXPECT_EQ(Values<float>(Run1("y = Softmax(x)", 11, {&x})), y11);
  EXPECT_THAT(Values<float>(Run1("y = Softmax(x)", 13, {&x}))[0],
              FloatNear(1 / (1 + std::exp(1.0f)), 1e-6f));
}

TEST(SoftmaxTest, LogSoftmaxOfLargeNumbers) {
  const Tensor x = Make<float>({1, 2}, {10000, 10001});
  const float log_total = std::log(1 + std::exp(1.0f));
  EXPECT_THAT(Values<float>(Run1("y = LogSoftmax(x)", 13, {&x})),
              ElementsAre(FloatNear(-log_total, 1e-4f), FloatNear(1 - log_total, 1e-4f)));
  const Tensor d = Make<double>({2}, {0, 0});
  EXPECT_THAT(Values<double>(Run1("y = LogSoftmax <axis = 0> (x)", 13, {&d})),
              ElementsAre(DoubleNear(-std::log(2.0), 1e-12), DoubleNear(-std::log(2.0), 1e-12)));
}

TEST(SoftmaxTest, HardmaxPicksTheFirstMaximum) {
  const Tensor x = Make<float>({2, 3}, {3, 1, 3, 0, 2, 1});
  EXPECT_THAT(Values<float>(Run1("y = Hardmax(x)", 13, {&x})), ElementsAre(1, 0, 0, 0, 1, 0));
  EXPECT_THAT(Values<float>(Run1("y = Hardmax <axis = 0> (x)", 13, {&x})),
              ElementsAre(1, 0, 1, 0, 1, 0));
}

TEST(TopKTest, TiesKeepTheLowerIndexFirst) {
  const Tensor x = Make<float>({4}, {3, 1, 3, 2});
  const Tensor k = Ints({2});
  absl::StatusOr<std::vector<Tensor>> out = RunNode("v, i = TopK(x, k)", 11, {&x, &k});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(Values<float>((*out)[0]), ElementsAre(3, 3));
  EXPECT_THAT(Values<int64_t>((*out)[1]), ElementsAre(0, 2));
  out = RunNode("v, i = TopK <largest = 0> (x, k)", 11, {&x, &k});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(Values<float>((*out)[0]), ElementsAre(1, 2));
  EXPECT_THAT(Values<int64_t>((*out)[1]), ElementsAre(1, 3));
}

TEST(TopKTest, AxisAndOpsetVariants) {
  const Tensor x = Make<int32_t>({3, 2}, {1, 6, 5, 2, 3, 4});
  absl::StatusOr<std::vector<Tensor>> out = RunNode("v, i = TopK <axis = 0, k = 2> (x)", 1, {&x});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].shape(), (Shape{2, 2}));
  EXPECT_THAT(Values<int32_t>((*out)[0]), ElementsAre(5, 6, 3, 4));
  EXPECT_THAT(Values<int64_t>((*out)[1]), ElementsAre(1, 0, 2, 2));
  const Tensor too_many = Ints({4});
  EXPECT_THAT(RunError("v, i = TopK <axis = 0> (x, k)", 11, {&x, &too_many}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("k 4")));
}

TEST(TopKTest, NanSortsAboveEverything) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor x = Make<float>({4}, {1, nan, 5, nan});
  const Tensor k = Ints({3});
  absl::StatusOr<std::vector<Tensor>> out = RunNode("v, i = TopK(x, k)", 11, {&x, &k});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(Values<int64_t>((*out)[1]), ElementsAre(1, 3, 2));
  out = RunNode("v, i = TopK <largest = 0> (x, k)", 11, {&x, &k});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(Values<int64_t>((*out)[1]), ElementsAre(0, 2, 1));
}

TEST(CumSumTest, ExclusiveAndReverse) {
  const Tensor x = Make<float>({3}, {1, 2, 3});
  const Tensor axis = Make<int32_t>({}, {0});
  EXPECT_THAT(Values<float>(Run1("y = CumSum(x, a)", 14, {&x, &axis})), ElementsAre(1, 3, 6));
  EXPECT_THAT(Values<float>(Run1("y = CumSum <exclusive = 1> (x, a)", 14, {&x, &axis})),
              ElementsAre(0, 1, 3));
  EXPECT_THAT(Values<float>(Run1("y = CumSum <reverse = 1> (x, a)", 14, {&x, &axis})),
              ElementsAre(6, 5, 3));
  EXPECT_THAT(
      Values<float>(Run1("y = CumSum <exclusive = 1, reverse = 1> (x, a)", 14, {&x, &axis})),
      ElementsAre(5, 3, 0));
}

TEST(CumSumTest, AxisZeroOf2DAndOverflow) {
  const Tensor x = Make<int64_t>({2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor axis = Ints({-2});
  EXPECT_THAT(Values<int64_t>(Run1("y = CumSum(x, a)", 14, {&x, &axis})),
              ElementsAre(1, 2, 3, 5, 7, 9));
  const Tensor big = Make<int64_t>({2}, {std::numeric_limits<int64_t>::max(), 1});
  const Tensor zero = Ints({0});
  EXPECT_THAT(RunError("y = CumSum(x, a)", 14, {&big, &zero}),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("overflow")));
}

}  // namespace
}  // namespace halfcast::eval
