// Resize and Upsample: each interpolation mode and coordinate transformation on small inputs whose
// outputs are known (hand-computed, or ONNX's documented examples).
#include <vector>

#include "eval/heavy_kernel_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace halfcast::eval {
namespace {

using ::halfcast::eval::testing::ExpectClose;
using ::halfcast::eval::testing::FloatTensor;
using ::halfcast::eval::testing::Int64Tensor;
using ::halfcast::eval::testing::RunNode;
using ::halfcast::testing::StatusIs;
using ::testing::HasSubstr;

const Tensor& Square() {  // [[1, 2], [3, 4]]
  static const Tensor* t = new Tensor(FloatTensor({1, 1, 2, 2}, {1, 2, 3, 4}));
  return *t;
}

TEST(ResizeTest, LinearHalfPixelUpsample) {
  const Tensor scales = FloatTensor({4}, {1, 1, 2, 2});
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                       RunNode("y = Resize <mode = \"linear\"> (x, , s)", 13,
                               {&Square(), nullptr, &scales}));
  ExpectClose(out[0], {1, 1, 4, 4},
              {1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f, 2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f,
               3.75f, 4});
}

TEST(ResizeTest, EmptyInputToExplicitSizesGivesZeros) {
  // Outputs are allocated uninitialised: an input with no values must still fill every output.
  const Tensor empty = FloatTensor({2, 0}, {});
  const Tensor sizes = Int64Tensor({2}, {2, 3});
  ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      RunNode("y = Resize (x, , , sizes)", 13, {&empty, nullptr, nullptr, &sizes}));
  ExpectClose(out[0], {2, 3}, {0, 0, 0, 0, 0, 0});
}

TEST(ResizeTest, NearestModesAndSizes) {
  const Tensor row = FloatTensor({1, 4}, {1, 2, 3, 4});
  const Tensor sizes = Int64Tensor({2}, {1, 8});
  ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> floor,
      RunNode("y = Resize <coordinate_transformation_mode = \"asymmetric\", nearest_mode = "
              "\"floor\"> (x, , , sizes)",
              13, {&row, nullptr, nullptr, &sizes}));
  ExpectClose(floor[0], {1, 8}, {1, 1, 2, 2, 3, 3, 4, 4});
  // half_pixel, x2: source -0.25, 0.25, 0.75, ... -> round_prefer_floor / round_prefer_ceil.
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> prefer_ceil,
                       RunNode("y = Resize <nearest_mode = \"round_prefer_ceil\"> (x, , , sizes)",
                               13, {&row, nullptr, nullptr, &sizes}));
  ExpectClose(prefer_ceil[0], {1, 8}, {1, 1, 2, 2, 3, 3, 4, 4});
  const Tensor down = Int64Tensor({2}, {1, 3});
  // Source of output o is (o + 0.5) * 4/3 - 0.5: 0.1667, 1.5, 2.8333.
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> prefer_floor,
                       RunNode("y = Resize(x, , , sizes)", 13, {&row, nullptr, nullptr, &down}));
  ExpectClose(prefer_floor[0], {1, 3}, {1, 2, 4});
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> ceil_mode,
                       RunNode("y = Resize <nearest_mode = \"round_prefer_ceil\"> (x, , , sizes)",
                               13, {&row, nullptr, nullptr, &down}));
  ExpectClose(ceil_mode[0], {1, 3}, {1, 3, 4});
}

TEST(ResizeTest, AlignCornersAndPytorchHalfPixel) {
  const Tensor row = FloatTensor({1, 2}, {1, 2});
  const Tensor sizes = Int64Tensor({2}, {1, 4});
  ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> corners,
      RunNode("y = Resize <mode = \"linear\", coordinate_transformation_mode = \"align_corners\">"
              " (x, , , sizes)",
              13, {&row, nullptr, nullptr, &sizes}));
  ExpectClose(corners[0], {1, 4}, {1, 4.0f / 3, 5.0f / 3, 2});
  const Tensor one = Int64Tensor({2}, {1, 1});
  ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> pytorch,
      RunNode("y = Resize <mode = \"linear\", coordinate_transformation_mode = "
              "\"pytorch_half_pixel\"> (x, , , sizes)",
              13, {&row, nullptr, nullptr, &one}));
  ExpectClose(pytorch[0], {1, 1}, {1});  // a single output samples coordinate 0
}

