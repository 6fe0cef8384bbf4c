// Ops the linked onnx (1.12) does not know, typed by halfcast's tables: opsets newer than 17 and
// ONNX Runtime's com.microsoft ops convert like any other, and run in ONNX Runtime. Also what the
// report says about them: who typed each op, and the share of matrix-product work in 16 bits.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "convert/check_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "halfcast/convert.h"
#include "testing/onnx_text.h"
#include "testing/status_matchers.h"

namespace halfcast {
namespace {

using ::halfcast::testing::CountOps;
using ::halfcast::testing::ElemTypeOf;
using ::halfcast::testing::FloatTensor;
using ::halfcast::testing::MaxAbsDiff;
using ::halfcast::testing::ParseModelText;
using ::halfcast::testing::RunInOrt;
using ::halfcast::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int32_t kF32 = onnx::TensorProto::FLOAT;
constexpr int32_t kF16 = onnx::TensorProto::FLOAT16;

ConvertResult Convert(const onnx::ModelProto& model, const ConvertOptions& options = {}) {
  absl::StatusOr<ConvertResult> result = ConvertFloatToFloat16(model, options);
  EXPECT_OK(result.status());
  return result.ok() ? *std::move(result) : ConvertResult{};
}

const OpSourceCount* SourceOf(const ConvertReport& report, const std::string& domain,
                              const std::string& op_type) {
  for (const OpSourceCount& op : report.op_sources) {
    if (op.domain == domain && op.op_type == op_type) return &op;
  }
  return nullptr;
}

// Both models run in ONNX Runtime on `feeds`; every output of the converted one within
// `tolerance` of the original's.
void ExpectOrtClose(const onnx::ModelProto& original, const onnx::ModelProto& converted,
                    const TensorMap& feeds, float tolerance) {
  auto ort = RunInOrt({&original, &converted}, feeds);
  ASSERT_OK(ort.status());
  ASSERT_EQ((*ort)[0].size(), (*ort)[1].size());
  for (const auto& [name, values] : (*ort)[0]) {
    ASSERT_TRUE((*ort)[1].count(name)) << name;
    EXPECT_LE(MaxAbsDiff(values, (*ort)[1].at(name)), tolerance) << "output " << name;
  }
}

std::vector<float> Ramp(int n, float scale) {
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i) v[i] = scale * static_cast<float>((i * 7) % 11 - 5);
  return v;
}

TEST(TransformerOpsTest, GeluOfOpset20ConvertsWithoutCasts) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2,3] x) => (float[2,3] y) {
      h = Gelu <approximate: string = "tanh"> (x)
      y = Mul(h, x)
    })");
  model.mutable_opset_import(0)->set_version(20);
  model.set_ir_version(9);
  ConvertResult result = Convert(model);
  EXPECT_TRUE(result.report.kept_nodes.empty());
  EXPECT_EQ(CountOps(result.model.graph(), "Cast"), 0);
  EXPECT_EQ(ElemTypeOf(result.model.graph(), "y"), kF16);
  const OpSourceCount* gelu = SourceOf(result.report, "", "Gelu");
  ASSERT_NE(gelu, nullptr);
  EXPECT_EQ(gelu->source, "halfcast_table");
  EXPECT_EQ(gelu->since_version, 20);
  const OpSourceCount* mul = SourceOf(result.report, "", "Mul");
  ASSERT_NE(mul, nullptr);
  EXPECT_EQ(mul->source, "onnx");
  EXPECT_EQ(mul->since_version, 14);
  EXPECT_THAT(result.report.notes,
              ::testing::Contains(HasSubstr("halfcast's tables describe its ops up to opset")));
  ExpectOrtClose(model, result.model, {{"x", FloatTensor({2, 3}, Ramp(6, 0.5f))}}, 0.01f);
}

TEST(TransformerOpsTest, NewerVersionsOfKnownOpsComeFromTheTable) {
  // Split-18 takes num_outputs, which Split-13 (onnx 1.12's newest) does not know.
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[4] x) => (float[2] a, float[2] b) {
      a, b = Split <axis: int = 0, num_outputs: int = 2> (x)
    })");
  model.mutable_opset_import(0)->set_version(18);
  ConvertResult result = Convert(model, {});
  const OpSourceCount* split = SourceOf(result.report, "", "Split");
  ASSERT_NE(split, nullptr);
  EXPECT_EQ(split->source, "halfcast_table");
  EXPECT_EQ(split->since_version, 18);
  EXPECT_EQ(ElemTypeOf(result.model.graph(), "b"), kF16);
  ExpectOrtClose(model, result.model, {{"x", FloatTensor({4}, {1, 2, 3, 4})}}, 0.0f);
}

