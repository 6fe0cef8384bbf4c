// End to end: the converter, the reference evaluator and both strategies on graphs whose answer
// is known.
#include "halfcast/mixed_precision.h"

#include <cmath>
#include <limits>
#include <new>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "halfcast/model_io.h"
#include "testing/onnx_text.h"
#include "numerics/float16.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace halfcast {
namespace {

using ::halfcast::testing::ParseModelText;
using ::halfcast::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

Tensor Floats(std::vector<float> values) {
  return Tensor::Copy(DataType::kFloat, {static_cast<int64_t>(values.size())}, values.data());
}

// x*1000*1000/1e6: the middle value (up to 1e6) overflows float16's 65504, so the second Mul
// (node 1) must compute in float32 and the Div (node 2) must read it in float32; the first Mul
// (node 0, values up to 1000) converts.
constexpr char kOverflowChain[] = R"(
  <ir_version: 8, opset_import: ["" : 17]>
  g (float[4] x) => (float[4] y) <float[1] k = {1000.0}, float[1] m = {1000000.0}> {
    a = Mul(x, k)
    b = Mul(a, k)
    y = Div(b, m)
  }
)";

const std::vector<TensorMap> kChainFeeds = {{{"x", Floats({0.5f, -0.25f, 0.125f, 1.0f})}}};

// Six independent outputs o_i = x * c_i; each node's float16 rounding shows in its own output.
// Each has its own constant: one shared with a converted node would be stored in float16.
constexpr char kSixBranches[] = R"(
  <ir_version: 8, opset_import: ["" : 17]>
  g (float[3] x) => (float[3] o0, float[3] o1, float[3] o2, float[3] o3, float[3] o4,
                     float[3] o5)
    <float[1] c0 = {0.3333333}, float[1] c1 = {0.3333333}, float[1] c2 = {0.3333333},
     float[1] c3 = {0.3333333}, float[1] c4 = {0.3333333}, float[1] c5 = {0.3333333}> {
    o0 = Mul(x, c0)
    o1 = Mul(x, c1)
    o2 = Mul(x, c2)
    o3 = Mul(x, c3)
    o4 = Mul(x, c4)
    o5 = Mul(x, c5)
  }
)";

std::set<std::size_t> SearchKept(const MixedPrecisionReport& report) {
  std::set<std::size_t> kept;
  for (const KeptNode& node : report.conversion.kept_nodes) {
    if (node.graph.empty() && node.reason == KeepReason::kSearch) kept.insert(node.index);
  }
  return kept;
}

// Runs the converted model (inputs of the float32 feed, rounded when the model takes float16)
// and checks allclose against the float32 model.
void ExpectCloseToFloat32(const onnx::ModelProto& original, const onnx::ModelProto& converted,
                          const TensorMap& feed, double rtol, double atol) {
  ReferenceEvaluator evaluator;
  ASSERT_OK_AND_ASSIGN(TensorMap reference, evaluator.Run(original, feed));
  TensorMap converted_feed;
  for (const auto& input : converted.graph().input()) {
    const Tensor& x = feed.at(input.name());
    if (input.type().tensor_type().elem_type() == static_cast<int>(DataType::kFloat16)) {
      Tensor half = Tensor::Zeros(DataType::kFloat16, x.shape());
      for (int64_t i = 0; i < x.element_count(); ++i) {
        half.mutable_data<uint16_t>()[i] = numerics::FloatToHalf(x.data<float>()[i]);
      }
      converted_feed[input.name()] = half;
    } else {
      converted_feed[input.name()] = x;
    }
  }
  ASSERT_OK_AND_ASSIGN(TensorMap outputs, evaluator.Run(converted, converted_feed));
  for (const auto& [name, ref] : reference) {
    const Tensor& out = outputs.at(name);
    for (int64_t i = 0; i < ref.element_count(); ++i) {
      const double b = ref.data<float>()[i];
      const double a = out.type() == DataType::kFloat16
                           ? numerics::HalfToFloat(out.data<uint16_t>()[i])
                           : out.data<float>()[i];
      EXPECT_LE(std::fabs(a - b), atol + rtol * std::fabs(b)) << name << "[" << i << "]";
    }
  }
}

class StrategyTest : public ::testing::TestWithParam<SearchStrategy> {};

