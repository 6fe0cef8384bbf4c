#include "testing/onnx_text.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "onnx/defs/parser.h"

namespace halfcast::testing {

absl::StatusOr<onnx::ModelProto> TryParseModelText(std::string_view text) {
  onnx::ModelProto model;
  const std::string source(text);
  onnx::Common::Status status = onnx::OnnxParser::Parse(model, source.c_str());
  if (!status.IsOK()) {
    return absl::InvalidArgumentError(absl::StrCat("ONNX text: ", status.ErrorMessage()));
  }
  return model;
}

onnx::ModelProto ParseModelText(std::string_view text) {
  absl::StatusOr<onnx::ModelProto> model = TryParseModelText(text);
  EXPECT_TRUE(model.ok()) << model.status();
  return model.ok() ? *std::move(model) : onnx::ModelProto();
}

onnx::ModelProto NestedIfs(int depth) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2] x, bool c) => (float[2] y) {
      y = Identity(x)
    })");
  onnx::NodeProto* node = model.mutable_graph()->mutable_node(0);
  for (int level = 0; level < depth; ++level) {
    node->set_op_type("If");
    node->clear_input();
    node->add_input("c");
    onnx::AttributeProto* then_branch = node->add_attribute();
    then_branch->set_name("then_branch");
    then_branch->set_type(onnx::AttributeProto::GRAPH);
    onnx::GraphProto* body = then_branch->mutable_g();
    body->set_name("body");
    onnx::ValueInfoProto* out = body->add_output();
    out->set_name(node->output(0) + "_");
    out->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
    onnx::AttributeProto* else_branch = node->add_attribute();
    else_branch->set_name("else_branch");
    else_branch->set_type(onnx::AttributeProto::GRAPH);
    onnx::GraphProto* other = else_branch->mutable_g();
    other->set_name("other");
    *other->add_output() = *out;
    onnx::NodeProto* identity = other->add_node();
    identity->set_op_type("Identity");
    identity->add_input("x");
    identity->add_output(out->name());
    onnx::NodeProto* inner = body->add_node();
    inner->set_op_type("Identity");
    inner->add_input("x");
    inner->add_output(out->name());
    node = inner;
  }
  return model;
}

void DeclareSequenceOf(onnx::ValueInfoProto* value, int32_t elem) {
  value->mutable_type()->mutable_sequence_type()->mutable_elem_type()->mutable_tensor_type()
      ->set_elem_type(elem);
}

void DeclareOptionalOf(onnx::ValueInfoProto* value, int32_t elem) {
  value->mutable_type()->mutable_optional_type()->mutable_elem_type()->mutable_tensor_type()
      ->set_elem_type(elem);
}

}  // namespace halfcast::testing
