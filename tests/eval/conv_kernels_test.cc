// Conv, ConvTranspose, pools and LRN against naive loops and hand-computed values.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
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

struct Conv2D {
  int64_t n, c, h, w, m, kh, kw, group = 1, stride = 1, pad = 0, dilation = 1;
  int64_t OutH() const { return (h + 2 * pad - (kh - 1) * dilation - 1) / stride + 1; }
  int64_t OutW() const { return (w + 2 * pad - (kw - 1) * dilation - 1) / stride + 1; }
};

// Direct convolution, double accumulation.
std::vector<float> NaiveConv(const Conv2D& p, const std::vector<float>& x,
                             const std::vector<float>& w, const std::vector<float>& b) {
  const int64_t oh = p.OutH(), ow = p.OutW(), cg = p.c / p.group, mg = p.m / p.group;
  std::vector<float> y(p.n * p.m * oh * ow);
  for (int64_t n = 0; n < p.n; ++n)
    for (int64_t m = 0; m < p.m; ++m)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          double sum = b.empty() ? 0.0 : b[m];
          const int64_t g = m / mg;
          for (int64_t c = 0; c < cg; ++c)
            for (int64_t u = 0; u < p.kh; ++u)
              for (int64_t v = 0; v < p.kw; ++v) {
                const int64_t hi = i * p.stride - p.pad + u * p.dilation;
                const int64_t wi = j * p.stride - p.pad + v * p.dilation;
                if (hi < 0 || hi >= p.h || wi < 0 || wi >= p.w) continue;
                sum += double(x[((n * p.c + g * cg + c) * p.h + hi) * p.w + wi]) *
                       w[((m * cg + c) * p.kh + u) * p.kw + v];
              }
          y[((n * p.m + m) * oh + i) * ow + j] = static_cast<float>(sum);
        }
  return y;
}

std::string ConvText(const Conv2D& p) {
  return absl::StrCat("y = Conv <group = ", p.group, ", strides = [", p.stride, ", ", p.stride,
                      "], pads = [", p.pad, ", ", p.pad, ", ", p.pad, ", ", p.pad,
                      "], dilations = [", p.dilation, ", ", p.dilation, "]> (x, w, b)");
}

class ConvMatchesNaiveTest : public ::testing::TestWithParam<Conv2D> {};

TEST_P(ConvMatchesNaiveTest, TwoDimensional) {
  const Conv2D p = GetParam();
  const Tensor x = RandomTensor({p.n, p.c, p.h, p.w}, 1);
  const Tensor w = RandomTensor({p.m, p.c / p.group, p.kh, p.kw}, 2);
  const Tensor b = RandomTensor({p.m}, 3);
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, RunNode(ConvText(p), 11, {&x, &w, &b}));
  ExpectClose(out[0], {p.n, p.m, p.OutH(), p.OutW()},
              NaiveConv(p, Values(x), Values(w), Values(b)), 1e-4f, 1e-5f);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, ConvMatchesNaiveTest,
    ::testing::Values(Conv2D{1, 3, 7, 9, 4, 3, 3},                          // plain 3x3
                      Conv2D{2, 4, 8, 8, 6, 3, 3, 2, 2, 1},                  // groups, stride, pad
                      Conv2D{1, 4, 9, 9, 4, 3, 3, 4, 1, 1},                  // depthwise
                      Conv2D{1, 4, 10, 10, 4, 3, 3, 4, 2, 1},                // depthwise strided
                      Conv2D{2, 3, 11, 14, 3, 5, 5, 3, 1, 2},                // depthwise 5x5
                      Conv2D{1, 3, 12, 13, 3, 5, 5, 3, 2, 1},                // ... strided
                      Conv2D{1, 2, 20, 37, 2, 3, 3, 2, 1, 0},                // ... no padding
                      Conv2D{1, 2, 4, 3, 2, 3, 3, 2, 2, 2},                  // ... all border
                      Conv2D{1, 3, 2, 40, 3, 5, 5, 3, 1, 2},                 // ... 2 rows, 5x5
                      Conv2D{1, 5, 6, 7, 3, 1, 1},                           // pointwise
                      Conv2D{1, 3, 11, 11, 2, 3, 3, 1, 1, 2, 2},             // dilated
                      Conv2D{1, 2, 5, 5, 2, 5, 5, 1, 3, 2},                  // kernel > input
                      Conv2D{2, 8, 40, 40, 16, 3, 3, 1, 1, 1}));            // several tiles

