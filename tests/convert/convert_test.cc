// The converter's rules, each on a small graph in ONNX text syntax: structure, onnx's checker with
// strict shape inference, and numbers (the converted graph run against the float32 one).
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "convert/check_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "halfcast/convert.h"
#include "halfcast/model_io.h"
#include "testing/onnx_text.h"
#include "testing/status_matchers.h"

namespace halfcast {
namespace {

using ::halfcast::testing::CheckConverted;
using ::halfcast::testing::CountOps;
using ::halfcast::testing::ElemTypeOf;
using ::halfcast::testing::FloatTensor;
using ::halfcast::testing::MaxAbsDiff;
using ::halfcast::testing::NestedIfs;
using ::halfcast::testing::ParseModelText;
using ::halfcast::testing::Producer;
using ::halfcast::testing::RunInOrt;
using ::halfcast::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int32_t kF32 = onnx::TensorProto::FLOAT;
constexpr int32_t kF16 = onnx::TensorProto::FLOAT16;
constexpr int32_t kBF16 = onnx::TensorProto::BFLOAT16;

ConvertResult Convert(const onnx::ModelProto& model, const ConvertOptions& options = {}) {
  absl::StatusOr<ConvertResult> result = ConvertFloatToFloat16(model, options);
  EXPECT_OK(result.status());
  if (!result.ok()) return {};
  EXPECT_OK(CheckConverted(result->model));
  return *std::move(result);
}

void ExpectClose(const std::map<std::string, std::vector<float>>& want,
                 const std::map<std::string, std::vector<float>>& got, float tolerance,
                 const char* runtime) {
  ASSERT_EQ(want.size(), got.size()) << runtime;
  for (const auto& [name, values] : want) {
    ASSERT_TRUE(got.count(name)) << runtime << ": " << name;
    EXPECT_LE(MaxAbsDiff(values, got.at(name)), tolerance) << runtime << ": output " << name;
  }
}

// Runs both models on `feeds` in ONNX Runtime and expects every output within `tolerance` of
// float32.
void ExpectSameNumbers(const onnx::ModelProto& original, const onnx::ModelProto& converted,
                       const TensorMap& feeds, float tolerance) {
  auto ort = RunInOrt({&original, &converted}, feeds);
  ASSERT_OK(ort.status());
  ExpectClose((*ort)[0], (*ort)[1], tolerance, "ONNX Runtime");
}

const onnx::NodeProto* NodeNamed(const onnx::GraphProto& graph, const std::string& name) {
  for (const auto& node : graph.node()) {
    if (node.name() == name) return &node;
  }
  return nullptr;
}

int64_t IntAttr(const onnx::NodeProto& node, const std::string& name, int64_t otherwise = -1) {
  for (const auto& attr : node.attribute()) {
    if (attr.name() == name) return attr.i();
  }
  return otherwise;
}

const onnx::TensorProto* Initializer(const onnx::GraphProto& graph, const std::string& name) {
  for (const auto& t : graph.initializer()) {
    if (t.name() == name) return &t;
  }
  return nullptr;
}

TEST(ConvertTest, ElementwiseGraphBecomesFloat16AndComputesTheSame) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[4] x) => (float[4] y) <float[4] w = {0.5, -1.25, 2.0, 3.5}> {
      t = Add(x, w)
      c = Constant<value = float[1] {0.75}>()
      u = Mul(t, c)
      y = Relu(u)
    })");
  ConvertResult result = Convert(model);
  const onnx::GraphProto& g = result.model.graph();
  EXPECT_EQ(ElemTypeOf(g, "x"), kF16);
  EXPECT_EQ(ElemTypeOf(g, "y"), kF16);
  EXPECT_EQ(ElemTypeOf(g, "w"), kF16);
  EXPECT_EQ(CountOps(g, "Cast"), 0);
  EXPECT_EQ(result.report.nodes_converted, 4);
  EXPECT_EQ(result.report.initializers_converted, 1);
  EXPECT_EQ(result.report.bytes_before, 20u);
  EXPECT_EQ(result.report.bytes_after, 10u);
  ExpectSameNumbers(model, result.model, {{"x", FloatTensor({4}, {1.0f, 2.0f, -3.0f, 0.1f})}},
                    2e-3f);
}

