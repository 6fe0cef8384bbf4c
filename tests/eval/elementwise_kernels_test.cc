// Elementwise behaviour beyond ONNX's node tests: cases where C++ would be undefined, and the
// kernels that pass float16 bits through.
#include <cmath>
#include <limits>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "halfcast/evaluator.h"
#include "numerics/float16.h"
#include "testing/onnx_text.h"
#include "testing/status_matchers.h"

namespace halfcast {
namespace {

using ::halfcast::testing::ParseModelText;
using ::halfcast::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

template <typename T>
std::vector<T> ValuesOf(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.element_count());
}

TEST(ElementwiseKernelsTest, CastFloatToIntSaturatesAndMapsNaNToZero) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[5] x) => (int32[5] i, uint8[5] u, bool[5] b) {
      i = Cast <to = 6> (x)
      u = Cast <to = 2> (x)
      b = Cast <to = 9> (x)
    }
  )");
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float values[5] = {1e20f, -1e20f, nan, -2.7f, 0.0f};
  ReferenceEvaluator evaluator;
  ASSERT_OK_AND_ASSIGN(TensorMap out,
                       evaluator.Run(model, {{"x", Tensor::Copy(DataType::kFloat, {5}, values)}}));
  EXPECT_THAT(ValuesOf<int32_t>(out["i"]),
              ElementsAre(std::numeric_limits<int32_t>::max(),
                          std::numeric_limits<int32_t>::min(), 0, -2, 0));
  EXPECT_THAT(ValuesOf<uint8_t>(out["u"]), ElementsAre(255, 0, 0, 0, 0));
  EXPECT_THAT(ValuesOf<bool>(out["b"]), ElementsAre(true, true, true, true, false));
}

// Found by tests/fuzz/evaluate_fuzzer.cc (UBSan): an integer Pow beyond the type's range went
// through an undefined double -> integer cast.
TEST(ElementwiseKernelsTest, IntegerPowSaturates) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 15]>
    g (int32[4] a, int32[4] e) => (int32[4] p) {
      p = Pow(a, e)
    }
  )");
  const int32_t a[4] = {10, -10, 2, 3};
  const int32_t e[4] = {20, 21, 10, 2};
  ReferenceEvaluator evaluator;
  ASSERT_OK_AND_ASSIGN(TensorMap out,
                       evaluator.Run(model, {{"a", Tensor::Copy(DataType::kInt32, {4}, a)},
                                             {"e", Tensor::Copy(DataType::kInt32, {4}, e)}}));
  EXPECT_THAT(ValuesOf<int32_t>(out["p"]),
              ElementsAre(std::numeric_limits<int32_t>::max(),
                          std::numeric_limits<int32_t>::min(), 1024, 9));
}

TEST(ElementwiseKernelsTest, IntegerAddSubMulWrapAround) {
  // As numpy and ONNX Runtime: two's complement wrap-around, not undefined behaviour.
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (int64[2] a, int32[2] b, uint16[2] c) => (int64[2] product, int32[2] sum, int32[2] diff,
                                                uint16[2] square) {
      product = Mul(a, a)
      sum = Add(b, b)
      diff = Sub(b, b)
      square = Mul(c, c)
    }
  )");
  const int64_t a[2] = {std::numeric_limits<int64_t>::max(), int64_t{1} << 32};
  const int32_t b[2] = {std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::min()};
  const uint16_t c[2] = {65535, 300};
  ReferenceEvaluator evaluator;
  ASSERT_OK_AND_ASSIGN(TensorMap out,
                       evaluator.Run(model, {{"a", Tensor::Copy(DataType::kInt64, {2}, a)},
                                             {"b", Tensor::Copy(DataType::kInt32, {2}, b)},
                                             {"c", Tensor::Copy(DataType::kUint16, {2}, c)}}));
  EXPECT_THAT(ValuesOf<int64_t>(out["product"]), ElementsAre(1, 0));
  EXPECT_THAT(ValuesOf<int32_t>(out["sum"]), ElementsAre(-2, 0));
  EXPECT_THAT(ValuesOf<int32_t>(out["diff"]), ElementsAre(0, 0));
  EXPECT_THAT(ValuesOf<uint16_t>(out["square"]), ElementsAre(1, 90000 % 65536));
}

