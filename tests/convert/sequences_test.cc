// Sequences and optionals: SequenceEmpty's element type, Optional's `type`, and values that must
// change type where Cast cannot (keep_io_types on a sequence or optional input or output): a
// Loop casts a sequence's elements, an If rebuilds an optional. Checked with onnx's checker and
// by running both models in halfcast's evaluator.
#include <string>
#include <vector>

#include "convert/check_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "halfcast/convert.h"
#include "halfcast/evaluator.h"
#include "halfcast/value.h"
#include "numerics/float16.h"
#include "testing/onnx_text.h"
#include "testing/status_matchers.h"

namespace halfcast {
namespace {

using ::halfcast::testing::CheckConverted;
using ::halfcast::testing::CountOps;
using ::halfcast::testing::FloatTensor;
using ::halfcast::testing::ParseModelText;
using ::halfcast::testing::StatusIs;
using ::testing::HasSubstr;

constexpr int32_t kF32 = onnx::TensorProto::FLOAT;
constexpr int32_t kF16 = onnx::TensorProto::FLOAT16;

void DeclareSequence(onnx::ValueInfoProto* value) { testing::DeclareSequenceOf(value, kF32); }
void DeclareOptional(onnx::ValueInfoProto* value) { testing::DeclareOptionalOf(value, kF32); }

// Every Cast of every graph reads a tensor: no value of `sequences` (names of sequence and
// optional values) is a Cast's input.
void ExpectNoCastOf(const onnx::GraphProto& graph, const std::vector<std::string>& sequences) {
  for (const onnx::NodeProto& node : graph.node()) {
    if (node.op_type() == "Cast") {
      for (const std::string& name : sequences) EXPECT_NE(node.input(0), name) << node.name();
    }
    for (const onnx::AttributeProto& a : node.attribute()) {
      if (a.has_g()) ExpectNoCastOf(a.g(), sequences);
    }
  }
}

const onnx::NodeProto* FindOp(const onnx::GraphProto& graph, const std::string& op_type) {
  for (const onnx::NodeProto& node : graph.node()) {
    if (node.op_type() == op_type) return &node;
  }
  return nullptr;
}

int64_t IntAttribute(const onnx::NodeProto& node, const std::string& name) {
  for (const onnx::AttributeProto& a : node.attribute()) {
    if (a.name() == name) return a.i();
  }
  return -1;
}

// A tensor's values as float, from float32 or float16.
std::vector<float> AsFloats(const Tensor& t) {
  std::vector<float> values;
  for (int64_t i = 0; i < t.element_count(); ++i) {
    values.push_back(t.type() == DataType::kFloat ? t.data<float>()[i]
                                                  : numerics::HalfToFloat(t.data<uint16_t>()[i]));
  }
  return values;
}

Tensor ToHalf(const Tensor& t) {
  Tensor half = Tensor::Zeros(DataType::kFloat16, t.shape());
  for (int64_t i = 0; i < t.element_count(); ++i) {
    half.mutable_data<uint16_t>()[i] = numerics::FloatToHalf(t.data<float>()[i]);
  }
  return half;
}

// A float sequence in and out, built around SequenceEmpty (without dtype: float).
onnx::ModelProto SequenceModel() {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2] s, float[2] x) => (float[2] t, float[4] y) <int64 last = {1}> {
      e = SequenceEmpty()
      a = SequenceAt(s, last)
      b = Mul(a, x)
      c = SequenceInsert(e, b)
      t = SequenceInsert(c, x)
      y = ConcatFromSequence <axis = 0> (t)
    }
  )");
  DeclareSequence(model.mutable_graph()->mutable_input(0));
  DeclareSequence(model.mutable_graph()->mutable_output(0));
  return model;
}