TEST(ConvTest, OneAndThreeDimensionalMatchTwoDimensional) {
  const Conv2D p{1, 3, 1, 12, 2, 1, 3, 1, 2, 0};
  const Tensor x = RandomTensor({1, 3, 12}, 4);
  const Tensor w = RandomTensor({2, 3, 3}, 5);
  const Tensor b = FloatTensor({2}, {0, 0});
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out1,
                       RunNode("y = Conv <strides = [2]> (x, w, b)", 11, {&x, &w, &b}));
  const std::vector<float> expected = NaiveConv(p, Values(x), Values(w), {});
  ExpectClose(out1[0], {1, 2, 5}, expected);
  const Tensor x3 = FloatTensor({1, 3, 1, 1, 12}, Values(x));
  const Tensor w3 = FloatTensor({2, 3, 1, 1, 3}, Values(w));
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out3,
                       RunNode("y = Conv <strides = [1, 1, 2]> (x, w)", 11, {&x3, &w3}));
  ExpectClose(out3[0], {1, 2, 1, 1, 5}, expected);
}

TEST(ConvTest, DepthwiseTapsInThePaddingAddNothingEvenForInfiniteWeights) {
  // One input row: the kernel's top and bottom rows fall in the padding for every output, so
  // their infinite weights must not meet the padding's zeros (inf * 0 would be NaN).
  const float inf = std::numeric_limits<float>::infinity();
  const Tensor x = FloatTensor({1, 1, 1, 8}, {1, 2, 3, 4, 5, 6, 7, 8});
  const Tensor w = FloatTensor({1, 1, 3, 3}, {inf, inf, inf, 1, 10, 100, -inf, -inf, -inf});
  ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      RunNode("y = Conv <group = 1, pads = [1, 1, 1, 1]> (x, w)", 11, {&x, &w}));
  // y[o] = x[o-1] + 10 x[o] + 100 x[o+1], zero beyond the row.
  ExpectClose(out[0], {1, 1, 1, 8}, {210, 321, 432, 543, 654, 765, 876, 87});
}

TEST(ConvTest, WeightsOfRankBelowTwoAreAnError) {
  // Found by the evaluator fuzz target: the kernel shape was read past the weights' shape.
  const Tensor x = FloatTensor({1, 1, 3, 3}, std::vector<float>(9, 1.0f));
  const Tensor w = FloatTensor({2}, {1, 2});
  EXPECT_THAT(RunNode("y = Conv (x, w)", 11, {&x, &w}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("do not fit")));
}

TEST(ConvTest, AutoPadSameUpperAndLower) {
  // 1-D input of 4, kernel 2 of ones, stride 1: one pad, at the end (UPPER) or start (LOWER).
  const Tensor x = FloatTensor({1, 1, 4}, {1, 2, 3, 4});
  const Tensor w = FloatTensor({1, 1, 2}, {1, 1});
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> upper,
                       RunNode("y = Conv <auto_pad = \"SAME_UPPER\"> (x, w)", 11, {&x, &w}));
  ExpectClose(upper[0], {1, 1, 4}, {3, 5, 7, 4});
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> lower,
                       RunNode("y = Conv <auto_pad = \"SAME_LOWER\"> (x, w)", 11, {&x, &w}));
  ExpectClose(lower[0], {1, 1, 4}, {1, 3, 5, 7});
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> valid,
                       RunNode("y = Conv <auto_pad = \"VALID\"> (x, w)", 11, {&x, &w}));
  ExpectClose(valid[0], {1, 1, 3}, {3, 5, 7});
}