TEST_P(StrategyTest, KeepsExactlyTheOverflowingPart) {
  const onnx::ModelProto model = ParseModelText(kOverflowChain);
  for (bool keep_io_types : {true, false}) {
    MixedPrecisionOptions options;
    options.rtol = 0.01;
    options.atol = 0.001;
    options.keep_io_types = keep_io_types;
    options.strategy = GetParam();
    ASSERT_OK_AND_ASSIGN(MixedPrecisionResult result,
                         AutoConvertMixedPrecision(model, kChainFeeds, options));
    EXPECT_THAT(SearchKept(result.report), ElementsAre(1, 2));
    ExpectCloseToFloat32(model, result.model, kChainFeeds[0], 0.01, 0.001);
    ASSERT_EQ(result.report.output_errors.size(), 1u);
    EXPECT_EQ(result.report.output_errors[0].name, "y");
    EXPECT_LT(result.report.output_errors[0].max_abs_error, 0.01);
    EXPECT_GT(result.report.evaluations, 1);
  }
}

// The overflow chain with its nodes written out of order (ONNX Runtime accepts such graphs):
// the search works on the sorted graph, so it keeps the same nodes, at their sorted positions.
TEST_P(StrategyTest, NodesOutOfOrderAreSearchedSorted) {
  const onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[4] x) => (float[4] y) <float[1] k = {1000.0}, float[1] m = {1000000.0}> {
      y = Div(b, m)
      b = Mul(a, k)
      a = Mul(x, k)
    })");
  MixedPrecisionOptions options;
  options.rtol = 0.01;
  options.atol = 0.001;
  options.strategy = GetParam();
  ASSERT_OK_AND_ASSIGN(MixedPrecisionResult result,
                       AutoConvertMixedPrecision(model, kChainFeeds, options));
  EXPECT_THAT(SearchKept(result.report), ElementsAre(1, 2));  // unsorted: Div was node 0
  ExpectCloseToFloat32(model, result.model, kChainFeeds[0], 0.01, 0.001);
}

TEST_P(StrategyTest, ATimeLimitEndsTheSearch) {
  const onnx::ModelProto model = ParseModelText(kOverflowChain);
  MixedPrecisionOptions options;
  options.rtol = 0.01;
  options.atol = 0.001;
  options.strategy = GetParam();
  // Passed before the first candidate: the float32 reference alone takes longer.
  options.time_limit_seconds = 1e-9;
  EXPECT_THAT(AutoConvertMixedPrecision(model, kChainFeeds, options),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("time limit")));
  options.time_limit_seconds = -1;
  EXPECT_THAT(AutoConvertMixedPrecision(model, kChainFeeds, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("time_limit_seconds")));
  options.time_limit_seconds = 600;
  EXPECT_OK(AutoConvertMixedPrecision(model, kChainFeeds, options).status());
}

TEST_P(StrategyTest, ValidateFnRejectingKnownNodes) {
  onnx::ModelProto model = ParseModelText(kSixBranches);
  // Nodes named alike or not at all: positions identify them.
  model.mutable_graph()->mutable_node(0)->set_name("same");
  model.mutable_graph()->mutable_node(3)->set_name("same");
  MixedPrecisionOptions options;
  options.keep_io_types = true;
  options.strategy = GetParam();
  options.validate_fn = [](const TensorMap& reference, const TensorMap& candidate) {
    for (const char* name : {"o2", "o4"}) {
      const Tensor& r = reference.at(name);
      const Tensor& c = candidate.at(name);
      for (int64_t i = 0; i < r.element_count(); ++i) {
        if (r.data<float>()[i] != c.data<float>()[i]) return false;
      }
    }
    return true;
  };
  const std::vector<TensorMap> feeds = {{{"x", Floats({0.1234567f, -3.456789f, 7.654321f})}}};
  ASSERT_OK_AND_ASSIGN(MixedPrecisionResult result,
                       AutoConvertMixedPrecision(model, feeds, options));
  EXPECT_THAT(SearchKept(result.report), ElementsAre(2, 4));
}

