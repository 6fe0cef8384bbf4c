// The transformer kernels (kernels/transformer.cc, kernels/attention.cc): small cases computed by
// hand or from the formula, and cases whose expected values are ONNX Runtime 1.30's outputs
// (CPU, onnxruntime-node), pasted from `tests/integration/eval_ops/eval_ops.py --group pinned
// --print`. Those cases rebuild the script's inputs with Wave().
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "eval/heavy_kernel_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "halfcast/evaluator.h"
#include "numerics/float16.h"
#include "testing/onnx_text.h"
#include "testing/status_matchers.h"

namespace halfcast::eval {
namespace {

using ::halfcast::eval::testing::ExpectClose;
using ::halfcast::eval::testing::FloatTensor;
using ::halfcast::eval::testing::Int64Tensor;
using ::halfcast::eval::testing::RandomTensor;
using ::halfcast::eval::testing::Values;
using ::halfcast::testing::StatusIs;
using ::testing::HasSubstr;

// Runs one node written in ONNX text syntax ("y = com.microsoft.FastGelu (x, b)" for a contrib
// op) in a model importing the default domain at `opset` and com.microsoft at 1.
absl::StatusOr<std::vector<Tensor>> RunOp(std::string_view node_text,
                                          std::vector<const Tensor*> inputs, int opset = 23) {
  const std::string text =
      absl::StrCat("<ir_version: 8, opset_import: [\"\" : ", opset,
                   ", \"com.microsoft\" : 1]>\ng (float unused_in) => (float unused_out) {\n",
                   std::string(node_text), "\n}\n");
  absl::StatusOr<onnx::ModelProto> model = halfcast::testing::TryParseModelText(text);
  if (!model.ok()) return model.status();
  const onnx::NodeProto& node = model->graph().node(0);
  const int node_opset = node.domain().empty() ? opset : 1;
  const KernelDef* def = FindKernel(node.domain(), node.op_type(), node_opset);
  if (def == nullptr) return absl::NotFoundError(absl::StrCat("no kernel for ", node.op_type()));
  return testing::CallKernelOnTensors(*def, node, node_opset, std::move(inputs));
}

// sin(0.37 i + phase) in row-major order: eval_ops.py's wave().
Tensor Wave(double phase, std::vector<int64_t> shape, double factor = 1.0) {
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  std::vector<float> values(count);
  for (int64_t i = 0; i < count; ++i) {
    values[i] = static_cast<float>(factor * static_cast<float>(std::sin(0.37 * i + phase)));
  }
  return FloatTensor(std::move(shape), values);
}

// cos or sin applied to a float32 tensor, as np.cos(wave(...)).
Tensor Map(const Tensor& t, double (*fn)(double)) {
  std::vector<float> values = Values(t);
  for (float& v : values) v = static_cast<float>(fn(v));
  return FloatTensor(t.shape(), values);
}

Tensor Int32Tensor(std::vector<int64_t> shape, const std::vector<int32_t>& values) {
  return Tensor::Copy(DataType::kInt32, std::move(shape), values.data());
}

Tensor BoolTensor(std::vector<int64_t> shape, const std::vector<uint8_t>& values) {
  return Tensor::Copy(DataType::kBool, std::move(shape), values.data());
}

// ---------------------------------------------------------------------------------------------
// FusedMatMul

TEST(FusedMatMulTest, AlphaAndTransposes) {
  const Tensor a = FloatTensor({2, 2}, {1, 2, 3, 4});
  const Tensor b = FloatTensor({2, 2}, {5, 6, 7, 8});
  ASSERT_OK_AND_ASSIGN(
      auto out, RunOp("y = com.microsoft.FusedMatMul <alpha = 0.5, transB = 1> (a, b)", {&a, &b}));
  ExpectClose(out[0], {2, 2}, {8.5f, 11.5f, 19.5f, 26.5f});  // 0.5 * A B^T
  ASSERT_OK_AND_ASSIGN(out, RunOp("y = com.microsoft.FusedMatMul <transA = 1> (a, b)", {&a, &b}));
  ExpectClose(out[0], {2, 2}, {26, 30, 38, 44});  // A^T B
}

TEST(FusedMatMulTest, BroadcastsBatchDimensions) {
  const Tensor a = FloatTensor({2, 1, 2}, {1, 2, 3, 4});  // two [1, 2] rows
  const Tensor b = FloatTensor({2, 1}, {10, 100});
  ASSERT_OK_AND_ASSIGN(auto out, RunOp("y = com.microsoft.FusedMatMul (a, b)", {&a, &b}));
  ExpectClose(out[0], {2, 1, 1}, {210, 430});
}

TEST(FusedMatMulTest, TransBatchMatchesOnnxRuntime) {
  // pinned.FusedMatMul: A [3, 2, 2] read as [2, 3, 2] (transBatchA), B^T, alpha 0.5.
  const Tensor a = Wave(0, {3, 2, 2});
  const Tensor b = Wave(1, {2, 3, 2});
  ASSERT_OK_AND_ASSIGN(
      auto out,
      RunOp("y = com.microsoft.FusedMatMul <alpha = 0.5, transBatchA = 1, transB = 1> (a, b)",
            {&a, &b}));
  ExpectClose(out[0], {2, 3, 3},
              {0.17717493f, 0.15515432f, 0.051978238f, 0.88998306f, 0.90327317f, 0.44409454f,
               -0.015782516f, 0.0086481562f, 0.0285553f, -0.22056401f, -0.66163856f, -0.75663459f,
               -0.14479101f, -0.53386748f, -0.64369768f, 0.19430715f, 0.5648253f, 0.63990432f});
}

TEST(FusedMatMulTest, MismatchedInnerDimensionIsAnError) {
  const Tensor a = RandomTensor({2, 3}, 1);
  const Tensor b = RandomTensor({2, 3}, 2);
  EXPECT_THAT(RunOp("y = com.microsoft.FusedMatMul (a, b)", {&a, &b}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("inner dimensions")));
  EXPECT_THAT(RunOp("y = com.microsoft.FusedMatMul <transBatchA = 1> (a, b)", {&a, &b}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("transBatchA")));
}

// ---------------------------------------------------------------------------------------------
// Activations

TEST(GeluTest, ExactAndTanhValues) {
  const Tensor x = FloatTensor({4}, {-1, 0, 1, 2});
  // 0.5 x (1 + erf(x / sqrt 2)) and the tanh form, to 7 digits.
  const std::vector<float> exact = {-0.15865525f, 0, 0.84134475f, 1.9544997f};
  const std::vector<float> tanh = {-0.15880801f, 0, 0.84119199f, 1.9545977f};
  ASSERT_OK_AND_ASSIGN(auto out, RunOp("y = com.microsoft.Gelu (x)", {&x}));
  ExpectClose(out[0], {4}, exact);
  ASSERT_OK_AND_ASSIGN(out, RunOp("y = Gelu (x)", {&x}, 20));
  ExpectClose(out[0], {4}, exact);
  ASSERT_OK_AND_ASSIGN(out, RunOp("y = Gelu <approximate = \"tanh\"> (x)", {&x}, 20));
  ExpectClose(out[0], {4}, tanh);
  ASSERT_OK_AND_ASSIGN(out, RunOp("y = com.microsoft.FastGelu (x)", {&x}));
  ExpectClose(out[0], {4}, tanh);
  EXPECT_THAT(RunOp("y = Gelu <approximate = \"fast\"> (x)", {&x}, 20).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("approximate")));
}

TEST(GeluTest, BiasIsAddedFirst) {
  const Tensor x = FloatTensor({2, 2}, {-2, -1, 0, 1});
  const Tensor bias = FloatTensor({2}, {1, 1});
  ASSERT_OK_AND_ASSIGN(auto out, RunOp("y = com.microsoft.BiasGelu (x, b)", {&x, &bias}));
  ExpectClose(out[0], {2, 2}, {-0.15865525f, 0, 0.84134475f, 1.9544997f});
  const Tensor wrong = FloatTensor({3}, {1, 1, 1});
  EXPECT_THAT(RunOp("y = com.microsoft.BiasGelu (x, b)", {&x, &wrong}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("last dimensions")));
}

TEST(GeluTest, FastGeluWithBiasMatchesOnnxRuntime) {
  const Tensor x = Wave(0, {2, 3}, 3.0);
  const Tensor bias = Wave(1, {3});
  ASSERT_OK_AND_ASSIGN(auto out, RunOp("y = com.microsoft.FastGelu (x, b)", {&x, &bias}));
  ExpectClose(out[0], {2, 3},
              {0.67304397f, 2.0247009f, 3.005044f, 3.5280166f, 3.9674687f, 3.8694162f});
}

TEST(ActivationTest, QuickGeluMishSwish) {
  const Tensor x = FloatTensor({3}, {-1, 0.5f, 2});
  auto sigmoid = [](double v) { return 1 / (1 + std::exp(-v)); };
  std::vector<float> quick, quick_alpha, mish, swish;
  for (double v : {-1.0, 0.5, 2.0}) {
    quick.push_back(static_cast<float>(v * sigmoid(1.702 * v)));
    quick_alpha.push_back(static_cast<float>(v * sigmoid(0.5 * v)));
    mish.push_back(static_cast<float>(v * std::tanh(std::log1p(std::exp(v)))));
    swish.push_back(static_cast<float>(v * sigmoid(2.0 * v)));
  }
  ASSERT_OK_AND_ASSIGN(auto out, RunOp("y = com.microsoft.QuickGelu (x)", {&x}));
  ExpectClose(out[0], {3}, quick);
  ASSERT_OK_AND_ASSIGN(out, RunOp("y = com.microsoft.QuickGelu <alpha = 0.5> (x)", {&x}));
  ExpectClose(out[0], {3}, quick_alpha);
  ASSERT_OK_AND_ASSIGN(out, RunOp("y = Mish (x)", {&x}, 18));
  ExpectClose(out[0], {3}, mish);
  ASSERT_OK_AND_ASSIGN(out, RunOp("y = Swish <alpha = 2.0> (x)", {&x}, 24));
  ExpectClose(out[0], {3}, swish);
  // Mish of a large input: softplus must not overflow to inf (inf * tanh is fine, NaN is not).
  const Tensor big = FloatTensor({2}, {100, -100});
  ASSERT_OK_AND_ASSIGN(out, RunOp("y = Mish (x)", {&big}, 18));
  ExpectClose(out[0], {2}, {100, 0});
}

TEST(BiasAddTest, AddsBiasAndSkip) {
  // ONNX Runtime has no CPU kernel for BiasAdd; this is the contrib op's definition.
  const Tensor x = FloatTensor({1, 2, 2}, {1, 2, 3, 4});
  const Tensor bias = FloatTensor({2}, {10, 20});
  const Tensor skip = FloatTensor({1, 2, 2}, {100, 200, 300, 400});
  ASSERT_OK_AND_ASSIGN(auto out, RunOp("y = com.microsoft.BiasAdd (x, b, s)", {&x, &bias, &skip}));
  ExpectClose(out[0], {1, 2, 2}, {111, 222, 313, 424});
  EXPECT_THAT(RunOp("y = com.microsoft.BiasAdd (x, b, s)", {&x, &skip, &skip}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bias must be [2]")));
}

TEST(FusedGemmTest, GemmThenActivation) {
  const Tensor a = FloatTensor({1, 2}, {1, 2});
  const Tensor b = FloatTensor({2, 2}, {1, -1, 1, -2});
  const Tensor c = FloatTensor({2}, {0, 1});
  // alpha 2: 2 * [3, -5] + [0, 1] = [6, -9].
  ASSERT_OK_AND_ASSIGN(auto out, RunOp("y = com.microsoft.FusedGemm <alpha = 2.0,"
                                       " activation = \"Relu\"> (a, b, c)",
                                       {&a, &b, &c}));
  ExpectClose(out[0], {1, 2}, {6, 0});
  ASSERT_OK_AND_ASSIGN(out, RunOp("y = com.microsoft.FusedGemm <alpha = 2.0, activation ="
                                  " \"LeakyRelu\", activation_alpha = 0.5> (a, b, c)",
                                  {&a, &b, &c}));
  ExpectClose(out[0], {1, 2}, {6, -4.5f});
  EXPECT_THAT(
      RunOp("y = com.microsoft.FusedGemm <activation = \"Gelu\"> (a, b, c)", {&a, &b, &c}).status(),
      StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("Gelu")));
}

TEST(FusedConvTest, ConvPlusSumThenActivation) {
  // 1x1 kernel of 2 and bias -1 on [1, 1, 1, 3]; Z adds [0, 0, -10]; Clip to [0, 4].
  const Tensor x = FloatTensor({1, 1, 1, 3}, {1, 2, 3});
  const Tensor w = FloatTensor({1, 1, 1, 1}, {2});
  const Tensor b = FloatTensor({1}, {-1});
  const Tensor z = FloatTensor({1, 1, 1, 3}, {0, 0, -10});
  ASSERT_OK_AND_ASSIGN(auto out, RunOp("y = com.microsoft.FusedConv <activation = \"Clip\","
                                       " activation_params = [0.0, 4.0]> (x, w, b, z)",
                                       {&x, &w, &b, &z}));
  ExpectClose(out[0], {1, 1, 1, 3}, {1, 3, 0});
}

TEST(FusedConvTest, MatchesOnnxRuntime) {
  const Tensor x = Wave(0, {1, 1, 3, 3}), w = Wave(1, {1, 1, 2, 2}), b = Wave(2, {1});
  const Tensor z = Wave(3, {1, 1, 2, 2});
  ASSERT_OK_AND_ASSIGN(auto out, RunOp("y = com.microsoft.FusedConv <activation = \"LeakyRelu\","
                                       " activation_params = [0.1]> (x, w, b, z)",
                                       {&x, &w, &b, &z}));
  ExpectClose(out[0], {1, 1, 2, 2}, {3.1422577f, 3.4544463f, 3.3104279f, 2.5368125f});
}

// ---------------------------------------------------------------------------------------------
// Normalizations

TEST(EmbedLayerNormalizationTest, SumsEmbeddingsAndCountsTheMask) {
  // Hidden size 2: each summed row [a, b] normalizes to [-1, 1] or [1, -1] (epsilon 0).
  const Tensor ids = Int32Tensor({1, 2}, {1, 0});
  const Tensor words = FloatTensor({2, 2}, {0, 1, 5, 0});
  const Tensor positions = FloatTensor({2, 2}, {0, 0, 0, 3});
  const Tensor gamma = FloatTensor({2}, {1, 2});
  const Tensor beta = FloatTensor({2}, {0, 10});
  const Tensor mask = Int32Tensor({1, 2}, {1, 1});
  ASSERT_OK_AND_ASSIGN(auto out,
                       RunOp("y, mask_index, sum = com.microsoft.EmbedLayerNormalization"
                             " <epsilon = 0.0> (ids, , w, p, , g, b, m)",
                             {&ids, nullptr, &words, &positions, nullptr, &gamma, &beta, &mask}));
  ExpectClose(out[0], {1, 2, 2}, {1, 8, -1, 12});
  ASSERT_EQ(out[1].type(), DataType::kInt32);
  EXPECT_EQ(out[1].data<int32_t>()[0], 2);
  ExpectClose(out[2], {1, 2, 2}, {5, 0, 0, 4});
  const Tensor bad = Int32Tensor({1, 2}, {1, 2});
  EXPECT_THAT(RunOp("y = com.microsoft.EmbedLayerNormalization (ids, , w, p, , g, b)",
                    {&bad, nullptr, &words, &positions, nullptr, &gamma, &beta})
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("outside")));
}

TEST(EmbedLayerNormalizationTest, MatchesOnnxRuntime) {
  const Tensor ids = Int32Tensor({1, 2}, {2, 0}), segment_ids = Int32Tensor({1, 2}, {1, 0});
  const Tensor words = Wave(0, {3, 4}), positions = Wave(1, {2, 4}), segments = Wave(2, {2, 4});
  const Tensor gamma = Wave(3, {4}), beta = Wave(4, {4});
  const Tensor mask = Int32Tensor({1, 2}, {1, 0});
  ASSERT_OK_AND_ASSIGN(
      auto out, RunOp("y, mask_index = com.microsoft.EmbedLayerNormalization"
                      " <epsilon = 1e-5> (ids, sids, w, p, s, g, b, m)",
                      {&ids, &segment_ids, &words, &positions, &segments, &gamma, &beta, &mask}));
  ExpectClose(out[0], {1, 2, 4},
              {-0.56618237f, -1.0439104f, -0.72821856f, 0.16506439f, -0.60051203f, -1.09075f,
               -0.85536277f, 0.32104594f});
  EXPECT_EQ(out[1].data<int32_t>()[0], 1);
}

TEST(SkipLayerNormalizationTest, HandComputedRow) {
  // input + skip = [1, 2, 3, 4]: mean 2.5, variance 1.25.
  const Tensor x = FloatTensor({1, 1, 4}, {0, 1, 2, 3});
  const Tensor skip = FloatTensor({1, 1, 4}, {1, 1, 1, 1});
  const Tensor gamma = FloatTensor({4}, {1, 1, 2, 2});
  const Tensor beta = FloatTensor({4}, {0, 0, 0, 1});
  ASSERT_OK_AND_ASSIGN(
      auto out, RunOp("y, mean, inv, sum = com.microsoft.SkipLayerNormalization <epsilon = 0.0>"
                      " (x, s, g, b)",
                      {&x, &skip, &gamma, &beta}));
  const float inv = 1 / std::sqrt(1.25f);
  ExpectClose(out[0], {1, 1, 4}, {-1.5f * inv, -0.5f * inv, 1.0f * inv, 3.0f * inv + 1});
  ExpectClose(out[1], {1, 1, 1}, {2.5f});
  ExpectClose(out[2], {1, 1, 1}, {inv});
  ExpectClose(out[3], {1, 1, 4}, {1, 2, 3, 4});
}

TEST(SkipLayerNormalizationTest, MatchesOnnxRuntime) {
  const Tensor x = Wave(0, {1, 2, 4}), skip = Wave(1, {1, 2, 4}), gamma = Wave(2, {4});
  const Tensor beta = Wave(3, {4}), bias = Wave(4, {4});
  ASSERT_OK_AND_ASSIGN(
      auto out, RunOp("y, mean, inv, sum = com.microsoft.SkipLayerNormalization <epsilon = 1e-5>"
                      " (x, s, g, b, c)",
                      {&x, &skip, &gamma, &beta, &bias}));
  ExpectClose(out[0], {1, 2, 4},
              {-1.1786481f, -0.46011689f, -0.33293259f, -0.78616965f, 1.3539571f, 0.099516556f,
               -0.74498117f, -0.86620229f});
  ExpectClose(out[1], {1, 2, 1}, {0.49411315f, 0.011848748f});
  ExpectClose(out[2], {1, 2, 1}, {3.5448382f, 1.5848522f});
  ExpectClose(out[3], {1, 2, 4},
              {0.084668458f, 0.39956814f, 0.66038829f, 0.83182782f, 0.85345262f, 0.30679792f,
               -0.28138036f, -0.83147526f});
}

TEST(SkipLayerNormalizationTest, SkipRepeatsOverTheBatch) {
  const Tensor x = FloatTensor({2, 1, 2}, {0, 2, 4, 0});
  const Tensor skip = FloatTensor({1, 2}, {1, 1});
  const Tensor gamma = FloatTensor({2}, {1, 1});
  ASSERT_OK_AND_ASSIGN(auto out, RunOp("y, , , sum = com.microsoft.SkipLayerNormalization"
                                       " <epsilon = 0.0> (x, s, g)",
                                       {&x, &skip, &gamma}));
  ExpectClose(out[0], {2, 1, 2}, {-1, 1, 1, -1});
  ExpectClose(out[3], {2, 1, 2}, {1, 3, 5, 1});
  const Tensor bad = FloatTensor({3}, {1, 1, 1});
  EXPECT_THAT(
      RunOp("y = com.microsoft.SkipLayerNormalization (x, s, g)", {&x, &bad, &gamma}).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("does not match")));
}

