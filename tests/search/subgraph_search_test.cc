// Mixed precision inside If/Loop/Scan bodies, and the safety margin: graphs whose float16 trouble
// sits where the Python tool never looks.
#include <cmath>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "halfcast/mixed_precision.h"
#include "numerics/float16.h"
#include "testing/onnx_text.h"
#include "testing/status_matchers.h"

namespace halfcast {
namespace {

using ::halfcast::testing::ParseModelText;
using ::halfcast::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

using Location = std::pair<std::string, std::size_t>;

Tensor Floats(std::vector<int64_t> shape, std::vector<float> values) {
  return Tensor::Copy(DataType::kFloat, std::move(shape), values.data());
}

// The nodes the search kept, by (location graph, index).
std::set<Location> SearchKept(const MixedPrecisionReport& report) {
  std::set<Location> kept;
  for (const KeptNode& node : report.conversion.kept_nodes) {
    if (node.reason == KeepReason::kSearch) kept.insert({node.location_graph, node.index});
  }
  return kept;
}

// Every output of `converted` within rtol/atol of the float32 model's, in the built-in evaluator
// (float feeds are given as they are: the models keep their io types).
void ExpectValidates(const onnx::ModelProto& original, const onnx::ModelProto& converted,
                     const TensorMap& feed, double rtol, double atol) {
  ReferenceEvaluator evaluator;
  ASSERT_OK_AND_ASSIGN(TensorMap reference, evaluator.Run(original, feed));
  ASSERT_OK_AND_ASSIGN(TensorMap outputs, evaluator.Run(converted, feed));
  for (const auto& [name, expected] : reference) {
    const Tensor& actual = outputs.at(name);
    ASSERT_EQ(actual.type(), DataType::kFloat) << name;
    for (int64_t i = 0; i < expected.element_count(); ++i) {
      const double b = expected.data<float>()[i];
      const double a = actual.data<float>()[i];
      EXPECT_LE(std::fabs(a - b), atol + rtol * std::fabs(b)) << name << "[" << i << "]";
    }
  }
}

MixedPrecisionOptions Tolerant(SearchStrategy strategy) {
  MixedPrecisionOptions options;
  options.rtol = 0.01;
  options.atol = 0.001;
  options.keep_io_types = true;
  options.strategy = strategy;
  return options;
}

const Tensor kX = Floats({4}, {0.5f, -0.25f, 0.125f, 1.0f});

// In each model below x*1000*1000/1e6 runs inside a body: the middle value (up to 1e6) overflows
// float16's 65504, so the second Mul and the Div must compute in float32, and nothing else.
constexpr char kIfModel[] = R"(
  <ir_version: 8, opset_import: ["" : 17]>
  g (float[4] x, bool c) => (float[4] y) <float[1] k = {1000.0}, float[1] m = {1000000.0}> {
    s = Mul(x, x)
    y = If(c) <
      then_branch = then_g () => (float[4] t) {
        a = Mul(s, k)
        b = Mul(a, k)
        t = Div(b, m)
      },
      else_branch = else_g () => (float[4] e) {
        e = Identity(s)
      }>
  }
)";

constexpr char kLoopModel[] = R"(
  <ir_version: 8, opset_import: ["" : 17]>
  g (float[4] x, int64 n) => (float[4] y) <float[1] k = {1000.0}, float[1] m = {1000000.0}> {
    y = Loop(n, , x) <body = loop_body (int64 i, bool cin, float[4] xin) => (bool cout,
                                                                           float[4] xout) {
      cout = Identity(cin)
      a = Mul(xin, k)
      b = Mul(a, k)
      xout = Div(b, m)
    }>
  }
)";

constexpr char kScanModel[] = R"(
  <ir_version: 8, opset_import: ["" : 17]>
  g (float[4] x, float[2, 4] xs) => (float[4] sum, float[2, 4] ys)
      <float[1] k = {1000.0}, float[1] m = {1000000.0}> {
    sum, ys = Scan(x, xs) <num_scan_inputs = 1, body = scan_body (float[4] acc, float[4] xi)
                                                      => (float[4] acc_out, float[4] yi) {
      a = Mul(xi, k)
      b = Mul(a, k)
      yi = Div(b, m)
      acc_out = Add(acc, yi)
    }>
  }
)";

