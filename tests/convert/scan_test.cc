// Scan bodies: converted with their parent, outer-scope captures included, Casts for a blocked
// node inside the body, checked by running both models in ONNX Runtime.
#include <map>
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
using ::halfcast::testing::CountOps;
using ::halfcast::testing::ElemTypeOf;
using ::halfcast::testing::FloatTensor;
using ::halfcast::testing::MaxAbsDiff;
using ::halfcast::testing::ParseModelText;
using ::halfcast::testing::RunInOrt;
using ::testing::HasSubstr;

constexpr int32_t kF32 = onnx::TensorProto::FLOAT;
constexpr int32_t kF16 = onnx::TensorProto::FLOAT16;

// A running sum over the rows of xs scaled by an outer-scope initializer `w`; each step also
// emits Max(sum, row), and Max is in the default op block list.
constexpr char kScanModel[] = R"(
  <ir_version: 8, opset_import: ["" : 16]>
  g (float[2] init, float[3, 2] xs) => (float[2] total, float[3, 2] ys) <float[1] w = {1.5}> {
    total, ys = Scan(init, xs) <num_scan_inputs = 1, body = b (float[2] acc, float[2] x)
        => (float[2] next, float[2] y) {
      t = Mul(x, w)
      next = Add(acc, t)
      y = Max(next, x)
    }>
  }
)";

// The body of the main graph's Scan node (nullptr if there is none).
const onnx::GraphProto* ScanBody(const onnx::ModelProto& model) {
  for (const onnx::NodeProto& node : model.graph().node()) {
    if (node.op_type() != "Scan") continue;
    for (const onnx::AttributeProto& attr : node.attribute()) {
      if (attr.name() == "body") return &attr.g();
    }
  }
  return nullptr;
}

TEST(ScanTest, BodyConvertsWithItsParentAndRunsInOrt) {
  const onnx::ModelProto model = ParseModelText(kScanModel);
  for (bool keep_io_types : {false, true}) {
    ConvertOptions options;
    options.keep_io_types = keep_io_types;
    ASSERT_OK_AND_ASSIGN(ConvertResult result, ConvertFloatToFloat16(model, options));
    EXPECT_OK(CheckConverted(result.model));
    const onnx::GraphProto& g = result.model.graph();
    const int32_t io_type = keep_io_types ? kF32 : kF16;
    EXPECT_EQ(ElemTypeOf(g, "init"), io_type);
    EXPECT_EQ(ElemTypeOf(g, "total"), io_type);
    EXPECT_EQ(ElemTypeOf(g, "ys"), io_type);

    // Max stays float32 inside the body, so its Casts are there too: next and x to float32 (one
    // each), and y back to float16 as the body's scan output.
    const onnx::GraphProto* scan_body = ScanBody(result.model);
    ASSERT_NE(scan_body, nullptr);
    const onnx::GraphProto& body = *scan_body;
    ASSERT_EQ(body.input_size(), 2);
    ASSERT_EQ(body.output_size(), 2);
    EXPECT_EQ(body.input(0).type().tensor_type().elem_type(), kF16);
    EXPECT_EQ(body.output(1).type().tensor_type().elem_type(), kF16);
    EXPECT_EQ(CountOps(body, "Cast"), 3);
    ASSERT_EQ(result.report.kept_nodes.size(), 1u);
    EXPECT_EQ(result.report.kept_nodes[0].op_type, "Max");
    EXPECT_THAT(result.report.kept_nodes[0].graph, HasSubstr("body"));

    const TensorMap feeds = {{"init", FloatTensor({2}, {0.25f, -4.0f})},
                             {"xs", FloatTensor({3, 2}, {1.0f, 2.0f, -3.0f, 0.5f, 8.0f, -1.0f})}};
    ASSERT_OK_AND_ASSIGN(auto outputs, RunInOrt({&model, &result.model}, feeds));
    for (const auto& [name, values] : outputs[0]) {
      ASSERT_TRUE(outputs[1].count(name)) << name;
      EXPECT_LE(MaxAbsDiff(values, outputs[1].at(name)), 1e-2f) << name;
    }
  }
}

}  // namespace
}  // namespace halfcast
