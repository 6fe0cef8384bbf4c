// Float16Model::kOnnxRuntimeCpu: float16 values rounded where ONNX Runtime's CPU provider rounds
// them (docs/numerics.md, "ONNX Runtime CPU"), against the default round-every-op model. Every
// expected value of the ONNX Runtime model was checked against onnxruntime-node 1.30 running the
// same graph.
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "halfcast/evaluator.h"
#include "numerics/float16.h"
#include "testing/onnx_text.h"
#include "testing/status_matchers.h"

namespace halfcast {
namespace {

using ::halfcast::testing::ParseModelText;
using ::testing::ElementsAre;

Tensor Halves(std::vector<int64_t> shape, std::vector<float> values) {
  std::vector<uint16_t> bits;
  for (float v : values) bits.push_back(numerics::FloatToHalf(v));
  return Tensor::Copy(DataType::kFloat16, std::move(shape), bits.data());
}

std::vector<float> Values(const Tensor& t) {
  std::vector<float> values;
  for (int64_t i = 0; i < t.element_count(); ++i) {
    values.push_back(t.type() == DataType::kFloat16 ? numerics::HalfToFloat(t.data<uint16_t>()[i])
                                                    : t.data<float>()[i]);
  }
  return values;
}

TensorMap Evaluate(const onnx::ModelProto& model, const TensorMap& feeds, Float16Model how) {
  ReferenceEvaluatorOptions options;
  options.float16_model = how;
  ReferenceEvaluator evaluator(options);
  absl::StatusOr<TensorMap> out = evaluator.Run(model, feeds);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *std::move(out) : TensorMap{};
}

// The text parser has no float16 literals: initializers written as float become float16.
void StoreInitializersAsFloat16(onnx::ModelProto* model) {
  for (onnx::TensorProto& init : *model->mutable_graph()->mutable_initializer()) {
    std::vector<float> values(init.float_data().begin(), init.float_data().end());
    const std::vector<int64_t> dims(init.dims().begin(), init.dims().end());
    init = TensorToProto(Halves(dims, values), init.name());
  }
}

constexpr Float16Model kOrt = Float16Model::kOnnxRuntimeCpu;
constexpr Float16Model kEveryOp = Float16Model::kRoundEveryOp;

// float16 has 11 significant bits: 2049 is a tie that rounds to even 2048; 2050 is exact.
TEST(OrtCpuFloat16Test, OpsWithoutFloat16KernelsChainInFloat32) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float16[1] a, float16[1] b) => (float16[1] y) {
      s = Add(a, b)
      t = Add(s, b)
      y = Sub(t, b)
    }
  )");
  const TensorMap feeds = {{"a", Halves({1}, {2048})}, {"b", Halves({1}, {1})}};
  // Round every op: 2049 -> 2048 twice, then 2048 - 1 = 2047. ONNX Runtime: Add and Sub have no
  // float16 CPU kernel, so the chain runs in float32 (2050 - 1 = 2049) and rounds once, to 2048.
  EXPECT_THAT(Values(Evaluate(model, feeds, kEveryOp)["y"]), ElementsAre(2047));
  EXPECT_THAT(Values(Evaluate(model, feeds, kOrt)["y"]), ElementsAre(2048));
}

TEST(OrtCpuFloat16Test, OverflowOnlyWhereAValueIsStoredInFloat16) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float16[1] a, float16[1] b) => (float16[1] y, float16[1] z) {
      p = Mul(a, b)
      y = Div(p, b)
      z = Concat<axis = 0>(p)
    }
  )");
  const TensorMap feeds = {{"a", Halves({1}, {300})}, {"b", Halves({1}, {300})}};
  const float inf = std::numeric_limits<float>::infinity();
  TensorMap every_op = Evaluate(model, feeds, kEveryOp);
  EXPECT_THAT(Values(every_op["y"]), ElementsAre(inf));
  // 90000 stays float32 between Mul and Div; Concat's float16 kernel (and the graph output)
  // store it, as inf.
  TensorMap ort = Evaluate(model, feeds, kOrt);
  EXPECT_THAT(Values(ort["y"]), ElementsAre(300));
  EXPECT_THAT(Values(ort["z"]), ElementsAre(inf));
}