TEST(SkipSimplifiedLayerNormalizationTest, MatchesOnnxRuntime) {
  const Tensor x = Wave(0, {1, 2, 4}), skip = Wave(1, {1, 2, 4}), gamma = Wave(2, {4});
  ASSERT_OK_AND_ASSIGN(auto out, RunOp("y, , inv = com.microsoft.SkipSimplifiedLayerNormalization"
                                       " <epsilon = 1e-5> (x, s, g)",
                                       {&x, &skip, &gamma}));
  ExpectClose(out[0], {1, 2, 4},
              {0.5299201f, 0.64784241f, 0.44939065f, 0.038367484f, 1.3541743f, 0.80529737f,
               0.25965181f, 0.0026442399f});
  ExpectClose(out[2], {1, 2, 1}, {0.69257265f, 0.92485553f});
}

TEST(SimplifiedLayerNormalizationTest, RootMeanSquare) {
  const Tensor x = FloatTensor({2, 2}, {3, 4, 1, -1});
  const Tensor scale = FloatTensor({2}, {1, 2});
  ASSERT_OK_AND_ASSIGN(
      auto out,
      RunOp("y, inv = SimplifiedLayerNormalization <epsilon = 0.0> (x, s)", {&x, &scale}, 17));
  const float r = std::sqrt(12.5f);  // sqrt((9 + 16) / 2)
  ExpectClose(out[0], {2, 2}, {3 / r, 8 / r, 1, -2});
  ExpectClose(out[1], {2, 1}, {1 / r, 1});
  ASSERT_OK_AND_ASSIGN(out, RunOp("y = RMSNormalization <epsilon = 0.0> (x, s)", {&x, &scale}));
  ExpectClose(out[0], {2, 2}, {3 / r, 8 / r, 1, -2});
}

