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

}  // namespace
}  // namespace halfcast
