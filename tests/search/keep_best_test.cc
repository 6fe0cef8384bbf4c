// keep_best (the best candidate when a limit stops the search) and the selection lists
// (node/op block and include lists) as the search sees them.
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "halfcast/mixed_precision.h"
#include "halfcast/model_io.h"
#include "testing/onnx_text.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace halfcast {
namespace {

using ::halfcast::testing::ParseModelText;
using ::halfcast::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

Tensor Floats(std::vector<float> values) {
  return Tensor::Copy(DataType::kFloat, {static_cast<int64_t>(values.size())}, values.data());
}

// x*1000*1000/1e6: b (up to 1e6) overflows float16, so nodes b and y must stay float32.
onnx::ModelProto OverflowChain() {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[4] x) => (float[4] y) <float[1] k = {1000.0}, float[1] m = {1000000.0}> {
      a = Mul(x, k)
      b = Mul(a, k)
      y = Div(b, m)
    })");
  for (onnx::NodeProto& node : *model.mutable_graph()->mutable_node()) {
    node.set_name(node.output(0));
  }
  return model;
}

const std::vector<TensorMap> kFeeds = {{{"x", Floats({0.5f, -0.25f, 0.125f, 1.0f})}}};

MixedPrecisionOptions Options(SearchStrategy strategy) {
  MixedPrecisionOptions options;
  options.rtol = 0.01;
  options.atol = 0.001;
  options.strategy = strategy;
  return options;
}

std::vector<std::string> Kept(const MixedPrecisionReport& report) {
  std::vector<std::string> kept;
  for (const KeptNode& node : report.conversion.kept_nodes) {
    kept.push_back(node.name + ":" + KeepReasonName(node.reason));
  }
  return kept;
}

// Bisect's first attempt converts every node and fails (b overflows): with a budget of two
// evaluations (the float32 reference and that attempt) the best is that failed candidate.
TEST(KeepBestTest, ReturnsTheSmallestErrorMarkedNotValidated) {
  MixedPrecisionOptions options = Options(SearchStrategy::kBisect);
  options.max_evaluations = 2;
  EXPECT_THAT(AutoConvertMixedPrecision(OverflowChain(), kFeeds, options),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("max_evaluations")));
  options.keep_best = true;
  ASSERT_OK_AND_ASSIGN(MixedPrecisionResult result,
                       AutoConvertMixedPrecision(OverflowChain(), kFeeds, options));
  EXPECT_FALSE(result.report.validated);
  EXPECT_THAT(result.report.stopped, HasSubstr("max_evaluations (2)"));
  EXPECT_EQ(result.report.evaluations, 2);
  EXPECT_THAT(result.report.conversion.kept_nodes, IsEmpty());
  ASSERT_EQ(result.report.output_errors.size(), 1u);
  EXPECT_GT(result.report.output_errors[0].max_abs_error, 0.01);  // it really fails the bound
  EXPECT_EQ(result.model.graph().node_size(), 3);
  const std::string json = MixedPrecisionReportToJson(result.report);
  EXPECT_THAT(json, HasSubstr("\"validated\":false,\"stopped\":\"mixed-precision search reached "
                              "max_evaluations (2)"));
}

// Whatever the strategy had reached, a validated best is one that keeps the bound.
TEST(KeepBestTest, AValidatedBestKeepsTheBound) {
  for (SearchStrategy strategy : {SearchStrategy::kErrorGuided, SearchStrategy::kBisect}) {
    for (int64_t limit : {3, 4}) {
      MixedPrecisionOptions options = Options(strategy);
      options.max_evaluations = limit;
      options.keep_best = true;
      ASSERT_OK_AND_ASSIGN(MixedPrecisionResult result,
                           AutoConvertMixedPrecision(OverflowChain(), kFeeds, options));
      ASSERT_EQ(result.report.output_errors.size(), 1u);
      const double error = result.report.output_errors[0].max_abs_error;
      if (result.report.validated) {
        EXPECT_LT(error, 0.0111) << limit;  // atol + rtol * |y|, |y| <= 1
        EXPECT_THAT(Kept(result.report), ::testing::Contains("b:search")) << limit;
      }
      if (result.report.stopped.empty()) {
        EXPECT_TRUE(result.report.validated);
      } else {
        EXPECT_THAT(result.report.stopped, HasSubstr("max_evaluations")) << limit;
      }
    }
  }
}