TEST(SimplifiedLayerNormalizationTest, RmsNormalizationMatchesOnnxRuntime) {
  const Tensor x = Wave(0, {2, 3}), scale = Wave(1, {3});
  ASSERT_OK_AND_ASSIGN(auto out,
                       RunOp("y = RMSNormalization <epsilon = 1e-5> (x, s)", {&x, &scale}));
  ExpectClose(out[0], {2, 3}, {0, 0.80212921f, 1.5045639f, 0.79181951f, 1.0252218f, 0.99546522f});
}

TEST(LayerNormalizationContribTest, OpsetBefore17RunsOnnxRuntimesSchema) {
  const Tensor x = FloatTensor({1, 4}, {1, 2, 3, 4});
  const Tensor scale = FloatTensor({4}, {1, 1, 1, 1});
  ASSERT_OK_AND_ASSIGN(auto out, RunOp("y, mean, inv = LayerNormalization <epsilon = 0.0> (x, s)",
                                       {&x, &scale}, 13));
  const float inv = 1 / std::sqrt(1.25f);
  ExpectClose(out[0], {1, 4}, {-1.5f * inv, -0.5f * inv, 0.5f * inv, 1.5f * inv});
  ExpectClose(out[1], {1, 1}, {2.5f});
  ExpectClose(out[2], {1, 1}, {inv});
}