// ONNX Runtime's optimizer turns BERT/GPT-2 blocks into these; none may stay float32.
TEST(TransformerOpsTest, FusedContribOpsConvertAndRunInOnnxRuntime) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17, "com.microsoft" : 1]>
    g (float[2,4] x, float[2,4] skip) => (float[2,4] y, float[2,4] z) {
      h = com.microsoft.FusedMatMul <alpha: float = 0.5, transB: int = 1> (x, w)
      n = com.microsoft.SkipLayerNormalization <epsilon: float = 0.00001> (h, skip, gamma, beta)
      g1 = com.microsoft.BiasGelu(n, beta)
      y = com.microsoft.FastGelu(g1)
      z = com.microsoft.QuickGelu <alpha: float = 1.702> (y)
    })");
  auto add_initializer = [&](const std::string& name, std::vector<int64_t> dims,
                             std::vector<float> values) {
    onnx::TensorProto* t = model.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(kF32);
    for (int64_t d : dims) t->add_dims(d);
    for (float v : values) t->add_float_data(v);
  };
  add_initializer("w", {4, 4}, Ramp(16, 0.25f));
  add_initializer("gamma", {4}, {1.0f, 0.5f, 2.0f, 1.5f});
  add_initializer("beta", {4}, {0.1f, -0.2f, 0.3f, 0.0f});
  for (bool keep_io : {false, true}) {
    ConvertOptions options;
    options.keep_io_types = keep_io;
    ConvertResult result = Convert(model, options);
    EXPECT_TRUE(result.report.kept_nodes.empty()) << result.report.kept_nodes[0].detail;
    // Only the graph's boundary Casts (keep_io_types), none around the ops.
    EXPECT_EQ(CountOps(result.model.graph(), "Cast"), keep_io ? 4 : 0);
    for (const char* op : {"FusedMatMul", "SkipLayerNormalization", "BiasGelu", "FastGelu"}) {
      const OpSourceCount* source = SourceOf(result.report, "com.microsoft", op);
      ASSERT_NE(source, nullptr) << op;
      EXPECT_EQ(source->source, "halfcast_table") << op;
    }
    // FusedMatMul's weights: 4x4 multiply-adds per row, all in 16 bits.
    EXPECT_EQ(result.report.matmul_flops.total, 16);
    EXPECT_EQ(result.report.matmul_flops.in_16bit, 16);
    TensorMap feeds = {{"x", FloatTensor({2, 4}, Ramp(8, 0.3f))},
                       {"skip", FloatTensor({2, 4}, Ramp(8, -0.2f))}};
    ExpectOrtClose(model, result.model, feeds, 0.02f);
  }
}

TEST(TransformerOpsTest, FloatOnlyOutputsOfA16BitOpStayFloat32) {
  // SkipLayerNormalization's mean and inv_std_var are of type U = float whatever T is.
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17, "com.microsoft" : 1]>
    g (float[2,4] x, float[2,4] skip, float[4] gamma) => (float[2,4] y, float[2,1] m) {
      n, mean, inv = com.microsoft.SkipLayerNormalization (x, skip, gamma)
      y = Relu(n)
      m = Neg(mean)
    })");
  ConvertResult result = Convert(model, {});
  EXPECT_TRUE(result.report.kept_nodes.empty());
  const onnx::NodeProto* skip_ln = nullptr;
  for (const auto& node : result.model.graph().node()) {
    if (node.op_type() == "SkipLayerNormalization") skip_ln = &node;
  }
  ASSERT_NE(skip_ln, nullptr);
  // The float32 mean reaches the 16-bit Neg through one Cast to float16.
  const onnx::NodeProto* cast = testing::Producer(result.model.graph(), [&] {
    for (const auto& node : result.model.graph().node()) {
      if (node.op_type() == "Neg") return node.input(0);
    }
    return std::string();
  }());
  ASSERT_NE(cast, nullptr);
  EXPECT_EQ(cast->op_type(), "Cast");
  EXPECT_EQ(cast->input(0), skip_ln->output(1));
  EXPECT_EQ(CountOps(result.model.graph(), "Cast"), 1);
}