// The Loop's body holds an If whose then branch holds the chain: two levels down.
constexpr char kNestedModel[] = R"(
  <ir_version: 8, opset_import: ["" : 17]>
  g (float[4] x, int64 n, bool c) => (float[4] y)
      <float[1] k = {1000.0}, float[1] m = {1000000.0}> {
    y = Loop(n, , x) <body = loop_body (int64 i, bool cin, float[4] xin) => (bool cout,
                                                                           float[4] xout) {
      cout = Identity(cin)
      xout = If(c) <
        then_branch = then_g () => (float[4] t) {
          a = Mul(xin, k)
          b = Mul(a, k)
          t = Div(b, m)
        },
        else_branch = else_g () => (float[4] e) {
          e = Neg(xin)
        }>
    }>
  }
)";

Tensor Int64(int64_t value) { return Tensor::Copy(DataType::kInt64, {}, &value); }
Tensor Bool(bool value) {
  const uint8_t byte = value ? 1 : 0;
  return Tensor::Copy(DataType::kBool, {}, &byte);
}

class SubgraphSearchTest : public ::testing::TestWithParam<SearchStrategy> {};

TEST_P(SubgraphSearchTest, KeepsTheOverflowingNodesOfAnIfBranch) {
  const onnx::ModelProto model = ParseModelText(kIfModel);
  const std::vector<TensorMap> feeds = {{{"x", kX}, {"c", Bool(true)}}};
  ASSERT_OK_AND_ASSIGN(MixedPrecisionResult result,
                       AutoConvertMixedPrecision(model, feeds, Tolerant(GetParam())));
  EXPECT_THAT(SearchKept(result.report),
              ElementsAre(Pair("1/then_branch", 1), Pair("1/then_branch", 2)));
  ExpectValidates(model, result.model, feeds[0], 0.01, 0.001);
  // The report names the kept nodes by the path of their graph too.
  for (const KeptNode& node : result.report.conversion.kept_nodes) {
    if (node.reason == KeepReason::kSearch) EXPECT_EQ(node.graph, "If_1/then_branch");
  }
}

TEST_P(SubgraphSearchTest, KeepsTheOverflowingNodesOfALoopBody) {
  const onnx::ModelProto model = ParseModelText(kLoopModel);
  const std::vector<TensorMap> feeds = {{{"x", kX}, {"n", Int64(2)}}};
  ASSERT_OK_AND_ASSIGN(MixedPrecisionResult result,
                       AutoConvertMixedPrecision(model, feeds, Tolerant(GetParam())));
  EXPECT_THAT(SearchKept(result.report), ElementsAre(Pair("0/body", 2), Pair("0/body", 3)));
  ExpectValidates(model, result.model, feeds[0], 0.01, 0.001);
}

TEST_P(SubgraphSearchTest, KeepsTheOverflowingNodesOfAScanBody) {
  const onnx::ModelProto model = ParseModelText(kScanModel);
  const std::vector<TensorMap> feeds = {
      {{"x", kX}, {"xs", Floats({2, 4}, {0.5f, -0.25f, 0.125f, 1.0f, 0.75f, 2.0f, -1.5f, 0.0f})}}};
  ASSERT_OK_AND_ASSIGN(MixedPrecisionResult result,
                       AutoConvertMixedPrecision(model, feeds, Tolerant(GetParam())));
  EXPECT_THAT(SearchKept(result.report), ElementsAre(Pair("0/body", 1), Pair("0/body", 2)));
  ExpectValidates(model, result.model, feeds[0], 0.01, 0.001);
}

TEST_P(SubgraphSearchTest, KeepsTheOverflowingNodesTwoLevelsDown) {
  const onnx::ModelProto model = ParseModelText(kNestedModel);
  const std::vector<TensorMap> feeds = {{{"x", kX}, {"n", Int64(2)}, {"c", Bool(true)}}};
  ASSERT_OK_AND_ASSIGN(MixedPrecisionResult result,
                       AutoConvertMixedPrecision(model, feeds, Tolerant(GetParam())));
  EXPECT_THAT(SearchKept(result.report),
              ElementsAre(Pair("0/body/1/then_branch", 1), Pair("0/body/1/then_branch", 2)));
  ExpectValidates(model, result.model, feeds[0], 0.01, 0.001);
}