TEST(GroupNormalizationTest, PerGroupAndPerChannelParameters) {
  // Two groups of two channels with one value each: group 0 is {1, 3}, group 1 is {4, 6}, each
  // normalizing to {-1, 1}.
  const Tensor x = FloatTensor({1, 4, 1}, {1, 3, 4, 6});
  const Tensor group_scale = FloatTensor({2}, {2, 1});
  const Tensor group_bias = FloatTensor({2}, {0, 7});
  ASSERT_OK_AND_ASSIGN(auto out,
                       RunOp("y = GroupNormalization <num_groups = 2, epsilon = 0.0> (x, s, b)",
                             {&x, &group_scale, &group_bias}, 18));
  ExpectClose(out[0], {1, 4, 1}, {-2, 2, 6, 8});
  const Tensor channel_scale = FloatTensor({4}, {1, 2, 3, 4});
  const Tensor channel_bias = FloatTensor({4}, {0, 0, 1, 1});
  ASSERT_OK_AND_ASSIGN(out, RunOp("y = GroupNormalization <num_groups = 2, epsilon = 0.0>"
                                  " (x, s, b)",
                                  {&x, &channel_scale, &channel_bias}, 21));
  ExpectClose(out[0], {1, 4, 1}, {-1, 2, -2, 5});
  EXPECT_THAT(RunOp("y = GroupNormalization <num_groups = 3> (x, s, b)",
                    {&x, &channel_scale, &channel_bias}, 21)
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("num_groups")));
}

TEST(GroupNormalizationTest, Opset18MatchesOnnxRuntime) {
  const Tensor x = Wave(0, {1, 4, 2}), scale = Wave(1, {2}), bias = Wave(2, {2});
  ASSERT_OK_AND_ASSIGN(auto out,
                       RunOp("y = GroupNormalization <num_groups = 2, epsilon = 1e-5> (x, s, b)",
                             {&x, &scale, &bias}, 18));
  ExpectClose(out[0], {1, 4, 2},
              {-0.29555339f, 0.60668761f, 1.3868146f, 1.9392409f, 1.6245203f, 1.4426572f,
               0.57705724f, -0.85512441f});
}

// The runner keeps SkipLayerNormalization's statistics float32 for float16 inputs
// (KernelDef::float32_outputs) and rounds the other outputs to float16.
TEST(Float32OutputsTest, StatisticsStayFloat32ForFloat16Inputs) {
  const onnx::ModelProto model = halfcast::testing::ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17, "com.microsoft" : 1]>
    g (float16[1, 1, 4] x, float16[1, 1, 4] s, float16[4] gamma)
        => (float16[1, 1, 4] y, float[1, 1, 1] mean, float[1, 1, 1] inv, float16[1, 1, 4] sum) {
      y, mean, inv, sum = com.microsoft.SkipLayerNormalization <epsilon = 0.0> (x, s, gamma)
    }
  )");
  auto halves = [](std::vector<int64_t> shape, std::vector<float> values) {
    std::vector<uint16_t> bits;
    for (float v : values) bits.push_back(numerics::FloatToHalf(v));
    return Tensor::Copy(DataType::kFloat16, std::move(shape), bits.data());
  };
  // Sum [0.1, 0.2, 0.3, 0.4] in float16: its mean is not a float16 value.
  TensorMap feeds{{"x", halves({1, 1, 4}, {0.1f, 0.2f, 0.3f, 0.4f})},
                  {"s", halves({1, 1, 4}, {0, 0, 0, 0})},
                  {"gamma", halves({4}, {1, 1, 1, 1})}};
  ReferenceEvaluator evaluator;
  ASSERT_OK_AND_ASSIGN(TensorMap out, evaluator.Run(model, feeds));
  EXPECT_EQ(out["y"].type(), DataType::kFloat16);
  EXPECT_EQ(out["sum"].type(), DataType::kFloat16);
  ASSERT_EQ(out["mean"].type(), DataType::kFloat);
  ASSERT_EQ(out["inv"].type(), DataType::kFloat);
  double mean = 0;
  for (float v : {0.1f, 0.2f, 0.3f, 0.4f}) mean += numerics::HalfToFloat(numerics::FloatToHalf(v));
  mean /= 4;
  EXPECT_FLOAT_EQ(out["mean"].data<float>()[0], static_cast<float>(mean));
  EXPECT_NE(numerics::HalfToFloat(numerics::FloatToHalf(static_cast<float>(mean))),
            out["mean"].data<float>()[0]);

  // ONNX's LayerNormalization-17 likewise keeps its statistics in float32.
  const onnx::ModelProto layer_norm = halfcast::testing::ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float16[1, 4] x, float16[4] gamma) => (float16[1, 4] y, float[1, 1] m, float[1, 1] i) {
      y, m, i = LayerNormalization <epsilon = 0.0> (x, gamma)
    }
  )");
  ASSERT_OK_AND_ASSIGN(TensorMap ln, evaluator.Run(layer_norm, {{"x", halves({1, 4}, {0.1f, 0.2f,
                                                                                  0.3f, 0.4f})},
                                                                 {"gamma", feeds["gamma"]}}));
  EXPECT_EQ(ln["y"].type(), DataType::kFloat16);
  ASSERT_EQ(ln["m"].type(), DataType::kFloat);
  EXPECT_FLOAT_EQ(ln["m"].data<float>()[0], static_cast<float>(mean));
  EXPECT_EQ(ln["i"].type(), DataType::kFloat);
}