TEST(ConvertTest, KeepIoTypesKeepsFloat32InterfaceWithCastsInside) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[3] x, float[3] z) => (float[3] y, float[3] v) {
      s = Sigmoid(x)
      y = Mul(s, z)
      v = Tanh(y)
    })");
  ConvertOptions options;
  options.keep_io_types = true;
  ConvertResult result = Convert(model, options);
  const onnx::GraphProto& g = result.model.graph();
  EXPECT_EQ(ElemTypeOf(g, "x"), kF32);
  EXPECT_EQ(ElemTypeOf(g, "y"), kF32);
  EXPECT_EQ(ElemTypeOf(g, "v"), kF32);
  // Two casts in (x, z), two out (y, v); y feeds Tanh in float16 through the renamed value.
  EXPECT_EQ(CountOps(g, "Cast"), 4);
  EXPECT_EQ(result.report.casts_inserted, 4);
  EXPECT_EQ(IntAttr(*Producer(g, "y"), "to"), kF32);
  ExpectSameNumbers(model, result.model,
                    {{"x", FloatTensor({3}, {0.5f, -1.0f, 3.0f})},
                     {"z", FloatTensor({3}, {2.0f, 0.25f, -1.5f})}},
                    2e-3f);

  // Only the named ones stay float32.
  options.keep_io_types = false;
  options.keep_io_names = {"x", "v"};
  ConvertResult named = Convert(model, options);
  EXPECT_EQ(ElemTypeOf(named.model.graph(), "x"), kF32);
  EXPECT_EQ(ElemTypeOf(named.model.graph(), "z"), kF16);
  EXPECT_EQ(ElemTypeOf(named.model.graph(), "y"), kF16);
  EXPECT_EQ(ElemTypeOf(named.model.graph(), "v"), kF32);
  EXPECT_EQ(CountOps(named.model.graph(), "Cast"), 2);
}

TEST(ConvertTest, BlockedNodesGetOneCastPerValueAndNoneBetweenBlockedNeighbours) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[4] x, float[4] z) => (float[4] y) {
      a = Relu(x)
      m = Max(a, z)
      n = Min(m, a)
      b = Neg(n)
      c = Add(b, n)
      y = Add(c, m)
    })");
  ConvertResult result = Convert(model);
  const onnx::GraphProto& g = result.model.graph();
  // To float32: a, z (once each, although a feeds both Max and Min). Back to float16: m and n
  // (m feeds Min directly in float32, no Cast pair between the two blocked nodes).
  EXPECT_EQ(CountOps(g, "Cast"), 4);
  EXPECT_EQ(result.report.kept_nodes.size(), 2u);
  EXPECT_EQ(result.report.kept_nodes[0].op_type, "Max");
  EXPECT_EQ(result.report.kept_nodes[0].reason, KeepReason::kOpBlockList);
  const onnx::NodeProto* min = Producer(g, "n");
  ASSERT_NE(min, nullptr);
  EXPECT_EQ(min->input(0), "m");  // straight from Max
  ExpectSameNumbers(model, result.model,
                    {{"x", FloatTensor({4}, {1.0f, -2.0f, 3.0f, 0.5f})},
                     {"z", FloatTensor({4}, {0.0f, 1.0f, 5.0f, -1.0f})}},
                    5e-3f);
}

TEST(ConvertTest, SharedInitializerIsStoredOnceIn16BitWithOneCast) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[3] x) => (float[3] y) <float[3] w = {1.0, 2.0, 3.0}, float[3] k = {0.5, 0.5, 0.5}> {
      a = Add(x, w)
      b = Max(a, w)
      c = Min(b, k)
      y = Mul(c, w)
    })");
  ConvertResult result = Convert(model);
  const onnx::GraphProto& g = result.model.graph();
  EXPECT_EQ(Initializer(g, "w")->data_type(), kF16);
  EXPECT_EQ(Initializer(g, "k")->data_type(), kF32);  // only a blocked node reads it
  EXPECT_THAT(result.report.shared_initializers, ElementsAre("w"));
  int casts_of_w = 0;
  for (const auto& node : g.node()) casts_of_w += node.op_type() == "Cast" && node.input(0) == "w";
  EXPECT_EQ(casts_of_w, 1);
  ExpectSameNumbers(model, result.model, {{"x", FloatTensor({3}, {0.5f, -4.0f, 1.0f})}}, 5e-3f);
}