TEST(TransformerOpsTest, QuantizedWeightsStayAsTheyAreAndScalesFollow) {
  // MatMulNBits as ONNX Runtime GenAI's builder writes it: 4-bit packed weights and zero points
  // (uint8) stay untouched; the float scales and activations become float16.
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17, "com.microsoft" : 1]>
    g (float[2,16] x) => (float[2,4] y) {
      y = com.microsoft.MatMulNBits <K: int = 16, N: int = 4, bits: int = 4, block_size: int = 16>
          (x, b, scales, zeros)
    })");
  onnx::TensorProto* b = model.mutable_graph()->add_initializer();
  b->set_name("b");
  b->set_data_type(onnx::TensorProto::UINT8);
  for (int64_t d : {4, 1, 8}) b->add_dims(d);
  std::string packed;
  for (int i = 0; i < 32; ++i) packed.push_back(static_cast<char>((i * 37 + 11) & 0xff));
  b->set_raw_data(packed);
  onnx::TensorProto* scales = model.mutable_graph()->add_initializer();
  scales->set_name("scales");
  scales->set_data_type(kF32);
  scales->add_dims(4);
  for (float v : {0.05f, 0.1f, 0.02f, 0.07f}) scales->add_float_data(v);
  onnx::TensorProto* zeros = model.mutable_graph()->add_initializer();
  zeros->set_name("zeros");
  zeros->set_data_type(onnx::TensorProto::UINT8);
  zeros->add_dims(4);  // one byte per column: N * ceil(blocks * bits / 8)
  zeros->set_raw_data(std::string("\x08\x07\x09\x08", 4));
  ConvertResult result = Convert(model, {});
  EXPECT_TRUE(result.report.kept_nodes.empty());
  EXPECT_EQ(CountOps(result.model.graph(), "Cast"), 0);
  for (const auto& t : result.model.graph().initializer()) {
    if (t.name() == "b") EXPECT_EQ(t.raw_data(), packed);
    if (t.name() == "zeros") EXPECT_EQ(t.raw_data(), std::string("\x08\x07\x09\x08", 4));
    if (t.name() == "scales") EXPECT_EQ(t.data_type(), kF16);
  }
  EXPECT_EQ(result.report.matmul_flops.total, 64);
  EXPECT_EQ(result.report.matmul_flops.in_16bit, 64);
  ExpectOrtClose(model, result.model, {{"x", FloatTensor({2, 16}, Ramp(32, 0.1f))}}, 0.02f);
}

TEST(TransformerOpsTest, UnknownOpsAreReportedAndCanBeDeclared16Bit) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17, "com.example" : 1]>
    g (float[3] x) => (float[3] y) {
      a = Relu(x)
      b = com.example.Thing(a)
      y = Neg(b)
    })");
  onnx::ValueInfoProto* info = model.mutable_graph()->add_value_info();
  info->set_name("b");
  info->mutable_type()->mutable_tensor_type()->set_elem_type(kF32);

  ConvertResult kept = Convert(model, {});
  ASSERT_EQ(kept.report.kept_nodes.size(), 1u);
  EXPECT_EQ(kept.report.kept_nodes[0].reason, KeepReason::kUnknownOp);
  EXPECT_STREQ(KeepReasonName(KeepReason::kUnknownOp), "unknown_op");
  EXPECT_THAT(kept.report.kept_nodes[0].detail, HasSubstr("unknown op, kept float32"));
  EXPECT_THAT(kept.report.notes, ::testing::Contains(HasSubstr("unknown op com.example:Thing")));
  EXPECT_EQ(SourceOf(kept.report, "com.example", "Thing")->source, "unknown");
  EXPECT_EQ(CountOps(kept.model.graph(), "Cast"), 2);

  ConvertOptions declared;
  declared.fp16_ops = {"com.example:Thing"};
  ConvertResult converted = Convert(model, declared);
  EXPECT_TRUE(converted.report.kept_nodes.empty());
  EXPECT_EQ(CountOps(converted.model.graph(), "Cast"), 0);
  EXPECT_EQ(ElemTypeOf(converted.model.graph(), "b"), kF16);
  EXPECT_EQ(SourceOf(converted.report, "com.example", "Thing")->source, "declared");

  // Declaring an op a schema describes changes nothing, and the report says so.
  ConvertOptions relu;
  relu.fp16_ops = {":Relu"};
  EXPECT_THAT(Convert(model, relu).report.notes,
              ::testing::Contains(HasSubstr("fp16_ops names :Relu, which onnx describes")));

  ConvertOptions bad;
  bad.fp16_ops = {"Thing"};
  EXPECT_THAT(ConvertFloatToFloat16(model, bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("domain:op_type")));
}