// A search that ends on its own is unaffected by keep_best.
TEST(KeepBestTest, ACompleteSearchIsNotMarked) {
  MixedPrecisionOptions options = Options(SearchStrategy::kErrorGuided);
  options.keep_best = true;
  ASSERT_OK_AND_ASSIGN(MixedPrecisionResult result,
                       AutoConvertMixedPrecision(OverflowChain(), kFeeds, options));
  EXPECT_TRUE(result.report.validated);
  EXPECT_EQ(result.report.stopped, "");
  EXPECT_THAT(Kept(result.report), ElementsAre("b:search", "y:search"));
}

// Stopped before any candidate was tried there is nothing to keep: the limit's error stays.
TEST(KeepBestTest, NothingTriedIsStillAnError) {
  MixedPrecisionOptions options = Options(SearchStrategy::kBisect);
  options.max_evaluations = 1;
  options.keep_best = true;
  EXPECT_THAT(AutoConvertMixedPrecision(OverflowChain(), kFeeds, options),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("max_evaluations")));
  options.max_evaluations = 0;
  options.time_limit_seconds = 1e-9;
  EXPECT_THAT(AutoConvertMixedPrecision(OverflowChain(), kFeeds, options),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("time limit")));
}

TEST(KeepBestTest, TheFileVariantWritesTheBest) {
  ::halfcast::testing::TempDir dir;
  ASSERT_OK(SaveModel(OverflowChain(), dir.File("in.onnx")));
  MixedPrecisionOptions options = Options(SearchStrategy::kBisect);
  options.max_evaluations = 2;
  options.keep_best = true;
  ASSERT_OK_AND_ASSIGN(
      MixedPrecisionReport report,
      AutoConvertMixedPrecisionFile(dir.File("in.onnx"), dir.File("out.onnx"), kFeeds, options));
  EXPECT_FALSE(report.validated);
  EXPECT_THAT(report.stopped, HasSubstr("max_evaluations"));
  ASSERT_OK_AND_ASSIGN(onnx::ModelProto written, LoadModel(dir.File("out.onnx")));
  EXPECT_EQ(written.graph().input(0).type().tensor_type().elem_type(),
            static_cast<int>(DataType::kFloat16));
}

// A node forced to 16 bits is never kept by the search: here the overflowing one, so nothing
// validates.
TEST(SearchSelectionListsTest, NodeIncludeListIsNeverKeptFloat32) {
  MixedPrecisionOptions options = Options(SearchStrategy::kErrorGuided);
  options.node_include_list = {"b"};
  EXPECT_THAT(AutoConvertMixedPrecision(OverflowChain(), kFeeds, options),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no candidate")));
}

TEST(SearchSelectionListsTest, BlockListsKeepTheirReasonAndPatternsWork) {
  MixedPrecisionOptions options = Options(SearchStrategy::kErrorGuided);
  options.node_block_list = {"[a]"};
  options.op_include_list = {"Di.*"};  // wins over no block list: the search still keeps y
  ASSERT_OK_AND_ASSIGN(MixedPrecisionResult result,
                       AutoConvertMixedPrecision(OverflowChain(), kFeeds, options));
  EXPECT_THAT(Kept(result.report), ElementsAre("a:node_block_list", "b:search", "y:search"));
  EXPECT_THAT(result.report.conversion.unmatched, IsEmpty());
}

TEST(SearchSelectionListsTest, UnmatchedEntriesAreReportedOrWithStrictAnError) {
  MixedPrecisionOptions options = Options(SearchStrategy::kErrorGuided);
  options.node_block_list = {"nope"};
  ASSERT_OK_AND_ASSIGN(MixedPrecisionResult result,
                       AutoConvertMixedPrecision(OverflowChain(), kFeeds, options));
  ASSERT_EQ(result.report.conversion.unmatched.size(), 1u);
  EXPECT_EQ(result.report.conversion.unmatched[0].entry, "nope");
  options.strict_lists = true;
  EXPECT_THAT(AutoConvertMixedPrecision(OverflowChain(), kFeeds, options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("node_block_list: 'nope' matches no node name")));
}

}  // namespace
}  // namespace halfcast