TEST_P(StrategyTest, EverythingConvertsWhenTolerant) {
  const onnx::ModelProto model = ParseModelText(kSixBranches);
  MixedPrecisionOptions options;
  options.atol = 0.01;
  options.strategy = GetParam();
  const std::vector<TensorMap> feeds = {{{"x", Floats({0.5f, 1, 2})}},
                                        {{"x", Floats({-1, 0, 3})}}};
  ASSERT_OK_AND_ASSIGN(MixedPrecisionResult result,
                       AutoConvertMixedPrecision(model, feeds, options));
  EXPECT_THAT(SearchKept(result.report), IsEmpty());
  EXPECT_EQ(result.model.graph().input(0).type().tensor_type().elem_type(),
            static_cast<int>(DataType::kFloat16));
  // The reference plus one attempt for error-guided; bisect also re-runs the final model.
  EXPECT_EQ(result.report.evaluations, GetParam() == SearchStrategy::kBisect ? 3 : 2);
}

TEST_P(StrategyTest, NothingValidatesReportsSmallestError) {
  // Feeds beyond float16's range become inf when the model takes float16 inputs.
  const onnx::ModelProto model = ParseModelText(kOverflowChain);
  MixedPrecisionOptions options;
  options.rtol = 0.01;
  options.strategy = GetParam();
  const std::vector<TensorMap> feeds = {{{"x", Floats({1e5f, 1, 1, 1})}}};
  EXPECT_THAT(AutoConvertMixedPrecision(model, feeds, options),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("smallest error"), HasSubstr("output 'y'"))));
}

TEST_P(StrategyTest, ProgressCancelAndLimit) {
  const onnx::ModelProto model = ParseModelText(kOverflowChain);
  MixedPrecisionOptions options;
  options.rtol = 0.01;
  options.atol = 0.001;
  options.strategy = GetParam();
  std::vector<std::string> seen;
  options.progress = [&](const SearchProgress& progress) {
    seen.push_back(FormatSegments(progress.segments));
    EXPECT_GE(progress.evaluations, 2);
    return true;
  };
  ASSERT_OK(AutoConvertMixedPrecision(model, kChainFeeds, options).status());
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back(), GetParam() == SearchStrategy::kBisect ? "[*1*, (1), (1)]"
                                                               : "[*1*, (2)]");

  options.progress = [](const SearchProgress&) { return false; };
  EXPECT_THAT(AutoConvertMixedPrecision(model, kChainFeeds, options),
              StatusIs(absl::StatusCode::kCancelled, HasSubstr("progress callback")));
  options.progress = nullptr;
  options.max_evaluations = 2;
  EXPECT_THAT(AutoConvertMixedPrecision(model, kChainFeeds, options),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("max_evaluations (2)")));
}

INSTANTIATE_TEST_SUITE_P(Both, StrategyTest,
                         ::testing::Values(SearchStrategy::kErrorGuided, SearchStrategy::kBisect),
                         [](const auto& info) {
                           return info.param == SearchStrategy::kBisect ? "Bisect" : "ErrorGuided";
                         });

TEST(ErrorGuidedTest, FewerEvaluationsThanBisect) {
  const onnx::ModelProto model = ParseModelText(kOverflowChain);
  MixedPrecisionOptions options;
  options.rtol = 0.01;
  options.atol = 0.001;
  ASSERT_OK_AND_ASSIGN(MixedPrecisionResult guided,
                       AutoConvertMixedPrecision(model, kChainFeeds, options));
  options.strategy = SearchStrategy::kBisect;
  ASSERT_OK_AND_ASSIGN(MixedPrecisionResult bisect,
                       AutoConvertMixedPrecision(model, kChainFeeds, options));
  EXPECT_LT(guided.report.evaluations, bisect.report.evaluations);
  EXPECT_LE(SearchKept(guided.report).size(), SearchKept(bisect.report).size());
}

// Wraps the reference evaluator, counting calls and checking what it is given.
class CountingEvaluator : public Evaluator {
 public:
  absl::StatusOr<TensorMap> Run(const onnx::ModelProto& model, const TensorMap& feeds,
                                const RunOptions& options) override {
    ++calls;
    if (options.precomputed != nullptr && !options.precomputed->empty()) ++incremental_calls;
    for (const auto& [name, tensor] : feeds) feed_types.insert(tensor.type());
    return inner.Run(model, feeds, options);
  }
  ReferenceEvaluator inner;
  int calls = 0;
  int incremental_calls = 0;
  std::set<DataType> feed_types;
};

