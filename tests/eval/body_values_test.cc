// RunOptions::return_body_values: the values computed inside If/Loop bodies come back by name.
#include <vector>

#include "gtest/gtest.h"
#include "halfcast/evaluator.h"
#include "testing/onnx_text.h"
#include "testing/status_matchers.h"

namespace halfcast {
namespace {

using ::halfcast::testing::ParseModelText;

// The Loop doubles acc twice; its body's If adds 1 in the then branch: a = acc * 2, t = a + 1.
constexpr char kModel[] = R"(
  <ir_version: 8, opset_import: ["" : 17]>
  g (float[2] x, int64 n, bool c) => (float[2] y) <float[1] two = {2.0}, float[1] one = {1.0}> {
    y = Loop(n, , x) <body = loop_body (int64 i, bool cin, float[2] acc) => (bool cout,
                                                                            float[2] next) {
      cout = Identity(cin)
      a = Mul(acc, two)
      next = If(c) <then_branch = then_g () => (float[2] t) { t = Add(a, one) },
                    else_branch = else_g () => (float[2] e) { e = Identity(a) }>
    }>
  }
)";

TEST(BodyValuesTest, ReturnsTheLastIterationsValuesOfBodies) {
  const onnx::ModelProto model = ParseModelText(kModel);
  const std::vector<float> x = {1.0f, -0.5f};
  const int64_t n = 2;
  const uint8_t c = 1;
  TensorMap feeds = {{"x", Tensor::Copy(DataType::kFloat, {2}, x.data())},
                     {"n", Tensor::Copy(DataType::kInt64, {}, &n)},
                     {"c", Tensor::Copy(DataType::kBool, {}, &c)}};
  ReferenceEvaluator evaluator;
  RunOptions options;
  options.return_all_values = true;
  ASSERT_OK_AND_ASSIGN(TensorMap main_only, evaluator.Run(model, feeds, options));
  EXPECT_EQ(main_only.count("a"), 0u);
  EXPECT_EQ(main_only.count("t"), 0u);

  options.return_body_values = true;
  ASSERT_OK_AND_ASSIGN(TensorMap values, evaluator.Run(model, feeds, options));
  ASSERT_EQ(values.count("a"), 1u);
  ASSERT_EQ(values.count("t"), 1u);
  EXPECT_EQ(values.count("e"), 0u);  // the else branch never ran
  // Iteration 1: acc = x -> a = 2x, t = 2x + 1; iteration 2: a = 2(2x + 1), t = a + 1.
  const float* a = values.at("a").data<float>();
  const float* t = values.at("t").data<float>();
  EXPECT_FLOAT_EQ(a[0], 6.0f);
  EXPECT_FLOAT_EQ(a[1], 0.0f);
  EXPECT_FLOAT_EQ(t[0], 7.0f);
  EXPECT_FLOAT_EQ(t[1], 1.0f);
  EXPECT_FLOAT_EQ(values.at("y").data<float>()[0], 7.0f);
}

}  // namespace
}  // namespace halfcast