TEST(ConvertTest, CastToFloatFollowsTheTargetAndCastLikeFollowsItsTarget) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (int64[3] i, float[3] x) => (float[3] y, float[3] z) {
      f = Cast<to = 1>(i)
      y = Add(f, x)
      z = CastLike(i, x)
    })");
  ConvertResult result = Convert(model);
  const onnx::GraphProto& g = result.model.graph();
  EXPECT_EQ(IntAttr(*Producer(g, "f"), "to"), kF16);
  EXPECT_EQ(ElemTypeOf(g, "z"), kF16);
  Tensor ints = Tensor::Zeros(DataType::kInt64, {3});
  ints.mutable_data<int64_t>()[0] = 1;
  ints.mutable_data<int64_t>()[1] = -7;
  ints.mutable_data<int64_t>()[2] = 300;
  ExpectSameNumbers(model, result.model,
                    {{"i", ints}, {"x", FloatTensor({3}, {0.5f, 0.25f, -1.0f})}}, 0.2f);
}

TEST(ConvertTest, RandomOpsAndConstantOfShapeFollowTheNodePrecision) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (int64[2] shape, float[2, 3] x) => (float[2, 3] a, float[2, 3] b, float[2, 3] c,
                                          float[2, 3] d) {
      a = RandomNormal<shape = [2, 3]>()
      b = RandomUniform<shape = [2, 3], dtype = 1>()
      c = ConstantOfShape(shape)
      e = ConstantOfShape<value = float[1] {2.5}>(shape)
      d = Add(e, x)
    })");
  ConvertResult result = Convert(model);
  const onnx::GraphProto& g = result.model.graph();
  EXPECT_EQ(IntAttr(*Producer(g, "a"), "dtype"), kF16);
  EXPECT_EQ(IntAttr(*Producer(g, "b"), "dtype"), kF16);
  EXPECT_EQ(Producer(g, "c")->attribute(0).t().data_type(), kF16);
  EXPECT_EQ(Producer(g, "e")->attribute(0).t().data_type(), kF16);
  EXPECT_EQ(CountOps(g, "Cast"), 0);
}

TEST(ConvertTest, RandomOpsInBlockedNodesStayFloat32) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2, 3] x) => (float[2, 3] y) {
      r = RandomUniformLike(x)
      y = Add(r, x)
    })");
  ConvertResult result = Convert(model);
  const onnx::GraphProto& g = result.model.graph();
  // RandomUniformLike is in the default block list: float32 in, float32 out, Casts around it.
  EXPECT_EQ(CountOps(g, "Cast"), 2);
  EXPECT_EQ(IntAttr(*Producer(g, "r"), "dtype"), -1);
}

TEST(ConvertTest, IfBranchesReadingOuterValuesAreConvertedConsistently) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (bool c, float[3] x) => (float[3] y) <float[3] w = {1.0, 2.0, 3.0}> {
      s = Sigmoid(x)
      y = If(c) <
        then_branch = t () => (float[3] ty) {
          k = Constant<value = float[1] {2.0}>()
          ty = Mul(s, k)
        },
        else_branch = e () => (float[3] ey) {
          ey = Add(s, w)
        }>
    })");
  for (bool keep_io : {false, true}) {
    ConvertOptions options;
    options.keep_io_types = keep_io;
    ConvertResult result = Convert(model, options);
    const onnx::GraphProto& g = result.model.graph();
    const onnx::NodeProto* if_node = nullptr;
    for (const auto& node : g.node()) {
      if (node.op_type() == "If") if_node = &node;
    }
    ASSERT_NE(if_node, nullptr);
    for (const auto& attr : if_node->attribute()) {
      EXPECT_EQ(attr.g().output(0).type().tensor_type().elem_type(), kF16) << attr.name();
      EXPECT_EQ(CountOps(attr.g(), "Cast"), 0) << attr.name();
    }
    for (bool cond : {true, false}) {
      Tensor c = Tensor::Zeros(DataType::kBool, {});
      c.mutable_data<bool>()[0] = cond;
      ExpectSameNumbers(model, result.model,
                        {{"c", c}, {"x", FloatTensor({3}, {0.5f, -1.0f, 2.0f})}}, 5e-3f);
    }
  }
}