// ---------------------------------------------------------------------------------------------
// com.microsoft Attention and MultiHeadAttention

// Weights [2, 6] whose Q and K parts are zero and V part the identity: every score is 0, so
// each query averages the input rows it may attend.
Tensor AveragingWeights() { return FloatTensor({2, 6}, {0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1}); }

TEST(ContribAttentionTest, UniformScoresAverageTheVisibleRows) {
  const Tensor input = FloatTensor({1, 3, 2}, {1, 10, 2, 20, 6, 60});
  const Tensor weights = AveragingWeights();
  const Tensor bias = FloatTensor({6}, {0, 0, 0, 0, 0, 0});
  ASSERT_OK_AND_ASSIGN(auto out, RunOp("y = com.microsoft.Attention <num_heads = 1> (x, w, b)",
                                       {&input, &weights, &bias}));
  ExpectClose(out[0], {1, 3, 2}, {3, 30, 3, 30, 3, 30});
  // Key lengths: only the first two rows.
  const Tensor lengths = Int32Tensor({1}, {2});
  ASSERT_OK_AND_ASSIGN(out, RunOp("y = com.microsoft.Attention <num_heads = 1> (x, w, b, m)",
                                  {&input, &weights, &bias, &lengths}));
  ExpectClose(out[0], {1, 3, 2}, {1.5f, 15, 1.5f, 15, 1.5f, 15});
  // A 0/1 mask hiding the middle row.
  const Tensor raw = Int32Tensor({1, 3}, {1, 0, 1});
  ASSERT_OK_AND_ASSIGN(out, RunOp("y = com.microsoft.Attention <num_heads = 1> (x, w, b, m)",
                                  {&input, &weights, &bias, &raw}));
  ExpectClose(out[0], {1, 3, 2}, {3.5f, 35, 3.5f, 35, 3.5f, 35});
  // Unidirectional: query s sees rows 0..s.
  ASSERT_OK_AND_ASSIGN(out, RunOp("y = com.microsoft.Attention <num_heads = 1, unidirectional = 1>"
                                  " (x, w, b)",
                                  {&input, &weights, &bias}));
  ExpectClose(out[0], {1, 3, 2}, {1, 10, 1.5f, 15, 3, 30});
}

TEST(ContribAttentionTest, PastIsPrependedAndReturnedInPresent) {
  const Tensor input = FloatTensor({1, 1, 2}, {4, 40});
  const Tensor weights = AveragingWeights();
  const Tensor bias = FloatTensor({6}, {0, 0, 0, 0, 0, 0});
  // past [2, B, N, P, H]: keys (unused: scores are 0) and values of one earlier token.
  const Tensor past = FloatTensor({2, 1, 1, 1, 2}, {0, 0, 2, 20});
  ASSERT_OK_AND_ASSIGN(auto out,
                       RunOp("y, present = com.microsoft.Attention <num_heads = 1> (x, w, b, , p)",
                             {&input, &weights, &bias, nullptr, &past}));
  ExpectClose(out[0], {1, 1, 2}, {3, 30});
  ExpectClose(out[1], {2, 1, 1, 2, 2}, {0, 0, 0, 0, 2, 20, 4, 40});
}

TEST(ContribAttentionTest, MatchesOnnxRuntime) {
  const Tensor input = Wave(0, {2, 3, 4}), weights = Wave(1, {4, 12}), bias = Wave(2, {12});
  const Tensor mask = Int32Tensor({2, 3}, {1, 1, 0, 1, 0, 1});
  ASSERT_OK_AND_ASSIGN(auto out, RunOp("y = com.microsoft.Attention <num_heads = 2> (x, w, b, m)",
                                       {&input, &weights, &bias, &mask}));
  ExpectClose(out[0], {2, 3, 4},
              {-1.2258735f,  -1.1333956f,  -0.7658453f,  -0.33228961f, -1.2207577f,  -1.1371375f,
               -0.82848048f, -0.42970195f, -1.2421315f,  -1.1215039f,  -0.81348324f, -0.40637782f,
               -1.0332508f,  -0.8659569f,  -0.55514902f, -0.19410747f, -1.0669141f,  -0.9076128f,
               -0.55888683f, -0.19753939f, -1.0835222f,  -0.92816418f, -0.50614983f, -0.1491186f},
              1e-5f, 1e-5f);
}

TEST(ContribAttentionTest, UnidirectionalWithPastMatchesOnnxRuntime) {
  const Tensor input = Wave(0, {1, 2, 4}), weights = Wave(1, {4, 12}), bias = Wave(2, {12});
  const Tensor lengths = Int32Tensor({1}, {3});
  const Tensor past = Wave(3, {2, 1, 2, 1, 2});
  ASSERT_OK_AND_ASSIGN(auto out, RunOp("y, present = com.microsoft.Attention <num_heads = 2,"
                                       " unidirectional = 1> (x, w, b, m, p)",
                                       {&input, &weights, &bias, &lengths, &past}));
  ExpectClose(out[0], {1, 2, 4},
              {-1.0514492f, -0.99729633f, -0.70764971f, -0.31190643f, -1.0988028f, -1.0649457f,
               -0.8484804f, -0.52184266f});
  ExpectClose(out[1], {2, 1, 2, 3, 2},
              {0.14112f,     -0.22642653f, -0.8292824f,  -1.2447565f,  0.059051573f, -0.37675324f,
               -0.56332731f, -0.82398432f, -1.4917586f,  -1.5368583f,  -0.76156634f, -1.0433049f,
               -0.97311896f, -0.99054652f, -1.3739514f,  -1.0250865f,  -1.1838371f,  -1.1641424f,
               -0.87390828f, -0.63899058f, -0.53748107f, 0.022869959f, -0.9868865f,  -0.67606032f});
}