TEST(SequencesTest, ConvertWithAndWithoutKeepIoAndRunAlike) {
  const onnx::ModelProto model = SequenceModel();
  const Value s = Value::Sequence(DataType::kFloat, {FloatTensor({2}, {1, 2}),
                                                     FloatTensor({2}, {3, 4})});
  const ValueMap feeds = {{"s", s}, {"x", FloatTensor({2}, {0.5f, -2})}};
  ReferenceEvaluator evaluator;
  ASSERT_OK_AND_ASSIGN(ValueMap reference, evaluator.RunValues(model, feeds));
  for (bool keep_io_types : {false, true}) {
    SCOPED_TRACE(keep_io_types ? "keep_io_types" : "all");
    ConvertOptions options;
    options.keep_io_types = keep_io_types;
    ASSERT_OK_AND_ASSIGN(ConvertResult result, ConvertFloatToFloat16(model, options));
    EXPECT_OK(CheckConverted(result.model));
    const onnx::GraphProto& graph = result.model.graph();
    // SequenceEmpty's float default is spelt out in the target type.
    const onnx::NodeProto* empty = FindOp(graph, "SequenceEmpty");
    ASSERT_NE(empty, nullptr);
    EXPECT_EQ(IntAttribute(*empty, "dtype"), kF16);
    const int32_t io = keep_io_types ? kF32 : kF16;
    EXPECT_EQ(graph.input(0).type().sequence_type().elem_type().tensor_type().elem_type(), io);
    EXPECT_EQ(graph.output(0).type().sequence_type().elem_type().tensor_type().elem_type(), io);
    // Kept float32 sequences change type through a Loop (one in, one out), never a Cast.
    ExpectNoCastOf(graph, {"s", "t", "e", "c"});
    EXPECT_EQ(CountOps(graph, "Loop"), keep_io_types ? 2 : 0);

    ValueMap converted_feeds = feeds;
    if (!keep_io_types) {
      converted_feeds["x"] = ToHalf(feeds.at("x").tensor());
      converted_feeds["s"] = Value::Sequence(
          DataType::kFloat16, {ToHalf(s.elements()[0]), ToHalf(s.elements()[1])});
    }
    ASSERT_OK_AND_ASSIGN(ValueMap out, evaluator.RunValues(result.model, converted_feeds));
    const Value& t = out.at("t");
    ASSERT_TRUE(t.is_sequence());
    ASSERT_EQ(t.elements().size(), 2u);
    EXPECT_EQ(t.element_type(), keep_io_types ? DataType::kFloat : DataType::kFloat16);
    // These values are exact in float16: both models give the float32 results.
    for (int i = 0; i < 2; ++i) {
      EXPECT_EQ(AsFloats(t.elements()[i]), AsFloats(reference.at("t").elements()[i])) << i;
    }
  }
}

// An optional float input kept float32: an If rebuilds it in float16 from opset 16; below, no
// op can, and the conversion says so.
TEST(SequencesTest, OptionalsKeptFloat32NeedOpset16) {
  const char* text = R"(
    <ir_version: 8, opset_import: ["" : OPSET]>
    g (float[2] maybe, float[2] x) => (float[2] y) {
      v = OptionalGetElement(maybe)
      y = Add(v, x)
    }
  )";
  for (int opset : {15, 16}) {
    std::string source = text;
    source.replace(source.find("OPSET"), 5, std::to_string(opset));
    onnx::ModelProto model = ParseModelText(source.c_str());
    DeclareOptional(model.mutable_graph()->mutable_input(0));
    ConvertOptions options;
    options.keep_io_types = true;
    absl::StatusOr<ConvertResult> result = ConvertFloatToFloat16(model, options);
    if (opset == 15) {
      EXPECT_THAT(result, StatusIs(absl::StatusCode::kUnimplemented,
                                   HasSubstr("value 'maybe' is an optional(tensor(float)) that "
                                             "must change type here, which needs an If with "
                                             "optional outputs (opset 16)")));
      continue;
    }
    ASSERT_OK(result.status());
    EXPECT_OK(CheckConverted(result->model));
    ExpectNoCastOf(result->model.graph(), {"maybe"});
    EXPECT_EQ(CountOps(result->model.graph(), "If"), 1);
    ReferenceEvaluator evaluator;
    ASSERT_OK_AND_ASSIGN(
        ValueMap out,
        evaluator.RunValues(result->model, {{"maybe", Value::OptionalOf(FloatTensor({2}, {1, 2}))},
                                            {"x", FloatTensor({2}, {0.5f, 0.25f})}}));
    EXPECT_EQ(AsFloats(out.at("y").tensor()), (std::vector<float>{1.5f, 2.25f}));
  }
}

// Optional's `type` attribute (the type of an empty optional) follows the conversion.
TEST(SequencesTest, OptionalTypeAttributeFollows) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 16]>
    g (bool c, float[2] x) => (float[2] y) {
      o = If(c) <then_branch = t () => (float[2] some) { some = Optional(x) },
                 else_branch = e () => (float[2] none) { none = Optional() }>
      has = OptionalHasElement(o)
      y = Where(has, x, x)
    }
  )");
  // The branches' outputs and the If's are optionals; the empty one is typed by its attribute.
  onnx::NodeProto* branch = model.mutable_graph()->mutable_node(0);
  for (onnx::AttributeProto& a : *branch->mutable_attribute()) {
    DeclareOptional(a.mutable_g()->mutable_output(0));
    onnx::NodeProto* optional = a.mutable_g()->mutable_node(0);
    if (optional->input_size() == 0) {
      onnx::AttributeProto* type = optional->add_attribute();
      type->set_name("type");
      type->set_type(onnx::AttributeProto::TYPE_PROTO);
      type->mutable_tp()->mutable_tensor_type()->set_elem_type(kF32);
    }
  }
  ASSERT_OK_AND_ASSIGN(ConvertResult result, ConvertFloatToFloat16(model, ConvertOptions{}));
  EXPECT_OK(CheckConverted(result.model));
  for (const onnx::AttributeProto& a : result.model.graph().node(0).attribute()) {
    const onnx::NodeProto& optional = a.g().node(0);
    for (const onnx::AttributeProto& type : optional.attribute()) {
      EXPECT_EQ(type.tp().tensor_type().elem_type(), kF16) << a.name();
    }
  }
}

}  // namespace
}  // namespace halfcast