TEST(ConvTest, ResultDoesNotDependOnThreadCount) {
  const Tensor x = RandomTensor({1, 16, 64, 64}, 6);
  const Tensor w = RandomTensor({32, 16, 3, 3}, 7);
  const char* text = "y = Conv <pads = [1, 1, 1, 1]> (x, w)";
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> one, RunNode(text, 11, {&x, &w}, 1));
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> two, RunNode(text, 11, {&x, &w}, 2));
  EXPECT_EQ(Values(one[0]), Values(two[0]));
}

TEST(ConvTest, BadShapesAreErrors) {
  const Tensor x = RandomTensor({1, 4, 5, 5}, 1);
  const Tensor w = RandomTensor({2, 3, 3, 3}, 2);
  EXPECT_THAT(RunNode("y = Conv(x, w)", 11, {&x, &w}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("group")));
  const Tensor big = RandomTensor({2, 4, 7, 7}, 3);
  EXPECT_THAT(RunNode("y = Conv(x, w)", 11, {&x, &big}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("larger than the padded")));
  const Tensor flat = RandomTensor({4, 5}, 4);
  EXPECT_THAT(RunNode("y = Conv(x, w)", 11, {&flat, &w}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("rank")));
}

TEST(ConvTransposeTest, StrideTwoKernelTwoScattersBlocks) {
  // Each input pixel becomes a 2x2 block of pixel * kernel (no overlap).
  const Tensor x = FloatTensor({1, 1, 2, 2}, {1, 2, 3, 4});
  const Tensor w = FloatTensor({1, 1, 2, 2}, {1, 10, 100, 1000});
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                       RunNode("y = ConvTranspose <strides = [2, 2]> (x, w)", 11, {&x, &w}));
  ExpectClose(out[0], {1, 1, 4, 4},
              {1, 10, 2, 20, 100, 1000, 200, 2000, 3, 30, 4, 40, 300, 3000, 400, 4000});
}

// ConvTranspose is the adjoint of Conv: <Conv(x), y> == <x, ConvTranspose(y)> for the same weights.
TEST(ConvTransposeTest, IsTheAdjointOfConv) {
  const Conv2D p{1, 4, 9, 8, 6, 3, 3, 2, 2, 1, 1};
  const Tensor x = RandomTensor({1, 4, 9, 8}, 8);
  const Tensor w = RandomTensor({6, 2, 3, 3}, 9);
  const Tensor y = RandomTensor({1, 6, p.OutH(), p.OutW()}, 10);
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> conv,
                       RunNode("y = Conv <group = 2, strides = [2, 2], pads = [1, 1, 1, 1]> (x, w)",
                               11, {&x, &w}));
  // ConvTranspose weights are [C_in, C_out / group, ...]: the conv's [M, C/g] per group, i.e.
  // the same buffer read as [6, 2] -> the transposed op's input channels are the conv's outputs.
  ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> back,
      RunNode("y = ConvTranspose <group = 2, strides = [2, 2], pads = [1, 1, 1, 1], "
              "output_padding = [0, 1]> (x, w)",
              11, {&y, &w}));
  ASSERT_EQ(back[0].shape(), x.shape());
  double lhs = 0, rhs = 0;
  const std::vector<float> vc = Values(conv[0]), vy = Values(y), vx = Values(x),
                           vb = Values(back[0]);
  for (size_t i = 0; i < vc.size(); ++i) lhs += double(vc[i]) * vy[i];
  for (size_t i = 0; i < vx.size(); ++i) rhs += double(vx[i]) * vb[i];
  EXPECT_NEAR(lhs, rhs, 1e-3 * std::abs(lhs));
}