TEST(ContribAttentionTest, BadMaskShapeIsAnError) {
  const Tensor input = FloatTensor({1, 3, 2}, {1, 10, 2, 20, 6, 60});
  const Tensor weights = AveragingWeights();
  const Tensor bias = FloatTensor({6}, {0, 0, 0, 0, 0, 0});
  const Tensor mask = Int32Tensor({2, 2}, {1, 1, 1, 1});
  EXPECT_THAT(RunOp("y = com.microsoft.Attention <num_heads = 1> (x, w, b, m)",
                    {&input, &weights, &bias, &mask})
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("mask of shape [2,2]")));
}

TEST(MultiHeadAttentionTest, EqualKeysAverageTheUnmaskedValues) {
  const Tensor query = FloatTensor({1, 2, 2}, {1, 2, -3, 4});
  const Tensor key = FloatTensor({1, 3, 2}, {1, 1, 1, 1, 1, 1});
  const Tensor value = FloatTensor({1, 3, 2}, {1, 10, 2, 20, 6, 60});
  const Tensor mask = Int32Tensor({1, 3}, {0, 1, 1});
  ASSERT_OK_AND_ASSIGN(auto out,
                       RunOp("y = com.microsoft.MultiHeadAttention <num_heads = 2> (q, k, v, , m)",
                             {&query, &key, &value, nullptr, &mask}));
  ExpectClose(out[0], {1, 2, 2}, {4, 40, 4, 40});
  // A bias adds to query, key and value: +1 on the values moves the average by 1.
  const Tensor bias = FloatTensor({6}, {0, 0, 0, 0, 1, 1});
  ASSERT_OK_AND_ASSIGN(out,
                       RunOp("y = com.microsoft.MultiHeadAttention <num_heads = 1> (q, k, v, b)",
                             {&query, &key, &value, &bias}));
  ExpectClose(out[0], {1, 2, 2}, {4, 31, 4, 31});
}

TEST(MultiHeadAttentionTest, PastAndPresent) {
  const Tensor query = FloatTensor({1, 1, 2}, {1, 2});
  const Tensor key = FloatTensor({1, 1, 2}, {0, 0});
  const Tensor value = FloatTensor({1, 1, 2}, {4, 40});
  const Tensor past_key = FloatTensor({1, 1, 1, 2}, {0, 0});
  const Tensor past_value = FloatTensor({1, 1, 1, 2}, {2, 20});
  ASSERT_OK_AND_ASSIGN(
      auto out, RunOp("y, pk, pv = com.microsoft.MultiHeadAttention <num_heads = 1>"
                      " (q, k, v, , , , past_k, past_v)",
                      {&query, &key, &value, nullptr, nullptr, nullptr, &past_key, &past_value}));
  ExpectClose(out[0], {1, 1, 2}, {3, 30});
  ExpectClose(out[1], {1, 1, 2, 2}, {0, 0, 0, 0});
  ExpectClose(out[2], {1, 1, 2, 2}, {2, 20, 4, 40});
}

// ONNX Runtime's CPU kernel refuses packed K/V, so this only checks that the packed layout
// [B, L, N, 2, H] reads as the separate key and value.
TEST(MultiHeadAttentionTest, PackedKeyValueEqualsSeparate) {
  const Tensor query = Wave(0, {1, 2, 4});
  const Tensor key = Wave(1, {1, 3, 4}), value = Wave(2, {1, 3, 4});
  const Tensor bias = Wave(3, {12});
  std::vector<float> packed;
  const std::vector<float> vk = Values(key), vv = Values(value);
  for (int t = 0; t < 3; ++t) {
    for (int n = 0; n < 2; ++n) {
      for (int h = 0; h < 2; ++h) packed.push_back(vk[t * 4 + n * 2 + h]);
      for (int h = 0; h < 2; ++h) packed.push_back(vv[t * 4 + n * 2 + h]);
    }
  }
  const Tensor kv = FloatTensor({1, 3, 2, 2, 2}, packed);
  ASSERT_OK_AND_ASSIGN(auto separate,
                       RunOp("y = com.microsoft.MultiHeadAttention <num_heads = 2> (q, k, v, b)",
                             {&query, &key, &value, &bias}));
  ASSERT_OK_AND_ASSIGN(auto out,
                       RunOp("y = com.microsoft.MultiHeadAttention <num_heads = 2> (q, kv, , b)",
                             {&query, &kv, nullptr, &bias}));
  ExpectClose(out[0], {1, 2, 4}, Values(separate[0]));
}

TEST(MultiHeadAttentionTest, MatchesOnnxRuntime) {
  const Tensor query = Wave(0, {1, 2, 4}), key = Wave(1, {1, 3, 4}), value = Wave(2, {1, 3, 4});
  const Tensor bias = Wave(3, {12});
  const Tensor lengths = Int32Tensor({1}, {2});
  ASSERT_OK_AND_ASSIGN(auto out,
                       RunOp("y = com.microsoft.MultiHeadAttention <num_heads = 2> (q, k, v, b, m)",
                             {&query, &key, &value, &bias, &lengths}));
  ExpectClose(out[0], {1, 2, 4},
              {-0.0013777569f, 0.1000454f, 0.20698254f, 0.26571533f, 0.13537088f, 0.2485401f,
               0.12840262f, 0.20245391f});
}

// ---------------------------------------------------------------------------------------------
// GroupQueryAttention