// Regression: with scales, align_corners divides by the unrounded resized length (4 * 0.6 - 1).
TEST(ResizeTest, AlignCornersWithScalesUsesTheUnroundedLength) {
  const Tensor row = FloatTensor({1, 4}, {1, 2, 3, 4});
  const Tensor scales = FloatTensor({2}, {1, 0.6f});
  ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      RunNode("y = Resize <mode = \"linear\", coordinate_transformation_mode = \"align_corners\">"
              " (x, , s)",
              13, {&row, nullptr, &scales}));
  ExpectClose(out[0], {1, 2}, {1, 1 + 3 / 1.4f});
}

TEST(ResizeTest, CubicMatchesOnnxExample) {
  std::vector<float> values(16);
  for (int i = 0; i < 16; ++i) values[i] = static_cast<float>(i + 1);
  const Tensor x = FloatTensor({1, 1, 4, 4}, values);
  const Tensor scales = FloatTensor({4}, {1, 1, 2, 2});
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, RunNode("y = Resize <mode = \"cubic\"> (x, , s)",
                                                        13, {&x, nullptr, &scales}));
  ASSERT_EQ(out[0].shape(), (std::vector<int64_t>{1, 1, 8, 8}));
  const float* y = out[0].data<float>();
  const std::vector<float> first_row = {0.47265625f, 0.76953125f, 1.24609375f, 1.875f,
                                        2.28125f,    2.91015625f, 3.38671875f, 3.68359375f};
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(y[i], first_row[i], 1e-5f) << i;
}

TEST(ResizeTest, CropAndResizeExtrapolates) {
  const Tensor roi = FloatTensor({8}, {0, 0, 0.5f, -1, 1, 1, 1, 0.5f});
  const Tensor sizes = Int64Tensor({4}, {1, 1, 2, 2});
  ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      RunNode("y = Resize <mode = \"linear\", coordinate_transformation_mode = "
              "\"tf_crop_and_resize\", extrapolation_value = 9.0> (x, roi, , sizes)",
              13, {&Square(), &roi, nullptr, &sizes}));
  // Rows sample y = 0.5 and 1; columns sample x = -1 (outside) and 0.5.
  ExpectClose(out[0], {1, 1, 2, 2}, {9, 2.5f, 9, 3.5f});
}

TEST(ResizeTest, Opset10AndUpsampleUseAsymmetricNearest) {
  const Tensor scales = FloatTensor({4}, {1, 1, 1, 2});
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> resize10,
                       RunNode("y = Resize(x, s)", 10, {&Square(), &scales}));
  ExpectClose(resize10[0], {1, 1, 2, 4}, {1, 1, 2, 2, 3, 3, 4, 4});
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> upsample9,
                       RunNode("y = Upsample <mode = \"linear\"> (x, s)", 9, {&Square(), &scales}));
  ExpectClose(upsample9[0], {1, 1, 2, 4}, {1, 1.5f, 2, 2, 3, 3.5f, 4, 4});
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> upsample7,
                       RunNode("y = Upsample <scales = [1.0, 1.0, 2.0, 1.0]> (x)", 7, {&Square()}));
  ExpectClose(upsample7[0], {1, 1, 4, 2}, {1, 2, 1, 2, 3, 4, 3, 4});
}

TEST(ResizeTest, BadArgumentsAreErrors) {
  const Tensor scales = FloatTensor({2}, {1, 2});
  EXPECT_THAT(RunNode("y = Resize(x, , s)", 13, {&Square(), nullptr, &scales}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("for rank 4")));
  EXPECT_THAT(RunNode("y = Resize(x)", 13, {&Square()}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("exactly one")));
  const Tensor ok = FloatTensor({4}, {1, 1, 2, 2});
  EXPECT_THAT(RunNode("y = Resize <mode = \"area\"> (x, , s)", 13, {&Square(), nullptr, &ok})
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown mode")));
  const Tensor huge = Int64Tensor({4}, {1, 1, int64_t{1} << 40, int64_t{1} << 40});
  EXPECT_FALSE(RunNode("y = Resize(x, , , s)", 13, {&Square(), nullptr, nullptr, &huge}).ok());
}

}  // namespace
}  // namespace halfcast::eval