TEST(ConvertTest, CastsForABlockedNodeInsideASubgraphGoIntoThatSubgraph) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (bool c, float[3] x) => (float[3] y) {
      s = Sigmoid(x)
      y = If(c) <
        then_branch = t () => (float[3] ty) {
          ty = Max(s, s)
        },
        else_branch = e () => (float[3] ey) {
          ey = Neg(s)
        }>
    })");
  ConvertResult result = Convert(model);
  const onnx::GraphProto& g = result.model.graph();
  EXPECT_EQ(CountOps(g, "Cast"), 0);
  const onnx::GraphProto* then_branch = nullptr;
  for (const auto& node : g.node()) {
    for (const auto& attr : node.attribute()) {
      if (attr.name() == "then_branch") then_branch = &attr.g();
    }
  }
  ASSERT_NE(then_branch, nullptr);
  EXPECT_EQ(CountOps(*then_branch, "Cast"), 2);  // s to float32 once, Max's result back
  ASSERT_EQ(result.report.kept_nodes.size(), 1u);
  EXPECT_THAT(result.report.kept_nodes[0].graph, HasSubstr("then_branch"));
  Tensor c = Tensor::Zeros(DataType::kBool, {});
  c.mutable_data<bool>()[0] = true;
  ExpectSameNumbers(model, result.model, {{"c", c}, {"x", FloatTensor({3}, {0.5f, -1.0f, 2.0f})}},
                    2e-3f);
}

// Both branches make y with a float32 node (Max is in the default block list): the If gives y in
// float32 rather than casting each branch's result to float16 and back after the If. With one
// branch converted, y stays float16 and the float32 branch casts its result.
TEST(ConvertTest, AnIfWhoseBranchesAllComputeAnOutputInFloat32GivesItInFloat32) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (bool c, float[3] x) => (float[3] y, float[3] z) {
      s = Sigmoid(x)
      y = If(c) <
        then_branch = t () => (float[3] ty) {
          ty = Max(s, s)
        },
        else_branch = e () => (float[3] ey) {
          ey = Min(s, x)
        }>
      z = Neg(y)
    })");
  ConvertOptions keep_io;
  keep_io.keep_io_types = true;
  ConvertResult result = Convert(model, keep_io);
  const onnx::GraphProto& g = result.model.graph();
  const onnx::NodeProto* if_node = nullptr;
  for (const auto& node : g.node()) {
    if (node.op_type() == "If") if_node = &node;
  }
  ASSERT_NE(if_node, nullptr);
  for (const auto& attr : if_node->attribute()) {
    EXPECT_EQ(attr.g().output(0).type().tensor_type().elem_type(), kF32) << attr.name();
    EXPECT_EQ(CountOps(attr.g(), "Cast"), 1) << attr.name();  // s to float32 for Max/Min
  }
  EXPECT_EQ(if_node->output(0), "y");  // no Cast between the If and the float32 output
  EXPECT_EQ(ElemTypeOf(g, "y"), kF32);
  for (bool cond : {true, false}) {
    Tensor c = Tensor::Zeros(DataType::kBool, {});
    c.mutable_data<bool>()[0] = cond;
    ExpectSameNumbers(model, result.model,
                      {{"c", c}, {"x", FloatTensor({3}, {0.5f, -1.0f, 2.0f})}}, 5e-3f);
  }

  ConvertOptions one_converted = keep_io;
  one_converted.op_block_list = {"Max"};
  ConvertResult mixed = Convert(model, one_converted);
  for (const auto& node : mixed.model.graph().node()) {
    if (node.op_type() != "If") continue;
    for (const auto& attr : node.attribute()) {
      EXPECT_EQ(attr.g().output(0).type().tensor_type().elem_type(), kF16) << attr.name();
    }
  }
}