// One query head and one key/value head of 8 (the Q/K values make every score 0): each new
// token averages the values it may see. seqlens_k holds total length - 1.
TEST(GroupQueryAttentionTest, CausalPromptAndDecodeWithPast) {
  auto rows = [](std::vector<float> firsts) {  // tokens whose head is [first, 0, ..., 0]
    std::vector<float> values;
    for (float f : firsts) {
      values.push_back(f);
      values.insert(values.end(), 7, 0.0f);
    }
    return values;
  };
  const Tensor q = FloatTensor({1, 2, 8}, rows({0, 0}));
  const Tensor k = FloatTensor({1, 2, 8}, rows({0, 0}));
  const Tensor v = FloatTensor({1, 2, 8}, rows({2, 4}));
  const Tensor lengths = Int32Tensor({1}, {1});
  const Tensor total = Int32Tensor({1}, {2});
  ASSERT_OK_AND_ASSIGN(auto out, RunOp("y, pk, pv = com.microsoft.GroupQueryAttention"
                                       " <num_heads = 1, kv_num_heads = 1> (q, k, v, , , s, t)",
                                       {&q, &k, &v, nullptr, nullptr, &lengths, &total}));
  ExpectClose(out[0], {1, 2, 8}, rows({2, 3}));  // token 1 sees tokens 0 and 1
  ExpectClose(out[2], {1, 1, 2, 8}, rows({2, 4}));
  // One new token after a past of two: it sees all three values.
  const Tensor q1 = FloatTensor({1, 1, 8}, rows({0}));
  const Tensor v1 = FloatTensor({1, 1, 8}, rows({6}));
  const Tensor past_k = FloatTensor({1, 1, 2, 8}, rows({0, 0}));
  const Tensor past_v = FloatTensor({1, 1, 2, 8}, rows({2, 4}));
  const Tensor lengths1 = Int32Tensor({1}, {2});
  const Tensor total1 = Int32Tensor({1}, {3});
  ASSERT_OK_AND_ASSIGN(out, RunOp("y, pk, pv = com.microsoft.GroupQueryAttention"
                                  " <num_heads = 1, kv_num_heads = 1> (q, k, v, pk, pv, s, t)",
                                  {&q1, &q1, &v1, &past_k, &past_v, &lengths1, &total1}));
  ExpectClose(out[0], {1, 1, 8}, rows({4}));
  ExpectClose(out[2], {1, 1, 3, 8}, rows({2, 4, 6}));
  // A window of 2 keys: only the last two values.
  ASSERT_OK_AND_ASSIGN(out,
                       RunOp("y = com.microsoft.GroupQueryAttention <num_heads = 1,"
                             " kv_num_heads = 1, local_window_size = 2> (q, k, v, pk, pv, s, t)",
                             {&q1, &q1, &v1, &past_k, &past_v, &lengths1, &total1}));
  ExpectClose(out[0], {1, 1, 8}, rows({5}));
  const Tensor too_long = Int32Tensor({1}, {5});
  EXPECT_THAT(RunOp("y = com.microsoft.GroupQueryAttention <num_heads = 1, kv_num_heads = 1>"
                    " (q, k, v, pk, pv, s, t)",
                    {&q1, &q1, &v1, &past_k, &past_v, &too_long, &total1})
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("seqlens_k")));
}

TEST(GroupQueryAttentionTest, DecodeWithSoftcapMatchesOnnxRuntime) {
  const Tensor q = Wave(0, {1, 1, 16}), k = Wave(1, {1, 1, 8}), v = Wave(2, {1, 1, 8});
  const Tensor past_k = Wave(3, {1, 1, 2, 8}), past_v = Wave(4, {1, 1, 2, 8});
  const Tensor lengths = Int32Tensor({1}, {2});
  const Tensor total = Int32Tensor({1}, {3});
  // (ONNX Runtime computes from its present outputs: the pasted values had all three wanted.)
  ASSERT_OK_AND_ASSIGN(auto out, RunOp("y, pk = com.microsoft.GroupQueryAttention <num_heads = 2,"
                                       " kv_num_heads = 1, softcap = 2.0> (q, k, v, pk, pv, s, t)",
                                       {&q, &k, &v, &past_k, &past_v, &lengths, &total}));
  ExpectClose(out[0], {1, 1, 16},
              {0.66597629f, 0.71343338f, 0.6643306f, 0.52531368f, 0.31519818f, 0.062422022f,
               -0.19880268f, -0.43312034f, -0.45373079f, -0.61381584f, -0.69082379f, -0.6743319f,
               -0.56657243f, -0.38213003f, -0.14596808f, 0.10994993f});
  ExpectClose(out[1], {1, 1, 3, 8},
              {0.14112f,     -0.22642653f, -0.56332731f, -0.82398432f, -0.97311896f, -0.99054652f,
               -0.87390828f, -0.63899058f, -0.31758857f, 0.046797596f, 0.40484992f,  0.70810771f,
               0.91552645f,  0.99903297f,  0.94732505f,  0.76740116f,  0.84147096f,  0.97990805f,
               0.9857192f,   0.85811782f,  0.61437428f,  0.287478f,    -0.07832703f, -0.4335309f});
}

// ---------------------------------------------------------------------------------------------
// RotaryEmbedding

TEST(RotaryEmbeddingTest, RotatesPairsByThePositionsAngle) {
  // One head of 4: halves (x0, x2) and (x1, x3) rotate; interleaved, (x0, x1) and (x2, x3).
  const Tensor x = FloatTensor({1, 1, 4}, {1, 2, 3, 4});
  const float c = std::cos(0.5f), s = std::sin(0.5f);
  const Tensor cos = FloatTensor({2, 2}, {1, 1, c, c});
  const Tensor sin = FloatTensor({2, 2}, {0, 0, s, s});
  const Tensor pos = Int64Tensor({1, 1}, {1});
  ASSERT_OK_AND_ASSIGN(auto out,
                       RunOp("y = com.microsoft.RotaryEmbedding <num_heads = 1> (x, p, c, s)",
                             {&x, &pos, &cos, &sin}));
  ExpectClose(out[0], {1, 1, 4}, {1 * c - 3 * s, 2 * c - 4 * s, 1 * s + 3 * c, 2 * s + 4 * c});
  ASSERT_OK_AND_ASSIGN(out, RunOp("y = com.microsoft.RotaryEmbedding <num_heads = 1,"
                                  " interleaved = 1> (x, p, c, s)",
                                  {&x, &pos, &cos, &sin}));
  ExpectClose(out[0], {1, 1, 4}, {1 * c - 2 * s, 1 * s + 2 * c, 3 * c - 4 * s, 3 * s + 4 * c});
  // Position 0 is the identity; ONNX's op takes the caches before position_ids.
  const Tensor zero = Int64Tensor({1, 1}, {0});
  ASSERT_OK_AND_ASSIGN(
      out, RunOp("y = RotaryEmbedding <num_heads = 1> (x, c, s, p)", {&x, &cos, &sin, &zero}));
  ExpectClose(out[0], {1, 1, 4}, {1, 2, 3, 4});
  // Partial rotation: only the first 2 values of the head.
  const Tensor cos1 = FloatTensor({2, 1}, {1, c}), sin1 = FloatTensor({2, 1}, {0, s});
  ASSERT_OK_AND_ASSIGN(out, RunOp("y = RotaryEmbedding <num_heads = 1, rotary_embedding_dim = 2>"
                                  " (x, c, s, p)",
                                  {&x, &cos1, &sin1, &pos}));
  ExpectClose(out[0], {1, 1, 4}, {1 * c - 2 * s, 1 * s + 2 * c, 3, 4});
  const Tensor far = Int64Tensor({1, 1}, {2});
  EXPECT_THAT(RunOp("y = com.microsoft.RotaryEmbedding <num_heads = 1> (x, p, c, s)",
                    {&x, &far, &cos, &sin})
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("outside the cache")));
}