TEST(OrtCpuFloat16Test, Float16KernelRoundsUnlessIsolatedBetweenFloat32Nodes) {
  // Flatten has a float16 kernel. Between two Adds it is an "isolated" node that ONNX Runtime
  // runs in float32 too; once it also feeds a graph output it runs in float16, rounding 2049.
  onnx::ModelProto isolated = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float16[1] a, float16[1] b) => (float16[1] y) {
      t = Add(a, b)
      f = Flatten<axis = 0>(t)
      y = Add(f, b)
    }
  )");
  onnx::ModelProto returned = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float16[1] a, float16[1] b) => (float16[1] y, float16[1, 1] f) {
      t = Add(a, b)
      f = Flatten<axis = 0>(t)
      y = Add(f, b)
    }
  )");
  const TensorMap feeds = {{"a", Halves({1}, {2048})}, {"b", Halves({1}, {1})}};
  EXPECT_THAT(Values(Evaluate(isolated, feeds, kOrt)["y"]), ElementsAre(2050));
  TensorMap out = Evaluate(returned, feeds, kOrt);
  EXPECT_THAT(Values(out["f"]), ElementsAre(2048));
  EXPECT_THAT(Values(out["y"]), ElementsAre(2048));  // 2048 + 1 rounds to even
}

TEST(OrtCpuFloat16Test, Float16KernelBetweenFloat32NodesAndAGraphInputComputesInFloat32) {
  // Concat reads t from Add and the graph input a: widening a loses nothing, so ONNX Runtime runs
  // Concat in float32 and t = 2049 reaches the second Add unrounded. With a Cast (a float16
  // kernel) reading Concat instead, Concat runs in float16 and rounds t.
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float16[1] a, float16[1] b) => (float16[2] y) {
      t = Add(a, b)
      c = Concat<axis = 0>(t, a)
      y = Add(c, b)
    }
  )");
  onnx::ModelProto cast = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float16[1] a, float16[1] b) => (float[2] y) {
      t = Add(a, b)
      c = Concat<axis = 0>(t, a)
      y = Cast<to = 1>(c)
    }
  )");
  const TensorMap feeds = {{"a", Halves({1}, {2048})}, {"b", Halves({1}, {1})}};
  EXPECT_THAT(Values(Evaluate(model, feeds, kOrt)["y"]), ElementsAre(2050, 2048));
  EXPECT_THAT(Values(Evaluate(cast, feeds, kOrt)["y"]), ElementsAre(2048, 2048));
}

TEST(OrtCpuFloat16Test, CastToFloat16BeforeFloat32ReadersIsRemoved) {
  // The converter's --keep-io-types Casts: ONNX Runtime removes the pair Cast(float16) then its
  // own Cast(float) in front of Add, so the float32 input reaches Add unrounded.
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[1] x, float16[1] b) => (float[1] y) {
      h = Cast<to = 10>(x)
      s = Add(h, b)
      y = Cast<to = 1>(s)
    }
  )");
  const TensorMap feeds = {
      {"x", Tensor::Copy(DataType::kFloat, {1}, std::vector<float>{2049}.data())},
      {"b", Halves({1}, {1})}};
  EXPECT_THAT(Values(Evaluate(model, feeds, kEveryOp)["y"]), ElementsAre(2048));
  EXPECT_THAT(Values(Evaluate(model, feeds, kOrt)["y"]), ElementsAre(2050));
}