TEST(ConvertTest, LoopCarriedValuesKeepOneTypeOnBothSidesOfTheBody) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (int64 n, float[2] x) => (float[2] y, float[3, 2] scan) {
      cond = Constant<value = bool {1}>()
      y, scan = Loop(n, cond, x) <
        body = b (int64 i, bool ci, float[2] acc) => (bool co, float[2] next, float[2] out) {
          co = Identity(ci)
          h = Constant<value = float[1] {0.5}>()
          next = Mul(acc, h)
          out = Max(next, acc)
        }>
    })");
  ConvertResult result = Convert(model);
  const onnx::GraphProto& g = result.model.graph();
  EXPECT_EQ(ElemTypeOf(g, "y"), kF16);
  EXPECT_EQ(ElemTypeOf(g, "scan"), kF16);
  Tensor n = Tensor::Zeros(DataType::kInt64, {});
  n.mutable_data<int64_t>()[0] = 3;
  ExpectSameNumbers(model, result.model, {{"n", n}, {"x", FloatTensor({2}, {8.0f, -2.0f})}},
                    2e-3f);
}

TEST(ConvertTest, ResizeScalesStayFloat32AndEmptyScalesStayEmpty) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 1, 2, 2] x) => (float[1, 1, 4, 4] y, float[1, 1, 4, 4] z)
      <float[4] scales = {1.0, 1.0, 2.0, 2.0}, float[0] roi = {}, int64[4] sizes = {1, 1, 4, 4},
       float[0] none = {}> {
      y = Resize(x, roi, scales)
      z = Resize(x, roi, none, sizes)
    })");
  ConvertOptions options;
  options.op_block_list = {};  // let Resize convert, so its scales input decides alone
  ConvertResult result = Convert(model, options);
  const onnx::GraphProto& g = result.model.graph();
  EXPECT_EQ(Initializer(g, "scales")->data_type(), kF32);
  EXPECT_EQ(Initializer(g, "none")->data_type(), kF32);
  EXPECT_EQ(Initializer(g, "none")->raw_data().size() + Initializer(g, "none")->float_data_size(),
            0u);
  EXPECT_EQ(CountOps(g, "Cast"), 0);
  EXPECT_EQ(ElemTypeOf(g, "y"), kF16);
  EXPECT_GE(result.report.float32_inputs.size(), 2u);
  ExpectSameNumbers(model, result.model,
                    {{"x", FloatTensor({1, 1, 2, 2}, {1.0f, 2.0f, 3.0f, 4.0f})}}, 1e-2f);
}

TEST(ConvertTest, ReportNamesFloat32InputsAsInTheInputModel) {
  // `s` is computed in float16, so Resize reads it through a Cast to float32: the report still
  // names the value the user knows.
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 1, 2, 2] x, float[4] k) => (float[1, 1, 4, 4] y) <float[0] roi = {}> {
      s = Abs(k)
      y = Resize(x, roi, s)
    })");
  ConvertOptions options;
  options.op_block_list = {};
  ConvertResult result = Convert(model, options);
  EXPECT_EQ(CountOps(result.model.graph(), "Cast"), 1);
  ASSERT_EQ(result.report.float32_inputs.size(), 1u);
  EXPECT_EQ(result.report.float32_inputs[0].input, 2);
  EXPECT_EQ(result.report.float32_inputs[0].value, "s");
  EXPECT_EQ(result.report.float32_inputs[0].op_type, "Resize");
  ExpectSameNumbers(model, result.model,
                    {{"x", FloatTensor({1, 1, 2, 2}, {1.0f, 2.0f, 3.0f, 4.0f})},
                     {"k", FloatTensor({4}, {1.0f, -1.0f, 2.0f, -2.0f})}},
                    1e-2f);
}

TEST(ConvertTest, OpWhoseSchemaExcludesTheTargetStaysFloat32) {
  // Sin-7 accepts float16 but not bfloat16.
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[3] x) => (float[3] y) {
      s = Sin(x)
      y = Add(s, x)
    })");
  ConvertOptions options;
  options.target = TargetType::kBFloat16;
  ConvertResult result = Convert(model, options);
  ASSERT_EQ(result.report.kept_nodes.size(), 1u);
  EXPECT_EQ(result.report.kept_nodes[0].reason, KeepReason::kSchema);
  EXPECT_THAT(result.report.kept_nodes[0].detail, HasSubstr("bfloat16"));
  EXPECT_EQ(ElemTypeOf(result.model.graph(), "x"), kBF16);
  EXPECT_EQ(CountOps(result.model.graph(), "Cast"), 2);

  options.target = TargetType::kFloat16;
  EXPECT_TRUE(Convert(model, options).report.kept_nodes.empty());
}