TEST(RotaryEmbeddingTest, MatchesOnnxRuntime) {
  const Tensor cos = Map(Wave(1, {4, 2}), std::cos), sin = Map(Wave(1, {4, 2}), std::sin);
  const Tensor x3 = Wave(0, {1, 2, 8});
  const Tensor pos = Int64Tensor({1, 2}, {1, 3});
  ASSERT_OK_AND_ASSIGN(auto out, RunOp("y = com.microsoft.RotaryEmbedding <interleaved = 1,"
                                       " num_heads = 2> (x, p, c, s)",
                                       {&x3, &pos, &cos, &sin}));
  ExpectClose(out[0], {1, 2, 8},
              {-0.30146775f, 0.19970706f, -0.23680577f, 1.0958391f, -0.25139701f, 1.3611128f,
               0.12434557f, 0.94534504f, 0.16538732f, -0.20085153f, -0.81716228f, -0.50402331f,
               -1.0380524f, -0.91682637f, -1.0912f, -0.23234594f});
  // RotaryEmbedding-23 on [B, N, S, H].
  const Tensor x4 = Wave(0, {1, 2, 2, 4});
  const Tensor pos23 = Int64Tensor({1, 2}, {2, 0});
  ASSERT_OK_AND_ASSIGN(out, RunOp("y = RotaryEmbedding (x, c, s, p)", {&x4, &cos, &sin, &pos23}));
  ExpectClose(out[0], {1, 2, 2, 4},
              {-0.38869148f, 0.092813894f, 0.55098379f, 0.9614715f, 0.069683477f, 0.10033477f,
               1.2733575f, 1.0902319f, 0.45299405f, 0.047408294f, -0.32884303f, -0.82091355f,
               0.023781229f, 0.0013206622f, -1.3129644f, -1.1993259f});
}

// ---------------------------------------------------------------------------------------------
// ONNX Attention-23

TEST(OnnxAttentionTest, MasksCausalityAndGroupedHeads) {
  // Q [1, 2, 2, 1] (two query heads), K/V [1, 1, 3, 1] (one shared head): zero keys make every
  // score 0, so each query averages the values it may see.
  const Tensor q = FloatTensor({1, 2, 2, 1}, {1, 2, 3, 4});
  const Tensor k = FloatTensor({1, 1, 3, 1}, {0, 0, 0});
  const Tensor v = FloatTensor({1, 1, 3, 1}, {3, 6, 9});
  ASSERT_OK_AND_ASSIGN(auto out, RunOp("y = Attention (q, k, v)", {&q, &k, &v}));
  ExpectClose(out[0], {1, 2, 2, 1}, {6, 6, 6, 6});
  // Bool mask: true attends.
  const Tensor mask = BoolTensor({2, 3}, {1, 1, 0, 0, 0, 1});
  ASSERT_OK_AND_ASSIGN(out, RunOp("y = Attention (q, k, v, m)", {&q, &k, &v, &mask}));
  ExpectClose(out[0], {1, 2, 2, 1}, {4.5f, 9, 4.5f, 9});
  // Causal, aligned bottom-right: with 2 queries and 3 keys, query 0 sees keys 0..1.
  ASSERT_OK_AND_ASSIGN(out, RunOp("y = Attention <is_causal = 1> (q, k, v)", {&q, &k, &v}));
  ExpectClose(out[0], {1, 2, 2, 1}, {3, 4.5f, 3, 4.5f});
  // A float mask shorter than the keys masks the keys past it.
  const Tensor additive = FloatTensor({1, 2}, {0, 0});
  ASSERT_OK_AND_ASSIGN(out, RunOp("y = Attention (q, k, v, m)", {&q, &k, &v, &additive}));
  ExpectClose(out[0], {1, 2, 2, 1}, {4.5f, 4.5f, 4.5f, 4.5f});
}

TEST(OnnxAttentionTest, ThreeDimensionalInputsWithPast) {
  // 3-D [B, S, N * H] with one head of 2; past key/value of one token.
  const Tensor q = FloatTensor({1, 1, 2}, {1, 1});
  const Tensor k = FloatTensor({1, 1, 2}, {0, 0});
  const Tensor v = FloatTensor({1, 1, 2}, {4, 40});
  const Tensor past_k = FloatTensor({1, 1, 1, 2}, {0, 0});
  const Tensor past_v = FloatTensor({1, 1, 1, 2}, {2, 20});
  ASSERT_OK_AND_ASSIGN(auto out, RunOp("y, pk, pv = Attention <q_num_heads = 1, kv_num_heads = 1>"
                                       " (q, k, v, , pk_in, pv_in)",
                                       {&q, &k, &v, nullptr, &past_k, &past_v}));
  ExpectClose(out[0], {1, 1, 2}, {3, 30});
  ExpectClose(out[2], {1, 1, 2, 2}, {2, 20, 4, 40});
  EXPECT_THAT(RunOp("y = Attention (q, k, v)", {&q, &k, &v}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("head count")));
}

TEST(OnnxAttentionTest, CausalSoftcapWithPastMatchesOnnxRuntime) {
  const Tensor q = Wave(0, {1, 2, 2, 2}), k = Wave(1, {1, 1, 2, 2}), v = Wave(2, {1, 1, 2, 2});
  const Tensor past_k = Wave(3, {1, 1, 1, 2}), past_v = Wave(4, {1, 1, 1, 2});
  ASSERT_OK_AND_ASSIGN(auto out, RunOp("y, pk, pv = Attention <is_causal = 1, softcap = 1.5>"
                                       " (q, k, v, , pk_in, pv_in)",
                                       {&q, &k, &v, nullptr, &past_k, &past_v}));
  ExpectClose(out[0], {1, 2, 2, 2},
              {0.20277052f, 0.0021440308f, 0.42496175f, 0.15559666f, 0.48771665f, 0.2824952f,
               0.38443875f, 0.11676416f});
  ExpectClose(out[1], {1, 1, 3, 2},
              {0.14112f, -0.22642653f, 0.84147096f, 0.97990805f, 0.9857192f, 0.85811782f});
  ExpectClose(out[2], {1, 1, 3, 2},
              {-0.7568025f, -0.94195527f, 0.90929741f, 0.69727772f, 0.39088479f, 0.0315874f});
}

TEST(OnnxAttentionTest, QkMatmulOutputModes) {
  const Tensor q = FloatTensor({1, 1, 1, 1}, {2});
  const Tensor k = FloatTensor({1, 1, 2, 1}, {1, 3});
  const Tensor v = FloatTensor({1, 1, 2, 1}, {0, 1});
  const Tensor mask = FloatTensor({1, 2}, {0, -1});
  // scale 0.5: scores [1, 3]; masked [1, 2]; softmax [1, e] / (1 + e).
  const float e = std::exp(1.0f);
  const std::vector<std::vector<float>> expected = {
      {1, 3}, {1, 3}, {1, 2}, {1 / (1 + e), e / (1 + e)}};
  for (int mode = 0; mode < 4; ++mode) {
    ASSERT_OK_AND_ASSIGN(auto out, RunOp(absl::StrCat("y, , , qk = Attention <scale = 0.5, "
                                                      "qk_matmul_output_mode = ",
                                                      mode, "> (q, k, v, m)"),
                                         {&q, &k, &v, &mask}));
    ExpectClose(out[3], {1, 1, 1, 2}, expected[mode]);
    ExpectClose(out[0], {1, 1, 1, 1}, {e / (1 + e)});
  }
}

}  // namespace
}  // namespace halfcast::eval