TEST(ElementwiseKernelsTest, OldClipFloatBoundsSaturateForIntegers) {
  // Clip-6 takes float attributes (default +-FLT_MAX); on integers they saturate to the type's
  // range instead of an undefined out-of-range conversion.
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 6]>
    g (int16[3] x) => (int16[3] unbounded, int16[3] bounded) {
      unbounded = Clip(x)
      bounded = Clip <min = -5.0, max = 1e10> (x)
    }
  )");
  const int16_t x[3] = {-32768, -7, 32767};
  ReferenceEvaluator evaluator;
  ASSERT_OK_AND_ASSIGN(TensorMap out,
                       evaluator.Run(model, {{"x", Tensor::Copy(DataType::kInt16, {3}, x)}}));
  EXPECT_THAT(ValuesOf<int16_t>(out["unbounded"]), ElementsAre(-32768, -7, 32767));
  EXPECT_THAT(ValuesOf<int16_t>(out["bounded"]), ElementsAre(-5, -5, 32767));
}

TEST(ElementwiseKernelsTest, IntegerDivisionByZeroIsAnErrorAndTruncates) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (int64[2] a, int64[2] b) => (int64[2] q, int64[2] m) {
      q = Div(a, b)
      m = Mod(a, b)
    }
  )");
  ReferenceEvaluator evaluator;
  const int64_t a[2] = {-7, 7};
  const int64_t b[2] = {2, -2};
  ASSERT_OK_AND_ASSIGN(TensorMap out,
                       evaluator.Run(model, {{"a", Tensor::Copy(DataType::kInt64, {2}, a)},
                                             {"b", Tensor::Copy(DataType::kInt64, {2}, b)}}));
  EXPECT_THAT(ValuesOf<int64_t>(out["q"]), ElementsAre(-3, -3));
  EXPECT_THAT(ValuesOf<int64_t>(out["m"]), ElementsAre(1, -1));  // sign of the divisor
  const int64_t zero[2] = {1, 0};
  EXPECT_THAT(evaluator.Run(model, {{"a", Tensor::Copy(DataType::kInt64, {2}, a)},
                                    {"b", Tensor::Copy(DataType::kInt64, {2}, zero)}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("division by zero")));
}

TEST(ElementwiseKernelsTest, WhereAndIdentityPassFloat16BitsThrough) {
  // A NaN payload and a subnormal survive because Where and Identity never widen.
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (bool[2] c, float16[2] x, float16[2] y) => (float16[2] w, float16[2] i) {
      w = Where(c, x, y)
      i = Identity(x)
    }
  )");
  const bool c[2] = {true, false};
  const uint16_t x[2] = {0x7E01, numerics::kHalfMinSubnormal};
  const uint16_t y[2] = {0, 0xFBFF};
  ReferenceEvaluator evaluator;
  ASSERT_OK_AND_ASSIGN(TensorMap out,
                       evaluator.Run(model, {{"c", Tensor::Copy(DataType::kBool, {2}, c)},
                                             {"x", Tensor::Copy(DataType::kFloat16, {2}, x)},
                                             {"y", Tensor::Copy(DataType::kFloat16, {2}, y)}}));
  EXPECT_THAT(ValuesOf<uint16_t>(out["w"]), ElementsAre(0x7E01, 0xFBFF));
  EXPECT_THAT(ValuesOf<uint16_t>(out["i"]), ElementsAre(0x7E01, numerics::kHalfMinSubnormal));
}

TEST(ElementwiseKernelsTest, CastRoundsToFloat16NearestEven) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[4] x) => (float16[4] h) { h = Cast <to = 10> (x) }
  )");
  // 65519 rounds down to 65504, 65520 up to inf; 1 + 2^-11 ties to 1; 2^-25 ties to 0.
  const float values[4] = {65519.0f, 65520.0f, 1.0f + std::ldexp(1.0f, -11),
                           std::ldexp(1.0f, -25)};
  ReferenceEvaluator evaluator;
  ASSERT_OK_AND_ASSIGN(TensorMap out,
                       evaluator.Run(model, {{"x", Tensor::Copy(DataType::kFloat, {4}, values)}}));
  EXPECT_THAT(ValuesOf<uint16_t>(out["h"]),
              ElementsAre(numerics::kHalfMaxFinite, numerics::kHalfPositiveInfinity, 0x3C00,
                          numerics::kHalfPositiveZero));
}

