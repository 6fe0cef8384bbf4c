#include "convert/op_policy.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "onnx/defs/data_type_utils.h"

namespace halfcast::convert {
namespace {

constexpr int32_t kFloat = onnx::TensorProto::FLOAT;

const onnx::OpSchema::FormalParameter* Formal(
    const std::vector<onnx::OpSchema::FormalParameter>& formals, int i) {
  if (formals.empty()) return nullptr;
  if (i < static_cast<int>(formals.size())) return &formals[i];
  const auto& last = formals.back();
  return last.GetOption() == onnx::OpSchema::Variadic ? &last : nullptr;
}

onnx::DataType Intern(const std::string& type_str) {
  try {
    return onnx::Utils::DataTypeUtils::ToType(type_str);
  } catch (...) {
    return nullptr;
  }
}

}  // namespace

OpPolicy::OpPolicy(const ConvertOptions& options, const graph::SchemaLookup& schemas,
                   int32_t target_type)
    : schemas_(schemas),
      target_(target_type),
      target_name_(target_type == onnx::TensorProto::BFLOAT16 ? "bfloat16" : "float16"),
      op_block_(options.op_block_list.begin(), options.op_block_list.end()),
      node_block_(options.node_block_list.begin(), options.node_block_list.end()) {
  for (std::size_t i : options.node_index_block_list) index_block_.insert(static_cast<int>(i));
  for (auto kind : {graph::ValueType::kTensor, graph::ValueType::kSequence,
                    graph::ValueType::kOptional}) {
    target_types_[kind] = Intern(graph::ValueType{kind, target_}.SchemaString());
  }
}

bool OpPolicy::Blocked(int s, int n, const onnx::NodeProto& node, NodeDecision* d) const {
  if (op_block_.contains(node.op_type())) {
    d->reason = KeepReason::kOpBlockList;
    d->detail = absl::StrCat("op type ", node.op_type(), " is in op_block_list");
  } else if (!node.name().empty() && node_block_.contains(node.name())) {
    d->reason = KeepReason::kNodeBlockList;
    d->detail = absl::StrCat("node name '", node.name(), "' is in node_block_list");
  } else if (s == 0 && index_block_.contains(n)) {
    d->reason = KeepReason::kNodeBlockList;
    d->detail = absl::StrCat("node index ", n, " is in node_index_block_list");
  } else if (schemas_.IsLocalFunction(node)) {
    d->reason = KeepReason::kModelFunction;
    d->detail = absl::StrCat("calls the model-local function ", node.domain(), ".",
                             node.op_type());
  } else if (schemas_.Find(node) == nullptr) {
    d->reason = KeepReason::kModelFunction;
    d->detail = schemas_.ModelOpset(node.domain()) == 0
                    ? absl::StrCat("domain '", node.domain(), "' is not imported by the model")
                    : absl::StrCat("onnx has no schema for op ", node.op_type(), " in domain '",
                                   node.domain(), "'");
  } else {
    return false;
  }
  return true;
}

bool OpPolicy::ApplySchema(const onnx::OpSchema& schema, const onnx::NodeProto& node,
                           const absl::InlinedVector<graph::ValueType, 4>& in_types,
                           const absl::InlinedVector<graph::ValueType, 4>& out_types,
                           NodeDecision* d) const {
  // Slots grouped by their formal type string (a type parameter such as "T", or a fixed type
  // such as "tensor(float)"): a type parameter forces one type on all its slots.
  struct Group {
    const std::string* type_str;  // owned by the schema
    bool has_input = false;
    bool has_output = false;
    bool allows_target = true;
  };
  absl::InlinedVector<Group, 4> groups;
  auto group_of = [&](const std::string& type_str) -> Group& {
    for (Group& g : groups) {
      if (*g.type_str == type_str) return g;
    }
    groups.push_back({&type_str});
    return groups.back();
  };
  auto visit = [&](const std::vector<onnx::OpSchema::FormalParameter>& formals,
                   const absl::InlinedVector<graph::ValueType, 4>& types, bool is_input) -> bool {
    for (int i = 0; i < static_cast<int>(types.size()); ++i) {
      if (!types[i].Is(kFloat)) continue;
      const auto* formal = Formal(formals, i);
      if (formal == nullptr) {
        d->reason = KeepReason::kSchema;
        d->detail = absl::StrCat(node.op_type(), "-", schema.SinceVersion(), " has no ",
                                 is_input ? "input " : "output ", i);
        return false;
      }
      Group& g = group_of(formal->GetTypeStr());
      (is_input ? g.has_input : g.has_output) = true;
      const onnx::DataType wanted =
          types[i].kind < graph::ValueType::kOther ? target_types_[types[i].kind] : nullptr;
      if (wanted == nullptr || formal->GetTypes().count(wanted) == 0) g.allows_target = false;
    }
    return true;
  };
  if (!visit(schema.inputs(), in_types, true) || !visit(schema.outputs(), out_types, false)) {
    return false;
  }
  for (const Group& g : groups) {
    if (g.allows_target || !(g.has_input && g.has_output)) continue;
    d->reason = KeepReason::kSchema;
    d->detail = absl::StrCat("type ", *g.type_str, " of ", node.op_type(), "-",
                             schema.SinceVersion(), " excludes ", target_name_);
    return false;
  }
  auto slot_ok = [&](const std::vector<onnx::OpSchema::FormalParameter>& formals, int i) {
    const std::string& type_str = Formal(formals, i)->GetTypeStr();
    for (const Group& g : groups) {
      if (*g.type_str == type_str) return g.allows_target;
    }
    return true;
  };
  bool any16 = false;
  for (int i = 0; i < static_cast<int>(in_types.size()); ++i) {
    if (!in_types[i].Is(kFloat)) continue;
    d->input16[i] = slot_ok(schema.inputs(), i);
    if (!d->input16[i]) d->float32_inputs.push_back(i);
    any16 |= d->input16[i] != 0;
  }
  for (int o = 0; o < static_cast<int>(out_types.size()); ++o) {
    if (!out_types[o].Is(kFloat)) continue;
    d->output16[o] = slot_ok(schema.outputs(), o);
    any16 |= d->output16[o] != 0;
  }
  if (!any16) {
    d->reason = KeepReason::kSchema;
    d->detail = absl::StrCat("no float slot of ", node.op_type(), "-", schema.SinceVersion(),
                             " accepts ", target_name_);
    d->float32_inputs.clear();
    return false;
  }
  return true;
}

NodeDecision OpPolicy::Decide(const graph::GraphIndex& index, const graph::TypeTable& types,
                              int s, int n) const {
  const onnx::NodeProto& node = index.scope(s).graph->node(n);
  NodeDecision d;
  d.input16.assign(node.input_size(), 0);
  d.output16.assign(node.output_size(), 0);
  absl::InlinedVector<graph::ValueType, 4> in_types(node.input_size());
  absl::InlinedVector<graph::ValueType, 4> out_types(node.output_size());
  for (int i = 0; i < node.input_size(); ++i) {
    in_types[i] = types.Get(index.InputId(s, n, i));
    d.relevant |= in_types[i].Is(kFloat);
  }
  for (int o = 0; o < node.output_size(); ++o) {
    out_types[o] = types.Get(index.OutputId(s, n, o));
    d.relevant |= out_types[o].Is(kFloat);
  }
  if (Blocked(s, n, node, &d)) return d;
  if (!d.relevant) {  // nothing to convert; "converted" keeps subgraph bodies consistent
    d.converted = true;
    return d;
  }
  const onnx::OpSchema* schema = schemas_.Find(node);
  if (!ApplySchema(*schema, node, in_types, out_types, &d)) {
    d.input16.assign(node.input_size(), 0);
    d.output16.assign(node.output_size(), 0);
    return d;
  }
  d.converted = true;
  return d;
}

}  // namespace halfcast::convert