TEST(OrtCpuFloat16Test, SubgraphsReadAndReturnRoundedValues) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float16[1] a, float16[1] b, bool c) => (float16[1] y) {
      t = Add(a, b)
      r = If(c) <
        then_branch = then_g () => (float16[1] o) { o = Add(t, b) },
        else_branch = else_g () => (float16[1] o) { o = Sub(t, b) }
      >
      y = Add(r, b)
    }
  )");
  bool yes = true;
  const TensorMap feeds = {{"a", Halves({1}, {2048})},
                           {"b", Halves({1}, {1})},
                           {"c", Tensor::Copy(DataType::kBool, {}, &yes)}};
  // t = 2049 is captured rounded (2048); the branch returns 2049 rounded (2048); + 1 -> 2048.
  EXPECT_THAT(Values(Evaluate(model, feeds, kOrt)["y"]), ElementsAre(2048));
}

// Conv (weight 1.0009765625) + BatchNormalization (scale 3, mean 0, var 1, beta 0) + Cast to float,
// float16 initializers; `outputs` is the graph's output list.
onnx::ModelProto ConvBatchNormModel(const std::string& outputs) {
  onnx::ModelProto model = ParseModelText(absl::StrCat(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float16[1, 1, 1, 1] x) => ()",
                                                       outputs, R"()
      <float[1, 1, 1, 1] w = {1.0009765625}, float[1] s = {3}, float[1] b = {0},
       float[1] m = {0}, float[1] v = {1}> {
      c = Conv(x, w)
      n = BatchNormalization(c, s, b, m, v)
      y = Cast<to = 1>(n)
    }
  )"));
  StoreInitializersAsFloat16(&model);
  return model;
}

TEST(OrtCpuFloat16Test, ConvBatchNormalizationFusedWithFloat16Weights) {
  // ONNX Runtime folds the BatchNormalization into the Conv's weight in float16:
  // s = 3 / sqrt(1 + 1e-5) rounds to 3, W * s = 1.0009765625 * 3 = 3.0029296875 is a tie that
  // rounds to even 3.00390625, and 1024 * 3.00390625 = 3076 (onnxruntime-node 1.30 gives 3076).
  // Unfused, float32 gives 3074.98, which the round-every-op model stores as 3074.
  const onnx::ModelProto model = ConvBatchNormModel("float[1, 1, 1, 1] y");
  const TensorMap feeds = {{"x", Halves({1, 1, 1, 1}, {1024})}};
  EXPECT_THAT(Values(Evaluate(model, feeds, kOrt)["y"]), ElementsAre(3076));
  EXPECT_THAT(Values(Evaluate(model, feeds, kEveryOp)["y"]), ElementsAre(3074));
}

TEST(OrtCpuFloat16Test, ConvBatchNormalizationNotFusedWhenTheConvOutputIsReturned) {
  // As ONNX Runtime (1025 and 3074.98): no fusion, and Cast(float) of the float32
  // BatchNormalization output rounds nothing.
  const onnx::ModelProto model = ConvBatchNormModel("float[1, 1, 1, 1] y, float16[1, 1, 1, 1] c");
  TensorMap out = Evaluate(model, {{"x", Halves({1, 1, 1, 1}, {1024})}}, kOrt);
  EXPECT_THAT(Values(out["c"]), ElementsAre(1025));
  EXPECT_NEAR(Values(out["y"])[0], 3075 / std::sqrt(1 + 1e-5f), 1e-3);
}

TEST(OrtCpuFloat16Test, BFloat16KeepsTheDefaultModel) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (bfloat16[1] a, bfloat16[1] b) => (bfloat16[1] y) {
      s = Add(a, b)
      y = Sub(s, b)
    }
  )");
  // bfloat16 has 8 significant bits: 256 + 1 ties to 256, then 256 - 1 = 255 in both models.
  const uint16_t a = numerics::FloatToBFloat16(256), b = numerics::FloatToBFloat16(1);
  const TensorMap feeds = {{"a", Tensor::Copy(DataType::kBFloat16, {1}, &a)},
                           {"b", Tensor::Copy(DataType::kBFloat16, {1}, &b)}};
  for (Float16Model how : {kEveryOp, kOrt}) {
    const Tensor y = Evaluate(model, feeds, how)["y"];
    EXPECT_EQ(numerics::BFloat16ToFloat(y.data<uint16_t>()[0]), 255);
  }
}

}  // namespace
}  // namespace halfcast
