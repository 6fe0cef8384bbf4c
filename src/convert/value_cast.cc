#include "convert/value_cast.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace halfcast::convert {
namespace {

onnx::NodeProto* AddNode(onnx::GraphProto* graph, const char* op_type, const std::string& name,
                         std::vector<std::string> inputs, std::vector<std::string> outputs) {
  onnx::NodeProto* node = graph->add_node();
  node->set_op_type(op_type);
  node->set_name(name);
  for (std::string& i : inputs) node->add_input(std::move(i));
  for (std::string& o : outputs) node->add_output(std::move(o));
  return node;
}

void AddIntAttribute(onnx::NodeProto* node, const char* name, int64_t value) {
  onnx::AttributeProto* attr = node->add_attribute();
  attr->set_name(name);
  attr->set_type(onnx::AttributeProto::INT);
  attr->set_i(value);
}

void AddGraphAttribute(onnx::NodeProto* node, const char* name, onnx::GraphProto body) {
  onnx::AttributeProto* attr = node->add_attribute();
  attr->set_name(name);
  attr->set_type(onnx::AttributeProto::GRAPH);
  *attr->mutable_g() = std::move(body);
}

// A graph input or output `name` of `type`.
void Declare(google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>* values,
             const std::string& name, const onnx::TypeProto& type) {
  onnx::ValueInfoProto* v = values->Add();
  v->set_name(name);
  *v->mutable_type() = type;
}

onnx::TypeProto ScalarType(int32_t elem) {
  onnx::TypeProto type;
  type.mutable_tensor_type()->set_elem_type(elem);
  type.mutable_tensor_type()->mutable_shape();
  return type;
}

onnx::TypeProto TypeOf(graph::ValueType::Kind kind, int32_t elem) {
  return graph::ToTypeProto(graph::ValueType{kind, elem});
}

void AppendTensorCast(onnx::GraphProto* graph, const std::string& input, const std::string& output,
                      int32_t to, const NameMaker& make_name,
                      std::vector<onnx::NodeProto*>* nodes) {
  onnx::NodeProto* cast = AddNode(graph, "Cast", make_name(absl::StrCat(output, "_Cast")),
                                  {input}, {output});
  AddIntAttribute(cast, "to", to);
  nodes->push_back(cast);
}

// output = Loop(SequenceLength(input), "", SequenceEmpty<dtype = to>()), its body inserting
// Cast(SequenceAt(input, i)) into the carried sequence.
void AppendSequenceCast(onnx::GraphProto* graph, const std::string& input,
                        const std::string& output, int32_t to, const NameMaker& make_name,
                        std::vector<onnx::NodeProto*>* nodes) {
  const std::string length = make_name(absl::StrCat(input, "_length"));
  const std::string empty = make_name(absl::StrCat(output, "_empty"));
  nodes->push_back(AddNode(graph, "SequenceLength", make_name(absl::StrCat(length, "_node")),
                           {input}, {length}));
  onnx::NodeProto* start = AddNode(graph, "SequenceEmpty", make_name(absl::StrCat(empty, "_node")),
                                   {}, {empty});
  AddIntAttribute(start, "dtype", to);
  nodes->push_back(start);

  onnx::GraphProto body;
  body.set_name(make_name(absl::StrCat(output, "_cast_body")));
  const std::string i = make_name(absl::StrCat(output, "_i"));
  const std::string cond = make_name(absl::StrCat(output, "_cond"));
  const std::string acc = make_name(absl::StrCat(output, "_acc"));
  const std::string element = make_name(absl::StrCat(output, "_element"));
  const std::string cast = make_name(absl::StrCat(output, "_element_cast"));
  const std::string cond_out = make_name(absl::StrCat(output, "_cond_out"));
  const std::string acc_out = make_name(absl::StrCat(output, "_acc_out"));
  Declare(body.mutable_input(), i, ScalarType(onnx::TensorProto::INT64));
  Declare(body.mutable_input(), cond, ScalarType(onnx::TensorProto::BOOL));
  Declare(body.mutable_input(), acc, TypeOf(graph::ValueType::kSequence, to));
  AddNode(&body, "SequenceAt", make_name(absl::StrCat(element, "_node")), {input, i}, {element});
  std::vector<onnx::NodeProto*> unused;
  AppendTensorCast(&body, element, cast, to, make_name, &unused);
  AddNode(&body, "SequenceInsert", make_name(absl::StrCat(acc_out, "_node")), {acc, cast},
          {acc_out});
  AddNode(&body, "Identity", make_name(absl::StrCat(cond_out, "_node")), {cond}, {cond_out});
  Declare(body.mutable_output(), cond_out, ScalarType(onnx::TensorProto::BOOL));
  Declare(body.mutable_output(), acc_out, TypeOf(graph::ValueType::kSequence, to));
  onnx::NodeProto* loop =
      AddNode(graph, "Loop", make_name(absl::StrCat(output, "_Cast")), {length, "", empty},
              {output});
  AddGraphAttribute(loop, "body", std::move(body));
  nodes->push_back(loop);
}

// output = If(OptionalHasElement(input)): then the content cast and wrapped again, else an empty
// optional of the new type.
void AppendOptionalCast(onnx::GraphProto* graph, bool of_sequence, const std::string& input,
                        const std::string& output, int32_t to, const NameMaker& make_name,
                        std::vector<onnx::NodeProto*>* nodes) {
  const graph::ValueType::Kind kind =
      of_sequence ? graph::ValueType::kOptionalSequence : graph::ValueType::kOptional;
  const std::string has = make_name(absl::StrCat(input, "_has_element"));
  nodes->push_back(AddNode(graph, "OptionalHasElement", make_name(absl::StrCat(has, "_node")),
                           {input}, {has}));

  onnx::GraphProto then_branch;
  then_branch.set_name(make_name(absl::StrCat(output, "_cast_then")));
  const std::string content = make_name(absl::StrCat(input, "_content"));
  const std::string cast = make_name(absl::StrCat(output, "_content_cast"));
  const std::string wrapped = make_name(absl::StrCat(output, "_then"));
  AddNode(&then_branch, "OptionalGetElement", make_name(absl::StrCat(content, "_node")), {input},
          {content});
  std::vector<onnx::NodeProto*> unused;
  if (of_sequence) {
    AppendSequenceCast(&then_branch, content, cast, to, make_name, &unused);
  } else {
    AppendTensorCast(&then_branch, content, cast, to, make_name, &unused);
  }
  AddNode(&then_branch, "Optional", make_name(absl::StrCat(wrapped, "_node")), {cast}, {wrapped});
  Declare(then_branch.mutable_output(), wrapped, TypeOf(kind, to));

  onnx::GraphProto else_branch;
  else_branch.set_name(make_name(absl::StrCat(output, "_cast_else")));
  const std::string none = make_name(absl::StrCat(output, "_none"));
  onnx::NodeProto* empty =
      AddNode(&else_branch, "Optional", make_name(absl::StrCat(none, "_node")), {}, {none});
  onnx::AttributeProto* type = empty->add_attribute();
  type->set_name("type");
  type->set_type(onnx::AttributeProto::TYPE_PROTO);
  *type->mutable_tp() =
      TypeOf(of_sequence ? graph::ValueType::kSequence : graph::ValueType::kTensor, to);
  Declare(else_branch.mutable_output(), none, TypeOf(kind, to));

  onnx::NodeProto* branch =
      AddNode(graph, "If", make_name(absl::StrCat(output, "_Cast")), {has}, {output});
  AddGraphAttribute(branch, "then_branch", std::move(then_branch));
  AddGraphAttribute(branch, "else_branch", std::move(else_branch));
  nodes->push_back(branch);
}

}  // namespace

std::vector<onnx::NodeProto*> AppendValueCast(onnx::GraphProto* graph, graph::ValueType kind,
                                              absl::string_view input, absl::string_view output,
                                              int32_t to, const NameMaker& make_name) {
  std::vector<onnx::NodeProto*> nodes;
  const std::string in(input);
  const std::string out(output);
  switch (kind.kind) {
    case graph::ValueType::kSequence:
      AppendSequenceCast(graph, in, out, to, make_name, &nodes);
      break;
    case graph::ValueType::kOptional:
    case graph::ValueType::kOptionalSequence:
      AppendOptionalCast(graph, kind.kind == graph::ValueType::kOptionalSequence, in, out, to,
                         make_name, &nodes);
      break;
    default:
      AppendTensorCast(graph, in, out, to, make_name, &nodes);
  }
  return nodes;
}

}  // namespace halfcast::convert