TEST(CustomEvaluatorTest, EveryEvaluationGoesThroughIt) {
  const onnx::ModelProto model = ParseModelText(kOverflowChain);
  CountingEvaluator evaluator;
  MixedPrecisionOptions options;
  options.rtol = 0.01;
  options.atol = 0.001;
  options.evaluator = &evaluator;
  const std::vector<TensorMap> feeds = {kChainFeeds[0], {{"x", Floats({1, 2, 3, 4})}}};
  ASSERT_OK_AND_ASSIGN(MixedPrecisionResult result,
                       AutoConvertMixedPrecision(model, feeds, options));
  EXPECT_THAT(SearchKept(result.report), ElementsAre(1, 2));
  EXPECT_EQ(evaluator.calls, result.report.evaluations * 2);
  // Trying to convert the Div again reuses both Muls' values: nothing upstream changed.
  EXPECT_GT(evaluator.incremental_calls, 0);
  // The float32 reference gets float32 feeds, candidates taking float16 inputs float16 feeds.
  EXPECT_THAT(evaluator.feed_types, ElementsAre(DataType::kFloat, DataType::kFloat16));
}

TEST(CustomEvaluatorTest, EvaluatorErrorsStopTheSearch) {
  class Failing : public Evaluator {
   public:
    absl::StatusOr<TensorMap> Run(const onnx::ModelProto&, const TensorMap&,
                                  const RunOptions&) override {
      return absl::UnavailableError("no GPU");
    }
  } failing;
  MixedPrecisionOptions options;
  options.rtol = 0.01;
  options.evaluator = &failing;
  EXPECT_THAT(AutoConvertMixedPrecision(ParseModelText(kOverflowChain), kChainFeeds, options),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("float32 model: no GPU")));
}

// Callbacks must not throw, but one that does stops the search with an error, not an unwind.
TEST(CustomEvaluatorTest, ThrowingCallbacksBecomeErrors) {
  class Throwing : public Evaluator {
   public:
    absl::StatusOr<TensorMap> Run(const onnx::ModelProto&, const TensorMap&,
                                  const RunOptions&) override {
      throw std::bad_alloc();
    }
  } throwing;
  MixedPrecisionOptions options;
  options.rtol = 0.01;
  options.evaluator = &throwing;
  EXPECT_THAT(AutoConvertMixedPrecision(ParseModelText(kOverflowChain), kChainFeeds, options),
              StatusIs(absl::StatusCode::kUnknown, HasSubstr("the evaluator threw an exception")));

  MixedPrecisionOptions with_progress;
  with_progress.rtol = 0.01;
  with_progress.progress = [](const SearchProgress&) -> bool { throw 42; };
  EXPECT_THAT(
      AutoConvertMixedPrecision(ParseModelText(kOverflowChain), kChainFeeds, with_progress),
      StatusIs(absl::StatusCode::kUnknown, HasSubstr("the progress callback threw")));
}

TEST(BadInputTest, ClearErrors) {
  const onnx::ModelProto model = ParseModelText(kOverflowChain);
  MixedPrecisionOptions options;
  EXPECT_THAT(AutoConvertMixedPrecision(model, kChainFeeds, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("rtol, atol or a validate_fn")));
  options.rtol = 0.01;
  EXPECT_THAT(AutoConvertMixedPrecision(model, {}, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at least one")));
  EXPECT_THAT(AutoConvertMixedPrecision(model, {{}}, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("input 'x'")));
  EXPECT_THAT(AutoConvertMixedPrecision(model, {{{"x", Floats({1, 2, 3})}}}, options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("'x'"), HasSubstr("shape [3]"), HasSubstr("[4]"))));
  const int64_t ints[] = {1, 2, 3, 4};
  EXPECT_THAT(AutoConvertMixedPrecision(
                  model, {{{"x", Tensor::Copy(DataType::kInt64, {4}, ints)}}}, options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("'x'"), HasSubstr("int64"))));
  EXPECT_THAT(AutoConvertMixedPrecision(
                  model, {kChainFeeds[0], {{"x", Floats({1, 2, 3, 4})}, {"z", Floats({1})}}},
                  options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("'z'"), HasSubstr("feed set 1"))));
  options.validate_fn = [](const TensorMap&, const TensorMap&) -> absl::StatusOr<bool> {
    return absl::InvalidArgumentError("my check failed");
  };
  EXPECT_THAT(AutoConvertMixedPrecision(model, kChainFeeds, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("my check failed")));
}