TEST(TransformerOpsTest, UntypedOutputsOfUnknownOpsNameTheOp) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17, "com.example" : 1]>
    g (float[3] x) => (float[3] y) {
      b = com.example.Thing(x)
      y = Neg(b)
    })");
  // Shape inference on: it ran and cannot help, so it is not suggested.
  EXPECT_THAT(ConvertFloatToFloat16(model, {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::AllOf(HasSubstr("'b'"), HasSubstr("nothing describes op "
                                                                    "com.example.Thing"),
                                        Not(HasSubstr("shape inference")))));
  // Shape inference off: a value onnx's inference would type (SequenceAt's output follows the
  // sequence's element type, which the schemas alone do not tie) is an error suggesting it.
  onnx::ModelProto sequence = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[3] x, int64 i) => (float[3] y) {
      s = SequenceConstruct(x)
      t = SequenceAt(s, i)
      y = Neg(t)
    })");
  ConvertOptions no_inference;
  no_inference.disable_shape_infer = true;
  EXPECT_THAT(ConvertFloatToFloat16(sequence, no_inference),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("enable shape inference")));
  EXPECT_OK(ConvertFloatToFloat16(sequence, {}).status());
}

TEST(TransformerOpsTest, OnnxInferenceSeesTypesTheTablesFound) {
  // SequenceAt's output is typed only by onnx's inference, which knows nothing of FusedMatMul:
  // it must be told the type of h (from the table) to type s and then t.
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17, "com.microsoft" : 1]>
    g (float[2,2] x, int64 i) => (float[2,2] y) <float[2,2] w = {1, 0, 0, 1}> {
      h = com.microsoft.FusedMatMul <alpha: float = 2.0> (x, w)
      s = SequenceConstruct(h)
      t = SequenceAt(s, i)
      y = Relu(t)
    })");
  ConvertResult result = Convert(model, {});
  EXPECT_TRUE(result.report.kept_nodes.empty());
  EXPECT_EQ(ElemTypeOf(result.model.graph(), "y"), kF16);
  EXPECT_EQ(CountOps(result.model.graph(), "Cast"), 0);
}

TEST(TransformerOpsTest, MatMulFlopsCountWhatStaysFloat32) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2,3] x) => (float[2,2] y) <float[3,4] w = {1,2,3,4,5,6,7,8,9,10,11,12},
                                         float[4,2] v = {1,0,0,1,1,0,0,1}> {
      h = MatMul(x, w)
      y = Gemm(h, v)
    })");
  ConvertOptions options;
  options.op_block_list = {"Gemm"};
  ConvertResult result = Convert(model, options);
  EXPECT_EQ(result.report.matmul_flops.total, 12 + 8);
  EXPECT_EQ(result.report.matmul_flops.in_16bit, 12);
  EXPECT_EQ(result.report.matmul_flops.nodes_unknown_shape, 0);
  const std::string json = ReportToJson(result.report);
  EXPECT_THAT(json, HasSubstr("\"matmul_flops\":{\"total\":20,\"in_16bit\":12"));
  EXPECT_THAT(json, HasSubstr("{\"domain\":\"\",\"op_type\":\"MatMul\",\"since_version\":13,"
                              "\"source\":\"onnx\",\"nodes\":1}"));
}

TEST(TransformerOpsTest, NodesOutOfOrderAreSorted) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[3] x) => (float[3] y) {
      y = Neg(a)
      a = Relu(x)
    })");
  ConvertResult result = Convert(model, {});
  ASSERT_EQ(result.model.graph().node_size(), 2);
  EXPECT_EQ(result.model.graph().node(0).op_type(), "Relu");
  EXPECT_EQ(result.model.graph().node(1).op_type(), "Neg");
  EXPECT_THAT(result.report.notes, ::testing::Contains(HasSubstr("not in topological order")));
  EXPECT_OK(testing::CheckConverted(result.model));
}

}  // namespace
}  // namespace halfcast
