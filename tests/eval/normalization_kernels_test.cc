// BatchNormalization, InstanceNormalization and LayerNormalization against the formulas.
#include <cmath>
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

TEST(BatchNormalizationTest, InferenceUsesRunningStatistics) {
  const Tensor x = FloatTensor({2, 2, 1, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  const Tensor scale = FloatTensor({2}, {1, 2});
  const Tensor bias = FloatTensor({2}, {0, 1});
  const Tensor mean = FloatTensor({2}, {1, 2});
  const Tensor var = FloatTensor({2}, {4, 1});
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                       RunNode("y = BatchNormalization <epsilon = 0.0> (x, s, b, m, v)", 15,
                               {&x, &scale, &bias, &mean, &var}));
  // Channel 0: (x - 1) / 2; channel 1: (x - 2) * 2 + 1.
  ExpectClose(out[0], {2, 2, 1, 2}, {0, 0.5f, 3, 5, 2, 2.5f, 11, 13});
}

TEST(BatchNormalizationTest, TrainingModeUpdatesRunningStatistics) {
  const Tensor x = FloatTensor({2, 1, 2}, {1, 3, 5, 7});  // batch mean 4, variance 5
  const Tensor one = FloatTensor({1}, {1});
  const Tensor zero = FloatTensor({1}, {0});
  ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      RunNode("y, rm, rv = BatchNormalization <epsilon = 0.0, momentum = 0.5, training_mode = 1>"
              " (x, s, b, m, v)",
              15, {&x, &one, &zero, &zero, &one}));
  const float sd = std::sqrt(5.0f);
  ExpectClose(out[0], {2, 1, 2}, {-3 / sd, -1 / sd, 1 / sd, 3 / sd});
  ExpectClose(out[1], {1}, {2.0f});  // 0 * 0.5 + 4 * 0.5
  ExpectClose(out[2], {1}, {3.0f});  // 1 * 0.5 + 5 * 0.5
}

TEST(BatchNormalizationTest, WrongParameterSizeIsAnError) {
  const Tensor x = RandomTensor({1, 3, 2, 2}, 1);
  const Tensor p = RandomTensor({2}, 2);
  EXPECT_THAT(RunNode("y = BatchNormalization(x, s, b, m, v)", 15, {&x, &p, &p, &p, &p}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("expected 3")));
}

TEST(InstanceNormalizationTest, NormalizesEachPlane) {
  const Tensor x = FloatTensor({1, 2, 4}, {1, 2, 3, 4, 10, 10, 10, 10});
  const Tensor scale = FloatTensor({2}, {2, 1});
  const Tensor bias = FloatTensor({2}, {0, 5});
  ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      RunNode("y = InstanceNormalization <epsilon = 0.01> (x, s, b)", 6, {&x, &scale, &bias}));
  // Channel 0: variance 1.25, times scale 2; channel 1 is constant: only the bias is left.
  const float sd = std::sqrt(1.26f) / 2;
  ExpectClose(out[0], {1, 2, 4}, {-1.5f / sd, -0.5f / sd, 0.5f / sd, 1.5f / sd, 5, 5, 5, 5});
}

TEST(LayerNormalizationTest, AxisScaleBiasAndStatistics) {
  const Tensor x = RandomTensor({2, 3, 4}, 3);
  const Tensor scale = RandomTensor({3, 4}, 4);
  const Tensor bias = RandomTensor({4}, 5);  // broadcasts over the normalized [3, 4]
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                       RunNode("y, mean, inv = LayerNormalization <axis = 1, epsilon = 0.001>"
                               " (x, s, b)",
                               17, {&x, &scale, &bias}));
  const std::vector<float> vx = Values(x), vs = Values(scale), vb = Values(bias);
  std::vector<float> expected(24), means(2), invs(2);
  for (int r = 0; r < 2; ++r) {
    double mean = 0, var = 0;
    for (int j = 0; j < 12; ++j) mean += vx[r * 12 + j] / 12.0;
    for (int j = 0; j < 12; ++j) var += (vx[r * 12 + j] - mean) * (vx[r * 12 + j] - mean) / 12.0;
    const double inv = 1 / std::sqrt(var + 0.001);
    for (int j = 0; j < 12; ++j) {
      expected[r * 12 + j] = static_cast<float>((vx[r * 12 + j] - mean) * inv * vs[j] + vb[j % 4]);
    }
    means[r] = static_cast<float>(mean);
    invs[r] = static_cast<float>(inv);
  }
  ExpectClose(out[0], {2, 3, 4}, expected);
  ExpectClose(out[1], {2, 1, 1}, means);
  ExpectClose(out[2], {2, 1, 1}, invs);
}

TEST(LayerNormalizationTest, BadScaleIsAnError) {
  const Tensor x = RandomTensor({2, 3}, 1);
  const Tensor scale = RandomTensor({2}, 2);
  EXPECT_THAT(RunNode("y = LayerNormalization(x, s)", 17, {&x, &scale}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("does not broadcast")));
  EXPECT_THAT(RunNode("y = LayerNormalization <axis = 2> (x, s)", 17, {&x, &scale}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("out of range")));
}

}  // namespace
}  // namespace halfcast::eval
