// The selection lists: op/node block and include lists with names and patterns, their
// precedence, and entries that match nothing (warnings, or errors with strict_lists).
#include <string>
#include <vector>

#include "convert/check_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "halfcast/convert.h"
#include "testing/onnx_text.h"
#include "testing/status_matchers.h"

namespace halfcast {
namespace {

using ::halfcast::testing::CheckConverted;
using ::halfcast::testing::ParseModelText;
using ::halfcast::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Names every node after its first output (onnx 1.12's text syntax has no node names).
void NameNodes(onnx::GraphProto* graph) {
  for (onnx::NodeProto& node : *graph->mutable_node()) {
    node.set_name(node.output(0));
    for (onnx::AttributeProto& attr : *node.mutable_attribute()) {
      if (attr.has_g()) NameNodes(attr.mutable_g());
    }
  }
}

onnx::ModelProto Named(const char* text) {
  onnx::ModelProto model = ParseModelText(text);
  NameNodes(model.mutable_graph());
  return model;
}

// Four named nodes; Max is in the default op block list.
onnx::ModelProto Model() {
  return Named(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[4] x) => (float[4] head) {
      conv2d_1 = Relu(x)
      conv2d_2 = Relu(conv2d_1)
      max_0 = Max(conv2d_2, x)
      head = Sigmoid(max_0)
    })");
}

ConvertResult Convert(const ConvertOptions& options, const onnx::ModelProto& model = Model()) {
  absl::StatusOr<ConvertResult> result = ConvertFloatToFloat16(model, options);
  EXPECT_OK(result.status());
  if (!result.ok()) return {};
  EXPECT_OK(CheckConverted(result->model));
  return *std::move(result);
}

// "name:reason" of each kept node, in report order.
std::vector<std::string> Kept(const ConvertReport& report) {
  std::vector<std::string> kept;
  for (const KeptNode& node : report.kept_nodes) {
    kept.push_back(node.name + ":" + KeepReasonName(node.reason));
  }
  return kept;
}

std::vector<std::string> Unmatched(const ConvertReport& report) {
  std::vector<std::string> entries;
  for (const UnmatchedEntry& entry : report.unmatched) {
    entries.push_back(entry.list + "=" + entry.entry);
  }
  return entries;
}

TEST(SelectionListsTest, NodeBlockListTakesPatterns) {
  ConvertOptions options;
  options.node_block_list = {"conv2d_.*"};
  const ConvertResult result = Convert(options);
  EXPECT_THAT(Kept(result.report), ElementsAre("conv2d_1:node_block_list",
                                               "conv2d_2:node_block_list", "max_0:op_block_list"));
  EXPECT_THAT(result.report.kept_nodes[0].detail, HasSubstr("matches node_block_list"));
  EXPECT_THAT(result.report.unmatched, IsEmpty());
}

TEST(SelectionListsTest, ExactNamesStillWork) {
  ConvertOptions options;
  options.node_block_list = {"conv2d_2"};
  EXPECT_THAT(Kept(Convert(options).report),
              ElementsAre("conv2d_2:node_block_list", "max_0:op_block_list"));
}

TEST(SelectionListsTest, OpBlockListTakesPatterns) {
  ConvertOptions options;
  options.op_block_list = {"Re.*|Sigmoid"};
  EXPECT_THAT(
      Kept(Convert(options).report),
      ElementsAre("conv2d_1:op_block_list", "conv2d_2:op_block_list", "head:op_block_list"));
}

TEST(SelectionListsTest, OpIncludeListWinsOverTheDefaultBlockList) {
  ConvertOptions options;
  options.op_include_list = {"M(in|ax)"};
  const ConvertResult result = Convert(options);
  EXPECT_THAT(result.report.kept_nodes, IsEmpty());
  EXPECT_EQ(result.report.nodes_converted, 4);
  EXPECT_THAT(result.report.unmatched, IsEmpty());
}

TEST(SelectionListsTest, NodeIncludeListWinsOverEveryBlockList) {
  ConvertOptions options;
  options.op_block_list = {"Relu", "Max"};
  options.node_block_list = {"conv2d_1", "max_0"};
  options.node_index_block_list = {1};  // conv2d_2
  options.node_include_list = {"conv2d_.*", "max_0"};
  const ConvertResult result = Convert(options);
  EXPECT_THAT(result.report.kept_nodes, IsEmpty());
  // The block lists matched nodes, so none of their entries is reported.
  EXPECT_THAT(result.report.unmatched, IsEmpty());
}

TEST(SelectionListsTest, NodeBlockListWinsOverOpIncludeList) {
  ConvertOptions options;
  options.op_include_list = {"Relu"};
  options.node_block_list = {"conv2d_1"};
  EXPECT_THAT(Kept(Convert(options).report),
              ElementsAre("conv2d_1:node_block_list", "max_0:op_block_list"));
}

// Sin-7 allows float16 but not bfloat16: no list can change what the schema says.
TEST(SelectionListsTest, AnIncludeListCannotOverrideTheSchema) {
  const onnx::ModelProto model = Named(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[4] x) => (float[4] y) {
      sin_0 = Sin(x)
      y = Relu(sin_0)
    })");
  ConvertOptions options;
  options.target = TargetType::kBFloat16;
  options.node_include_list = {"sin_0"};
  const ConvertResult result = Convert(options, model);
  ASSERT_THAT(Kept(result.report), ElementsAre("sin_0:schema"));
  EXPECT_THAT(result.report.kept_nodes[0].detail,
              HasSubstr("excludes bfloat16 (node_include_list cannot make it 16-bit)"));
}

TEST(SelectionListsTest, EntriesThatMatchNothingAreReportedAndLogged) {
  ConvertOptions options;
  options.op_block_list = DefaultOpBlockList();  // its entries are exempt
  options.op_block_list.push_back("NotAnOp");
  options.node_block_list = {"doesnotexist", "conv2d_1"};
  options.op_include_list = {"Conv.*"};
  options.node_include_list = {"head", "tail"};
  options.fp16_ops = {"com.example:MyGelu"};
  std::vector<std::string> warnings;
  options.log = [&](LogLevel level, std::string_view message) {
    if (level == LogLevel::kWarning) warnings.emplace_back(message);
  };
  const ConvertResult result = Convert(options);
  EXPECT_THAT(
      Unmatched(result.report),
      ElementsAre("op_block_list=NotAnOp", "node_block_list=doesnotexist", "op_include_list=Conv.*",
                  "node_include_list=tail", "fp16_ops=com.example:MyGelu"));
  EXPECT_THAT(warnings, ElementsAre("op_block_list: 'NotAnOp' matches no op of the model",
                                    "node_block_list: 'doesnotexist' matches no node name",
                                    "op_include_list: 'Conv.*' matches no op of the model",
                                    "node_include_list: 'tail' matches no node name",
                                    "fp16_ops: 'com.example:MyGelu' matches no op of the model"));
  EXPECT_THAT(ReportToJson(result.report),
              HasSubstr("\"unmatched\":[{\"list\":\"op_block_list\",\"entry\":\"NotAnOp\"},"));
}

TEST(SelectionListsTest, StrictListsMakeAnUnmatchedEntryAnError) {
  ConvertOptions options;
  options.strict_lists = true;
  options.node_block_list = {"conv2d_1"};
  EXPECT_OK(ConvertFloatToFloat16(Model(), options).status());
  options.node_block_list = {"conv2d_1", "conv2d_9"};
  EXPECT_THAT(ConvertFloatToFloat16(Model(), options).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("node_block_list: 'conv2d_9' matches no node name")));
}

TEST(SelectionListsTest, AnInvalidPatternIsAnError) {
  ConvertOptions options;
  options.op_include_list = {"Conv("};
  EXPECT_THAT(ConvertFloatToFloat16(Model(), options).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("op_include_list: 'Conv(' is not a valid pattern")));
}

TEST(SelectionListsTest, NodeListsMatchNodesInSubgraphs) {
  const onnx::ModelProto model = Named(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[4] x, bool c) => (float[4] y) {
      y = If (c) <
        then_branch = t () => (float[4] inner_relu) { inner_relu = Relu(x) },
        else_branch = e () => (float[4] inner_sigmoid) { inner_sigmoid = Sigmoid(x) }>
    })");
  ConvertOptions options;
  options.node_block_list = {"inner_.*"};
  const ConvertResult result = Convert(options, model);
  EXPECT_THAT(Kept(result.report),
              ElementsAre("inner_relu:node_block_list", "inner_sigmoid:node_block_list"));
}

}  // namespace
}  // namespace halfcast