TEST(ConvTransposeTest, OutputPaddingAndBias) {
  const Tensor x = FloatTensor({1, 1, 2}, {1, 2});
  const Tensor w = FloatTensor({1, 2, 3}, {1, 1, 1, 2, 2, 2});
  const Tensor b = FloatTensor({2}, {0.5f, -0.5f});
  ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      RunNode("y = ConvTranspose <strides = [2], output_padding = [1]> (x, w, b)", 11,
              {&x, &w, &b}));
  // Full output 1*(2-1)*2 + 3 + 1 = 6: [1,1,1+2,2,2,0].
  ExpectClose(out[0], {1, 2, 6},
              {1.5f, 1.5f, 3.5f, 2.5f, 2.5f, 0.5f, 1.5f, 1.5f, 5.5f, 3.5f, 3.5f, -0.5f});
}

// Regression: the odd pad of SAME_UPPER goes at the end (ONNX's conformance data), and an
// output_shape beyond the full result leaves zeros at the end.
TEST(ConvTransposeTest, SameUpperPadsTheEndAndOutputShapeCanGrow) {
  const Tensor x = FloatTensor({1, 1, 3}, {1, 2, 3});
  const Tensor w = FloatTensor({1, 1, 3}, {1, 1, 1});
  // Full result (stride 2): [1, 1, 3, 2, 5, 3, 3]; SAME_UPPER keeps 6 -> drops the last.
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> same,
                       RunNode("y = ConvTranspose <auto_pad = \"SAME_UPPER\", strides = [2]> (x, w)",
                               11, {&x, &w}));
  ExpectClose(same[0], {1, 1, 6}, {1, 1, 3, 2, 5, 3});
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> grown,
                       RunNode("y = ConvTranspose <output_shape = [9], strides = [2]> (x, w)", 11,
                               {&x, &w}));
  ExpectClose(grown[0], {1, 1, 9}, {1, 1, 3, 2, 5, 3, 3, 0, 0});
}

TEST(PoolTest, MaxPoolWithIndicesCeilModeAndStorageOrder) {
  const Tensor x = FloatTensor({1, 1, 3, 3}, {1, 9, 3, 4, 5, 6, 7, 8, 2});
  ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      RunNode("y, i = MaxPool <kernel_shape = [2, 2], strides = [2, 2], ceil_mode = 1> (x)", 11,
              {&x}));
  ExpectClose(out[0], {1, 1, 2, 2}, {9, 6, 8, 2});
  const int64_t* idx = out[1].data<int64_t>();
  EXPECT_EQ(std::vector<int64_t>(idx, idx + 4), (std::vector<int64_t>{1, 5, 7, 8}));
  ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> col,
      RunNode("y, i = MaxPool <kernel_shape = [2, 2], strides = [2, 2], ceil_mode = 1, "
              "storage_order = 1> (x)",
              11, {&x}));
  const int64_t* cidx = col[1].data<int64_t>();
  // Column-major offsets h + w * 3 of the same maxima (0,1), (1,2), (2,1), (2,2).
  EXPECT_EQ(std::vector<int64_t>(cidx, cidx + 4), (std::vector<int64_t>{3, 7, 5, 8}));
}

TEST(PoolTest, AveragePoolCountIncludePad) {
  const Tensor x = FloatTensor({1, 1, 2, 2}, {1, 2, 3, 4});
  const char* base = "y = AveragePool <kernel_shape = [2, 2], pads = [1, 1, 1, 1]";
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> excl, RunNode(absl::StrCat(base, "> (x)"), 11, {&x}));
  ExpectClose(excl[0], {1, 1, 3, 3}, {1, 1.5f, 2, 2, 2.5f, 3, 3, 3.5f, 4});
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> incl,
                       RunNode(absl::StrCat(base, ", count_include_pad = 1> (x)"), 11, {&x}));
  ExpectClose(incl[0], {1, 1, 3, 3}, {0.25f, 0.75f, 0.5f, 1, 2.5f, 1.5f, 0.75f, 1.75f, 1});
}