TEST(ElementwiseKernelsTest, RangeAndEyeLike) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (int64 s, int64 l, int64 d, float16[2,3] like) => (int64[N] r, float16[2,3] e) {
      r = Range(s, l, d)
      e = EyeLike <k = 1> (like)
    }
  )");
  const int64_t s = 10, l = 1, d = -4;
  ReferenceEvaluator evaluator;
  ASSERT_OK_AND_ASSIGN(
      TensorMap out,
      evaluator.Run(model, {{"s", Tensor::Copy(DataType::kInt64, {}, &s)},
                            {"l", Tensor::Copy(DataType::kInt64, {}, &l)},
                            {"d", Tensor::Copy(DataType::kInt64, {}, &d)},
                            {"like", Tensor::Zeros(DataType::kFloat16, {2, 3})}}));
  EXPECT_THAT(ValuesOf<int64_t>(out["r"]), ElementsAre(10, 6, 2));
  EXPECT_THAT(ValuesOf<uint16_t>(out["e"]), ElementsAre(0, 0x3C00, 0, 0, 0, 0x3C00));
}

// Broadcasting walks merged dimensions where it can (H and W of [N, C, H, W] * [C, 1, 1]); every
// pattern must still pair the right elements. Checked against index arithmetic.
TEST(ElementwiseKernelsTest, BroadcastPatternsPairTheRightElements) {
  struct Case {
    std::vector<int64_t> a, b, out;
  };
  const Case cases[] = {
      {{2, 3, 4, 5}, {3, 1, 1}, {2, 3, 4, 5}},  // per-channel: H and W merge
      {{2, 1, 4, 5}, {3, 4, 1}, {2, 3, 4, 5}},  // both sides broadcast
      {{2, 3, 1, 5}, {1, 3, 4, 1}, {2, 3, 4, 5}},
      {{1, 1, 4, 5}, {2, 3, 1, 1}, {2, 3, 4, 5}},  // outer product of blocks
      {{6}, {2, 1, 6}, {2, 1, 6}},
  };
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[?] a, float[?] b) => (float[?] sum, float[?] where_out) {
      sum = Add(a, b)
      positive = Greater(a, b)
      where_out = Where(positive, a, b)
    }
  )");
  // Any rank: make the declared inputs shape-free.
  for (auto* input :
       {model.mutable_graph()->mutable_input(0), model.mutable_graph()->mutable_input(1)}) {
    input->mutable_type()->mutable_tensor_type()->clear_shape();
  }
  ReferenceEvaluator evaluator;
  for (const Case& c : cases) {
    auto count = [](const std::vector<int64_t>& shape) {
      int64_t n = 1;
      for (int64_t d : shape) n *= d;
      return n;
    };
    std::vector<float> a(count(c.a)), b(count(c.b));
    for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i);
    for (size_t i = 0; i < b.size(); ++i) b[i] = 0.5f + 1000.0f * static_cast<float>(i % 7);
    ASSERT_OK_AND_ASSIGN(
        TensorMap out,
        evaluator.Run(model, {{"a", Tensor::Copy(DataType::kFloat, c.a, a.data())},
                              {"b", Tensor::Copy(DataType::kFloat, c.b, b.data())}}));
    ASSERT_EQ(out["sum"].shape(), c.out);
    // Index of an output position in an input aligned on the right, 1-sized dimensions fixed.
    auto source = [&](const std::vector<int64_t>& in, int64_t flat) {
      int64_t index = 0, stride = 1;
      for (size_t d = c.out.size(); d-- > 0;) {
        const int64_t position = flat % c.out[d];
        flat /= c.out[d];
        const size_t offset = c.out.size() - in.size();
        if (d < offset) continue;
        if (in[d - offset] != 1) index += position * stride;
        stride *= in[d - offset];
      }
      return index;
    };
    const std::vector<float> sum = ValuesOf<float>(out["sum"]);
    const std::vector<float> chosen = ValuesOf<float>(out["where_out"]);
    for (int64_t i = 0; i < count(c.out); ++i) {
      const float x = a[source(c.a, i)], y = b[source(c.b, i)];
      ASSERT_EQ(sum[i], x + y) << "element " << i;
      ASSERT_EQ(chosen[i], x > y ? x : y) << "element " << i;
    }
  }
}

}  // namespace
}  // namespace halfcast