INSTANTIATE_TEST_SUITE_P(Both, SubgraphSearchTest,
                         ::testing::Values(SearchStrategy::kBisect, SearchStrategy::kErrorGuided),
                         [](const auto& info) {
                           return info.param == SearchStrategy::kBisect ? "Bisect" : "ErrorGuided";
                         });

// The converter takes body nodes by location and refuses locations that name no node.
TEST(NodeLocationBlockListTest, BlocksBodyNodesAndRefusesUnknownLocations) {
  const onnx::ModelProto model = ParseModelText(kLoopModel);
  ConvertOptions options;
  options.keep_io_types = true;
  options.node_location_block_list = {{"0/body", 2}};
  ASSERT_OK_AND_ASSIGN(ConvertResult result, ConvertFloatToFloat16(model, options));
  ASSERT_EQ(result.report.kept_nodes.size(), 1u);
  EXPECT_EQ(result.report.kept_nodes[0].location_graph, "0/body");
  EXPECT_EQ(result.report.kept_nodes[0].index, 2u);
  EXPECT_EQ(result.report.kept_nodes[0].reason, KeepReason::kNodeBlockList);
  EXPECT_THAT(result.report.kept_nodes[0].detail, HasSubstr("node_location_block_list"));

  options.node_location_block_list = {{"0/else_branch", 0}};
  EXPECT_THAT(ConvertFloatToFloat16(model, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'0/else_branch'")));
  options.node_location_block_list = {{"0/body", 4}};
  EXPECT_THAT(ConvertFloatToFloat16(model, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("it has 4 nodes")));
}

// y = x * (1/3): float16 rounding of x and of the constant gives an error E that the test
// measures first; a bound set just above E passes at the edge, and the default margin refuses
// that edge (the search then keeps the Mul in float32), while margin 0 accepts it.
TEST(SafetyMarginTest, RejectsACandidateThatValidatesOnlyAtTheEdge) {
  const onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[4] x) => (float[4] y) <float[1] c = {0.3333333}> {
      y = Mul(x, c)
    }
  )");
  const std::vector<TensorMap> feeds = {{{"x", Floats({4}, {0.7f, -1.3f, 2.9f, 5.1f})}}};
  MixedPrecisionOptions options;
  options.keep_io_types = true;
  options.atol = 1.0;
  options.rtol = 0.0;
  options.safety_margin = 0;
  ASSERT_OK_AND_ASSIGN(MixedPrecisionResult whole, AutoConvertMixedPrecision(model, feeds, options));
  ASSERT_THAT(SearchKept(whole.report), IsEmpty());
  const double error = whole.report.output_errors.at(0).max_abs_error;
  ASSERT_GT(error, 0);

  options.atol = error / 0.9;  // the whole float16 model sits at 90% of the bound
  ASSERT_OK_AND_ASSIGN(MixedPrecisionResult edge, AutoConvertMixedPrecision(model, feeds, options));
  EXPECT_THAT(SearchKept(edge.report), IsEmpty());

  options.safety_margin = MixedPrecisionOptions().safety_margin;
  ASSERT_GT(options.safety_margin, 0.1);
  ASSERT_OK_AND_ASSIGN(MixedPrecisionResult safe, AutoConvertMixedPrecision(model, feeds, options));
  EXPECT_THAT(SearchKept(safe.report), ElementsAre(Pair("", 0)));
  EXPECT_LE(safe.report.output_errors.at(0).max_abs_error,
            error / 0.9 * (1 - options.safety_margin));

  options.safety_margin = 1.0;
  EXPECT_THAT(AutoConvertMixedPrecision(model, feeds, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("safety_margin")));
}