TEST(PoolTest, GlobalPoolsAndDilatedMaxPool) {
  const Tensor x = FloatTensor({1, 2, 2, 2}, {1, 2, 3, 4, -1, -2, -3, -4});
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> avg, RunNode("y = GlobalAveragePool(x)", 11, {&x}));
  ExpectClose(avg[0], {1, 2, 1, 1}, {2.5f, -2.5f});
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> max, RunNode("y = GlobalMaxPool(x)", 11, {&x}));
  ExpectClose(max[0], {1, 2, 1, 1}, {4, -1});
  const Tensor row = FloatTensor({1, 1, 5}, {5, 1, 2, 9, 3});
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> dilated,
                       RunNode("y = MaxPool <kernel_shape = [2], dilations = [2]> (x)", 11, {&row}));
  ExpectClose(dilated[0], {1, 1, 3}, {5, 9, 3});
}

TEST(PoolTest, MaxPoolWithoutIndicesMatchesMaxPoolWithIndices) {
  // Two code paths: the maxima alone, and maxima with their indices.
  const Tensor x = RandomTensor({2, 3, 9, 11}, 21);
  const char* attributes =
      "<kernel_shape = [3, 2], strides = [2, 3], pads = [1, 0, 2, 1], dilations = [1, 2], "
      "ceil_mode = 1> (x)";
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> alone,
                       RunNode(absl::StrCat("y = MaxPool ", attributes), 11, {&x}));
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> with_indices,
                       RunNode(absl::StrCat("y, i = MaxPool ", attributes), 11, {&x}));
  ASSERT_EQ(alone[0].shape(), with_indices[0].shape());
  EXPECT_EQ(Values(alone[0]), Values(with_indices[0]));
  // Each maximum is the input value its index names.
  const std::vector<float> in = Values(x);
  const int64_t* idx = with_indices[1].data<int64_t>();
  for (int64_t i = 0; i < alone[0].element_count(); ++i) {
    EXPECT_EQ(Values(alone[0])[i], in[idx[i]]) << i;
  }
}

TEST(PoolTest, GlobalAveragePoolOfLargePlanesMatchesDoubleSum) {
  const Tensor x = RandomTensor({1, 3, 7, 13}, 22);  // 91 values a plane: 8-wide sums + a tail
  ASSERT_OK_AND_ASSIGN(std::vector<Tensor> avg, RunNode("y = GlobalAveragePool(x)", 11, {&x}));
  const std::vector<float> in = Values(x);
  std::vector<float> expected;
  for (int c = 0; c < 3; ++c) {
    double sum = 0;
    for (int i = 0; i < 91; ++i) sum += in[c * 91 + i];
    expected.push_back(static_cast<float>(sum / 91));
  }
  ExpectClose(avg[0], {1, 3, 1, 1}, expected, 1e-6f, 1e-6f);
}

TEST(LrnTest, MatchesFormula) {
  const Tensor x = RandomTensor({1, 5, 2, 2}, 11);
  ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      RunNode("y = LRN <size = 3, alpha = 0.001, beta = 0.75, bias = 2.0> (x)", 11, {&x}));
  const std::vector<float> v = Values(x);
  std::vector<float> expected(v.size());
  for (int c = 0; c < 5; ++c) {
    for (int i = 0; i < 4; ++i) {
      double sum = 0;
      for (int j = std::max(0, c - 1); j <= std::min(4, c + 1); ++j) sum += v[j * 4 + i] * v[j * 4 + i];
      expected[c * 4 + i] = static_cast<float>(v[c * 4 + i] / std::pow(2.0 + 0.001 / 3 * sum, 0.75));
    }
  }
  ExpectClose(out[0], {1, 5, 2, 2}, expected);
}

}  // namespace
}  // namespace halfcast::eval