TEST(ConvertTest, TypesArePropagatedFromSchemasWithoutShapeInference) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[3] x, int64[1] axes) => (float[1] y) {
      a = Mul(x, x)
      r = ReduceSum(a, axes)
      t = Max(r, r)
      y = Sqrt(t)
    })");
  ConvertOptions options;
  options.disable_shape_infer = true;
  ConvertResult result = Convert(model, options);
  EXPECT_EQ(CountOps(result.model.graph(), "Cast"), 2);
  Tensor axes = Tensor::Zeros(DataType::kInt64, {1});
  ExpectSameNumbers(model, result.model,
                    {{"x", FloatTensor({3}, {1.0f, 2.0f, 2.0f})}, {"axes", axes}}, 1e-2f);
}

TEST(ConvertTest, ClippingIsCountedPerTensor) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[4] x) => (float[4] y) <float[4] w = {1e-9, -1e-9, 1e6, 0.0}> {
      y = Add(x, w)
    })");
  std::vector<std::string> logged;
  ConvertOptions options;
  options.log = [&](LogLevel, std::string_view message) { logged.emplace_back(message); };
  ConvertResult result = Convert(model, options);
  ASSERT_EQ(result.report.clipped.size(), 1u);
  EXPECT_EQ(result.report.clipped[0].name, "w");
  EXPECT_EQ(result.report.clipped[0].below_min, 2);
  EXPECT_EQ(result.report.clipped[0].above_max, 1);
  bool summary = false;
  for (const auto& line : logged) summary |= absl::StrContains(line, "clipped");
  EXPECT_TRUE(summary);
  auto out = RunInOrt({&result.model}, {{"x", FloatTensor({4}, {0.0f, 0.0f, 0.0f, 0.0f})}});
  ASSERT_OK(out.status());
  const std::vector<float>& y = (*out)[0].at("y");
  EXPECT_NEAR(y[2], 1e4f, 8.0f);
  EXPECT_NEAR(y[0], 1.19e-7f, 1e-8f);  // 1e-7 rounded to float16
  EXPECT_NEAR(y[1], -1.19e-7f, 1e-8f);
  EXPECT_EQ(y[3], 0.0f);
}

TEST(ConvertTest, ExistingCastsThatBecomeNoOpsAreRemoved) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[3] x) => (float[3] y) {
      a = Cast<to = 1>(x)
      b = Cast<to = 1>(x)
      c = Add(a, b)
      i = Cast<to = 7>(c)
      d = Cast<to = 1>(i)
      y = Add(d, c)
    })");
  ConvertResult result = Convert(model);
  const onnx::GraphProto& g = result.model.graph();
  EXPECT_EQ(result.report.casts_removed, 2);  // a and b are float16 -> float16
  // Casts through integers are never touched.
  EXPECT_EQ(CountOps(g, "Cast"), 2);
  ExpectSameNumbers(model, result.model, {{"x", FloatTensor({3}, {1.5f, -2.25f, 3.0f})}}, 1e-2f);
}

// Regression: after Casts were inserted, the plan looked up producers by their old position and
// took a converted node for a Constant, so cleanup dropped the Cast in front of a blocked node
// (found on Silero VAD op15 with bfloat16).
TEST(ConvertTest, CastBeforeABlockedNodeSurvivesInsertionsEarlierInTheGraph) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[3] x) => (float[3] y) {
      k = Constant<value = float[3] {1.0, -1.0, 0.5}>()
      a = Relu(x)
      m = Max(a, k)
      y = Neg(m)
    })");
  ConvertOptions options;
  options.keep_io_types = true;
  ConvertResult result = Convert(model, options);
  const onnx::NodeProto* max = Producer(result.model.graph(), "m");
  ASSERT_NE(max, nullptr);
  EXPECT_NE(max->input(0), "a");  // a float32 copy of a
  EXPECT_EQ(result.report.casts_removed, 0);
  ExpectSameNumbers(model, result.model, {{"x", FloatTensor({3}, {2.0f, -3.0f, 0.25f})}}, 2e-3f);
}