// Conv + BatchNormalization: ONNX Runtime's CPU provider folds the BatchNormalization into the
// float16 weight (1.0009765625 * 3 rounds to 3.00390625), the evaluator's default model rounds
// the Conv's and the BatchNormalization's results instead; with x = 1024 the two land on either
// side of float32's 3074.98. A bound between their errors passes the default model only: the
// check must catch it, and the search must then keep a node in float32.
TEST(OnnxRuntimeCpuCheckTest, ACandidateGoodOnlyInTheDefaultModelIsRejected) {
  const onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[1, 1, 1, 1] x) => (float[1, 1, 1, 1] y)
      <float[1, 1, 1, 1] w = {1.0009765625}, float[1] s = {3}, float[1] b = {0},
       float[1] m = {0}, float[1] v = {1}> {
      c = Conv(x, w)
      y = BatchNormalization(c, s, b, m, v)
    }
  )");
  const std::vector<TensorMap> feeds = {{{"x", Floats({1, 1, 1, 1}, {1024})}}};
  ConvertOptions plain;
  plain.keep_io_types = true;
  ASSERT_OK_AND_ASSIGN(ConvertResult converted, ConvertFloatToFloat16(model, plain));
  auto error_of = [&](const onnx::ModelProto& m, Float16Model how) {
    ReferenceEvaluatorOptions options;
    options.float16_model = how;
    ReferenceEvaluator evaluator(options);
    absl::StatusOr<TensorMap> reference = ReferenceEvaluator().Run(model, feeds[0]);
    absl::StatusOr<TensorMap> out = evaluator.Run(m, feeds[0]);
    EXPECT_OK(reference.status());
    EXPECT_OK(out.status());
    if (!reference.ok() || !out.ok()) return 0.0;
    return std::fabs(double{out->at("y").data<float>()[0]} - reference->at("y").data<float>()[0]);
  };
  const double default_error = error_of(converted.model, Float16Model::kRoundEveryOp);
  const double ort_error = error_of(converted.model, Float16Model::kOnnxRuntimeCpu);
  ASSERT_LT(default_error, ort_error);

  MixedPrecisionOptions options;
  options.keep_io_types = true;
  options.rtol = 0.0;
  options.atol = (default_error + ort_error) / 2;
  options.safety_margin = 0;
  options.check_onnx_runtime_cpu = false;
  ASSERT_OK_AND_ASSIGN(MixedPrecisionResult unchecked,
                       AutoConvertMixedPrecision(model, feeds, options));
  EXPECT_THAT(SearchKept(unchecked.report), IsEmpty());

  options.check_onnx_runtime_cpu = true;
  ASSERT_OK_AND_ASSIGN(MixedPrecisionResult checked,
                       AutoConvertMixedPrecision(model, feeds, options));
  EXPECT_FALSE(SearchKept(checked.report).empty());
  EXPECT_LE(error_of(checked.model, Float16Model::kOnnxRuntimeCpu), *options.atol);
  EXPECT_LE(error_of(checked.model, Float16Model::kRoundEveryOp), *options.atol);
}

// A bound on retained bytes below what the reference needs still finds the answer (the search
// ranks in graph order and re-evaluates whole models), and the report gives the peak kept.
TEST(RetainedBytesTest, ATinyBoundStillFindsTheAnswer) {
  const onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[4] x) => (float[4] y) <float[1] k = {1000.0}, float[1] m = {1000000.0}> {
      a = Mul(x, k)
      b = Mul(a, k)
      y = Div(b, m)
    }
  )");
  const std::vector<TensorMap> feeds = {{{"x", kX}}};
  MixedPrecisionOptions options = Tolerant(SearchStrategy::kErrorGuided);
  ASSERT_OK_AND_ASSIGN(MixedPrecisionResult unbounded,
                       AutoConvertMixedPrecision(model, feeds, options));
  EXPECT_GT(unbounded.report.peak_retained_bytes, 0);

  options.max_retained_bytes = 8;
  ASSERT_OK_AND_ASSIGN(MixedPrecisionResult bounded,
                       AutoConvertMixedPrecision(model, feeds, options));
  EXPECT_EQ(SearchKept(bounded.report), SearchKept(unbounded.report));
  EXPECT_THAT(SearchKept(bounded.report), ElementsAre(Pair("", 1), Pair("", 2)));
  EXPECT_LE(bounded.report.peak_retained_bytes, 8);  // what was kept between evaluations

  options.max_retained_bytes = -1;
  EXPECT_THAT(AutoConvertMixedPrecision(model, feeds, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_retained_bytes")));
}

}  // namespace
}  // namespace halfcast