TEST(BadInputTest, Float32ModelMustValidateAgainstItself) {
  // 0/0 is NaN, and NaN never passes allclose.
  const onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2] x) => (float[2] y) { y = Div(x, x) }
  )");
  MixedPrecisionOptions options;
  options.atol = 0.1;
  EXPECT_THAT(AutoConvertMixedPrecision(model, {{{"x", Floats({0, 1})}}}, options),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("float32 model does not validate against itself")));
}

class FileTest : public ::testing::TestWithParam<bool> {};

TEST_P(FileTest, WritesTheSearchedModel) {
  const bool external = GetParam();
  ::halfcast::testing::TempDir dir;
  SaveOptions save;
  save.external_data = external;
  save.external_data_threshold = 1;
  ASSERT_OK(SaveModel(ParseModelText(kOverflowChain), dir.File("in.onnx"), save));
  MixedPrecisionOptions options;
  options.rtol = 0.01;
  options.atol = 0.001;
  ASSERT_OK_AND_ASSIGN(MixedPrecisionReport report,
                       AutoConvertMixedPrecisionFile(dir.File("in.onnx"), dir.File("out.onnx"),
                                                     kChainFeeds, options, save));
  EXPECT_THAT(SearchKept(report), ElementsAre(1, 2));
  ASSERT_OK_AND_ASSIGN(onnx::ModelProto written, LoadModel(dir.File("out.onnx")));
  ExpectCloseToFloat32(ParseModelText(kOverflowChain), written, kChainFeeds[0], 0.01, 0.001);
}

TEST_P(FileTest, NothingWrittenOnError) {
  ::halfcast::testing::TempDir dir;
  SaveOptions save;
  save.external_data = GetParam();
  save.external_data_threshold = 1;
  ASSERT_OK(SaveModel(ParseModelText(kOverflowChain), dir.File("in.onnx"), save));
  MixedPrecisionOptions options;
  options.rtol = 0.01;
  EXPECT_THAT(AutoConvertMixedPrecisionFile(dir.File("in.onnx"), dir.File("out.onnx"),
                                            {{{"x", Floats({1})}}}, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("shape [1]")));
  EXPECT_THAT(AutoConvertMixedPrecisionFile(dir.File("missing.onnx"), dir.File("out.onnx"),
                                            kChainFeeds, options),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing.onnx")));
  EXPECT_EQ(::halfcast::testing::ReadFileBytes(dir.File("out.onnx")), "");
  const std::string input = ::halfcast::testing::ReadFileBytes(dir.File("in.onnx"));
  EXPECT_THAT(AutoConvertMixedPrecisionFile(dir.File("in.onnx"), dir.File("in.onnx"),
                                            kChainFeeds, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is the input file")));
  EXPECT_EQ(::halfcast::testing::ReadFileBytes(dir.File("in.onnx")), input);
}

TEST(ReportJsonTest, EscapesNamesAndWritesNullForNonFiniteErrors) {
  MixedPrecisionReport report;
  report.evaluations = 7;
  report.seconds = 0.25;
  report.output_errors.push_back({"out\"\x01", 0.5, std::numeric_limits<double>::infinity()});
  const std::string json = MixedPrecisionReportToJson(report);
  EXPECT_THAT(json, ::testing::StartsWith("{\"conversion\":{\"nodes_converted\":0,"));
  EXPECT_THAT(json, HasSubstr("\"evaluations\":7,\"seconds\":0.25,"));
  EXPECT_THAT(json, HasSubstr("\"output_errors\":[{\"name\":\"out\\\"\\u0001\","
                              "\"max_abs_error\":0.5,\"max_rel_error\":null}],"
                              "\"validated\":true,\"stopped\":null}"));
}

INSTANTIATE_TEST_SUITE_P(Storage, FileTest, ::testing::Bool(), [](const auto& info) {
  return info.param ? "ExternalData" : "Embedded";
});

}  // namespace
}  // namespace halfcast