TEST(ConvertTest, Bfloat16NeedsOpset13) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 7, opset_import: ["" : 11]>
    g (float[3] x) => (float[3] y) { y = Relu(x) })");
  ConvertOptions options;
  options.target = TargetType::kBFloat16;
  EXPECT_THAT(ConvertFloatToFloat16(model, options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("opset 13"), HasSubstr("imports opset 11"),
                             HasSubstr("version_converter"))));
}

TEST(ConvertTest, InvalidOptionsAreInvalidArgument) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[3] x) => (float[3] y) { y = Relu(x) })");
  const std::string before = model.SerializeAsString();
  ConvertOptions options;
  options.min_positive_val = -1.0f;
  EXPECT_THAT(ConvertFloatToFloat16(model, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("min_positive_val")));
  options = {};
  options.max_finite_val = 70000.0f;
  EXPECT_THAT(ConvertFloatToFloat16(model, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_finite_val")));
  options.target = TargetType::kBFloat16;  // 70000 is fine for bfloat16
  EXPECT_OK(ConvertFloatToFloat16(model, options).status());
  options = {};
  options.max_finite_val = 0.0f;
  EXPECT_THAT(ConvertFloatToFloat16(model, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_finite_val")));
  options = {};
  options.keep_io_names = {"nope"};
  EXPECT_THAT(ConvertFloatToFloat16(model, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'nope'")));
  options = {};
  options.node_index_block_list = {5};
  EXPECT_THAT(ConvertFloatToFloat16(model, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("node_index_block_list")));
  EXPECT_EQ(model.SerializeAsString(), before);
}

TEST(ConvertTest, MalformedGraphsAreClearErrors) {
  const char* kCycle = R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[3] x) => (float[3] y) {
      a = Add(x, b)
      b = Relu(a)
      y = Neg(b)
    })";
  const char* kDangling = R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[3] x) => (float[3] y) {
      y = Add(x, ghost)
    })";
  const char* kTwice = R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[3] x) => (float[3] y) {
      y = Relu(x)
      y = Neg(x)
    })";
  EXPECT_THAT(ConvertFloatToFloat16(ParseModelText(kCycle), {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cycle")));
  EXPECT_THAT(ConvertFloatToFloat16(ParseModelText(kDangling), {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'ghost'")));
  EXPECT_THAT(ConvertFloatToFloat16(ParseModelText(kTwice), {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'y' is defined twice")));
  EXPECT_THAT(ConvertFloatToFloat16(onnx::ModelProto(), {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no graph")));
  // Dims whose element count overflows int64 and no data: once converted "successfully".
  onnx::ModelProto huge = ParseModelText(kDangling);
  onnx::TensorProto* ghost = huge.mutable_graph()->add_initializer();
  ghost->set_name("ghost");
  ghost->set_data_type(kF32);
  ghost->add_dims(int64_t{1} << 40);
  ghost->add_dims(int64_t{1} << 40);
  EXPECT_THAT(ConvertFloatToFloat16(huge, {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("initializer 'ghost' has dims [1099511627776, 1099511627776], "
                                 "whose element count overflows")));
}

TEST(ConvertTest, CheckFp16ReadyRefusesAndConvertingTwiceKeepsNamesUnique) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[3] x) => (float[3] y) {
      a = Relu(x)
      m = Max(a, a)
      y = Neg(m)
    })");
  // Give two nodes the same name and leave one unnamed.
  model.mutable_graph()->mutable_node(0)->set_name("dup");
  model.mutable_graph()->mutable_node(1)->set_name("dup");
  ConvertResult once = Convert(model);
  EXPECT_THAT(ConvertFloatToFloat16(once.model, {}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("16-bit")));
  ConvertOptions options;
  options.check_fp16_ready = false;
  ConvertResult twice = Convert(once.model, options);
  std::set<std::string> values;
  std::set<std::string> inserted_nodes;
  for (const auto& node : twice.model.graph().node()) {
    for (const auto& out : node.output()) EXPECT_TRUE(values.insert(out).second) << out;
    if (node.op_type() == "Cast") EXPECT_TRUE(inserted_nodes.insert(node.name()).second);
  }
  std::set<std::string> node_names;
  for (const auto& node : twice.model.graph().node()) {
    EXPECT_TRUE(node_names.insert(node.name()).second) << node.name();
  }
  onnx::ModelProto reference = model;  // ONNX Runtime refuses the duplicate names
  reference.mutable_graph()->mutable_node(1)->set_name("other");
  ExpectSameNumbers(reference, twice.model, {{"x", FloatTensor({3}, {1.0f, -2.0f, 3.5f})}},
                    1e-2f);
}

TEST(ConvertTest, SameInputGivesByteIdenticalOutput) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[3] x, bool c) => (float[3] y) <float[3] w = {1.0, 2.0, 3.0}> {
      a = Max(x, w)
      b = Min(a, x)
      d = Add(b, w)
      y = If(c) <
        then_branch = t () => (float[3] ty) { ty = Max(d, w) },
        else_branch = e () => (float[3] ey) { ey = Neg(a) }>
    })");
  ConvertOptions options;
  options.keep_io_types = true;
  absl::StatusOr<ConvertResult> first = ConvertFloatToFloat16(model, options);
  absl::StatusOr<ConvertResult> second = ConvertFloatToFloat16(model, options);
  ASSERT_OK(first.status());
  ASSERT_OK(second.status());
  EXPECT_OK(CheckConverted(first->model));
  EXPECT_EQ(first->model.SerializeAsString(), second->model.SerializeAsString());
  EXPECT_EQ(ReportToJson(first->report), ReportToJson(second->report));
}

TEST(ConvertTest, MovingTheModelInConvertsInPlace) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2] x) => (float[2] y) <float[2] w = {1.0, 2.0}> { y = Add(x, w) })");
  const std::string expected = Convert(model).model.SerializeAsString();
  absl::StatusOr<ConvertResult> moved = ConvertFloatToFloat16(std::move(model), {});
  ASSERT_OK(moved.status());
  EXPECT_EQ(moved->model.SerializeAsString(), expected);
}

TEST(ConvertTest, ReportJsonHasStableKeys) {
  ConvertReport report;
  report.nodes_converted = 3;
  report.kept_nodes.push_back({"", 1, "n\"1", "Max", KeepReason::kOpBlockList, "why"});
  report.clipped.push_back({"w", 2, 1});
  report.notes.push_back("line\nbreak");
  const std::string json = ReportToJson(report);
  EXPECT_THAT(json, HasSubstr("\"nodes_converted\":3"));
  EXPECT_THAT(json, HasSubstr("\"name\":\"n\\\"1\""));
  EXPECT_THAT(json, HasSubstr("\"reason\":\"op_block_list\""));
  EXPECT_THAT(json, HasSubstr("\"clipped\":[{\"name\":\"w\",\"below_min\":2,\"above_max\":1}]"));
  EXPECT_THAT(json, HasSubstr("\"notes\":[\"line\\nbreak\"]"));
  EXPECT_STREQ(KeepReasonName(KeepReason::kModelFunction), "model_function");
  EXPECT_EQ(DefaultOpBlockList().size(), 28u);
}

TEST(ConvertTest, DeeplyNestedSubgraphsAreClearErrors) {
  // 50 bodies deep: once refused as "corrupt or truncated" by protobuf's default nesting limit.
  ASSERT_OK_AND_ASSIGN(std::string bytes, SerializeModel(NestedIfs(50)));
  ASSERT_OK_AND_ASSIGN(onnx::ModelProto fifty, LoadModelFromBytes(bytes));
  ConvertResult converted = Convert(fifty);
  EXPECT_EQ(ElemTypeOf(converted.model.graph(), "y"), kF16);
  // Deeper than halfcast supports: one clear error, in memory as from bytes.
  ASSERT_OK_AND_ASSIGN(bytes, SerializeModel(NestedIfs(150)));
  ASSERT_OK_AND_ASSIGN(onnx::ModelProto deep, LoadModelFromBytes(bytes));
  EXPECT_THAT(ConvertFloatToFloat16(deep, {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("subgraphs are nested more than 100 deep")));
  EXPECT_THAT(ConvertFloatToFloat16(NestedIfs(10000), {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nested more than 100")));
  // Beyond what the parser takes: the error says nesting may be why.
  ASSERT_OK_AND_ASSIGN(bytes, SerializeModel(NestedIfs(400)));
  EXPECT_THAT(LoadModelFromBytes(bytes),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nested about 333 deep")));
}

}  // namespace
}  // namespace halfcast
