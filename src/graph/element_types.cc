#include "graph/element_types.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/onnx_adapter.h"
#include "common/status_macros.h"
#include "onnx/defs/data_type_utils.h"
#include "onnx/shape_inference/implementation.h"

namespace halfcast::graph {
namespace {

bool IsDefaultDomain(absl::string_view domain) { return domain.empty() || domain == "ai.onnx"; }

ValueType TypeFromString(const std::string& type_str) {
  try {
    return FromTypeProto(onnx::Utils::DataTypeUtils::ToTypeProto(
        onnx::Utils::DataTypeUtils::ToType(type_str)));
  } catch (...) {
    return {};
  }
}

ValueType TensorOf(int32_t elem) { return {ValueType::kTensor, elem}; }

const onnx::AttributeProto* FindAttr(const onnx::NodeProto& node, absl::string_view name) {
  for (const onnx::AttributeProto& attr : node.attribute()) {
    if (attr.name() == name) return &attr;
  }
  return nullptr;
}

// The formal parameter of actual slot `i`, the last one standing for a variadic tail.
const onnx::OpSchema::FormalParameter* Formal(
    const std::vector<onnx::OpSchema::FormalParameter>& formals, int i) {
  if (formals.empty()) return nullptr;
  if (i < static_cast<int>(formals.size())) return &formals[i];
  const auto& last = formals.back();
  return last.GetOption() == onnx::OpSchema::Variadic ? &last : nullptr;
}

// Collects types of one graph (declared ones) into the table. `s` is the graph's scope; `graph`
// is that scope's graph or its copy after onnx's shape inference, whose main graph lists the
// initializers as extra inputs after the original ones.
void CollectDeclared(const onnx::GraphProto& graph, const GraphIndex& index, int s,
                     TypeTable* table) {
  const Scope& scope = index.scope(s);
  const int inputs = std::min(graph.input_size(), static_cast<int>(scope.inputs.size()));
  for (int i = 0; i < inputs; ++i) {
    table->SetIfUnknown(scope.inputs[i], FromTypeProto(graph.input(i).type()));
  }
  const int initializers =
      std::min(graph.initializer_size(), static_cast<int>(scope.initializers.size()));
  for (int i = 0; i < initializers; ++i) {
    table->SetIfUnknown(scope.initializers[i], TensorOf(graph.initializer(i).data_type()));
  }
  for (const auto& t : graph.sparse_initializer()) {
    table->SetIfUnknown(s, t.values().name(), TensorOf(t.values().data_type()));
  }
  for (const auto& v : graph.value_info()) {
    table->SetIfUnknown(s, v.name(), FromTypeProto(v.type()));
  }
  const int outputs = std::min(graph.output_size(), static_cast<int>(scope.outputs.size()));
  for (int i = 0; i < outputs; ++i) {
    table->SetIfUnknown(scope.outputs[i], FromTypeProto(graph.output(i).type()));
  }
}

void CollectScopes(onnx::GraphProto* graph, std::vector<onnx::GraphProto*>* out) {
  out->push_back(graph);
  for (onnx::NodeProto& node : *graph->mutable_node()) {
    ForEachSubgraph(node, [&](onnx::GraphProto* sub, const std::string&) { CollectScopes(sub, out); });
  }
}

// onnx's inference must not run its own (older) schema on an op a table describes, nor trip on
// ops nothing describes: in the skeleton such nodes move to a domain onnx has no schemas for, so
// it skips them, and their outputs are declared with the types already known.
constexpr char kOpaqueDomain[] = "halfcast.opaque";

void HideOpsOnnxDoesNotKnow(const std::vector<onnx::GraphProto*>& graphs, const GraphIndex& index,
                            const NodeSchemas& schemas, const TypeTable& table) {
  for (int s = 0; s < index.size(); ++s) {
    onnx::GraphProto* graph = graphs[s];
    for (int n = 0; n < graph->node_size(); ++n) {
      const ops::OpSource source = schemas.Info(s, n).source;
      if (source == ops::OpSource::kOnnx || source == ops::OpSource::kLocalFunction) continue;
      graph->mutable_node(n)->set_domain(kOpaqueDomain);
      const absl::Span<const int> outputs = index.scope(s).node_outputs[n];
      for (int o = 0; o < static_cast<int>(outputs.size()); ++o) {
        const ValueType type = table.Get(outputs[o]);
        if (!type.HasElem()) continue;
        onnx::ValueInfoProto* v = graph->add_value_info();
        v->set_name(graph->node(n).output(o));
        *v->mutable_type() = ToTypeProto(type);
      }
    }
  }
}

// Runs onnx shape inference on a copy of the model whose main-graph initializers are replaced by
// graph inputs of the same type and shape: types never depend on tensor values, and the copy then
// costs nothing for large weights.
absl::Status InferWithOnnx(onnx::ModelProto& model, const GraphIndex& index,
                           const NodeSchemas& schemas, TypeTable* table) {
  onnx::ModelProto skeleton;
  {
    google::protobuf::RepeatedPtrField<onnx::TensorProto> initializers;
    initializers.Swap(model.mutable_graph()->mutable_initializer());
    skeleton = model;
    initializers.Swap(model.mutable_graph()->mutable_initializer());
    onnx::GraphProto* graph = skeleton.mutable_graph();
    absl::flat_hash_set<absl::string_view> inputs;
    for (const auto& v : model.graph().input()) inputs.insert(v.name());
    for (const onnx::TensorProto& t : model.graph().initializer()) {
      if (inputs.contains(t.name())) continue;
      onnx::ValueInfoProto* v = graph->add_input();
      v->set_name(t.name());
      auto* tensor_type = v->mutable_type()->mutable_tensor_type();
      tensor_type->set_elem_type(t.data_type());
      auto* shape = tensor_type->mutable_shape();
      for (int64_t d : t.dims()) shape->add_dim()->set_dim_value(d);
    }
    std::vector<onnx::GraphProto*> graphs;
    CollectScopes(graph, &graphs);
    if (static_cast<int>(graphs.size()) != index.size()) {
      return absl::InternalError("the model's copy has other scopes than its index");
    }
    HideOpsOnnxDoesNotKnow(graphs, index, schemas, *table);
    onnx::OperatorSetIdProto* opaque = skeleton.add_opset_import();
    opaque->set_domain(kOpaqueDomain);
    opaque->set_version(1);
  }
  absl::Status status = CallOnnx("onnx shape inference", [&] {
    onnx::shape_inference::InferShapes(skeleton, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(false, 0, false));
  });
  if (!status.ok()) return status;
  std::vector<onnx::GraphProto*> graphs;
  CollectScopes(skeleton.mutable_graph(), &graphs);
  if (static_cast<int>(graphs.size()) != index.size()) {
    return absl::InternalError("onnx shape inference changed the graph structure");
  }
  for (int s = 0; s < index.size(); ++s) CollectDeclared(*graphs[s], index, s, table);
  return absl::OkStatus();
}

class SchemaPropagation {
 public:
  SchemaPropagation(const GraphIndex& index, const NodeSchemas& schemas, TypeTable* table)
      : index_(index), schemas_(schemas), table_(table) {}

  void Run(int s) {
    const Scope& scope = index_.scope(s);
    for (int n = 0; n < scope.node_count(); ++n) {
      const absl::Span<const int> subs = scope.node_subgraphs[n];
      for (int sub : subs) {
        SeedBodyInputs(s, n, sub);
        Run(sub);
      }
      const absl::Span<const int> outputs = scope.node_outputs[n];
      for (int o = 0; o < static_cast<int>(outputs.size()); ++o) {
        const int id = outputs[o];
        if (id < 0 || table_->Get(id).known()) continue;
        table_->SetIfUnknown(id, OutputType(s, n, subs, o));
      }
    }
  }

 private:
  // Loop and Scan bodies may leave the types of their inputs out; they follow the node's inputs.
  void SeedBodyInputs(int s, int n, int sub) {
    const onnx::NodeProto& node = index_.scope(s).graph->node(n);
    const std::vector<int>& body_inputs = index_.scope(sub).inputs;
    const int count = std::min(static_cast<int>(body_inputs.size()), node.input_size());
    if (node.op_type() == "Loop") {
      for (int i = 2; i < count; ++i) {
        table_->SetIfUnknown(body_inputs[i], table_->Get(index_.InputId(s, n, i)));
      }
      if (!body_inputs.empty()) table_->SetIfUnknown(body_inputs[0], TensorOf(7));
      if (body_inputs.size() > 1) table_->SetIfUnknown(body_inputs[1], TensorOf(9));
    } else if (node.op_type() == "Scan") {
      for (int i = 0; i < count; ++i) {
        ValueType t = table_->Get(index_.InputId(s, n, i));
        if (t.kind == ValueType::kTensor) table_->SetIfUnknown(body_inputs[i], t);
      }
    }
  }

  ValueType OutputType(int s, int n, absl::Span<const int> subs, int o) {
    const onnx::NodeProto& node = index_.scope(s).graph->node(n);
    const std::string& op = node.op_type();
    const bool onnx_domain = IsDefaultDomain(node.domain());
    if (onnx_domain && !subs.empty()) {
      // If: the branch outputs; Loop: body outputs after `cond`; Scan: body outputs.
      const int body_slot = op == "Loop" ? o + 1 : o;
      for (int sub : subs) {
        const onnx::GraphProto& body = *index_.scope(sub).graph;
        if (body_slot >= body.output_size()) continue;
        ValueType t = table_->Get(index_.scope(sub).outputs[body_slot]);
        if (t.known()) return t;
      }
      return {};
    }
    if (onnx_domain && op == "Constant") {
      for (const onnx::AttributeProto& attr : node.attribute()) {
        if (attr.name() == "value") return TensorOf(attr.t().data_type());
        if (attr.name() == "sparse_value") return TensorOf(attr.sparse_tensor().values().data_type());
        if (attr.name() == "value_float" || attr.name() == "value_floats") {
          return TensorOf(onnx::TensorProto::FLOAT);
        }
        if (attr.name() == "value_int" || attr.name() == "value_ints") {
          return TensorOf(onnx::TensorProto::INT64);
        }
        if (attr.name() == "value_string" || attr.name() == "value_strings") {
          return TensorOf(onnx::TensorProto::STRING);
        }
      }
      return {};
    }
    if (onnx_domain && op == "ConstantOfShape") {
      const onnx::AttributeProto* value = FindAttr(node, "value");
      return TensorOf(value ? value->t().data_type() : onnx::TensorProto::FLOAT);
    }
    const onnx::OpSchema* schema = schemas_.Get(s, n);
    if (schema == nullptr) return {};
    const auto* formal = Formal(schema->outputs(), o);
    if (formal == nullptr) return {};
    const std::string& type_str = formal->GetTypeStr();
    // Bound by a typed input sharing the type parameter.
    for (int i = 0; i < node.input_size(); ++i) {
      const auto* in_formal = Formal(schema->inputs(), i);
      if (in_formal == nullptr || in_formal->GetTypeStr() != type_str || node.input(i).empty()) {
        continue;
      }
      ValueType t = table_->Get(index_.InputId(s, n, i));
      if (t.known()) return t;
    }
    // A sequence of `dtype` tensors (float when absent, as its schema says in words only).
    if (onnx_domain && op == "SequenceEmpty") {
      const onnx::AttributeProto* dtype = FindAttr(node, "dtype");
      return {ValueType::kSequence, dtype != nullptr ? static_cast<int32_t>(dtype->i())
                                                     : onnx::TensorProto::FLOAT};
    }
    // Fixed by an attribute (Cast `to`, random ops' `dtype`, window ops' `output_datatype`).
    for (const char* name : {"to", "dtype", "output_datatype"}) {
      const onnx::AttributeProto* attr = FindAttr(node, name);
      if (attr != nullptr && attr->type() == onnx::AttributeProto::INT) {
        return TensorOf(static_cast<int32_t>(attr->i()));
      }
    }
    if (formal->GetTypes().size() == 1) return TypeFromString(**formal->GetTypes().begin());
    // Without `dtype`, the *Like ops, EyeLike and Bernoulli produce their input's type.
    if (op == "RandomNormalLike" || op == "RandomUniformLike" || op == "EyeLike" ||
        op == "Bernoulli") {
      return node.input_size() > 0 ? table_->Get(index_.InputId(s, n, 0)) : ValueType{};
    }
    // An attribute left at its schema default (RandomNormal's dtype defaults to float).
    for (const char* name : {"dtype", "output_datatype"}) {
      auto it = schema->attributes().find(name);
      if (it != schema->attributes().end() && it->second.default_value.has_i()) {
        return TensorOf(static_cast<int32_t>(it->second.default_value.i()));
      }
    }
    return {};
  }

  const GraphIndex& index_;
  const NodeSchemas& schemas_;
  TypeTable* table_;
};

// What CheckAllUsedTyped is asked, and so what its error suggests.
enum class TypedCheck {
  kBeforeInference,   // shape inference is off: suggest turning it on
  kOnnxCannotType,    // count only values from ops onnx does not know (nor can infer)
  kAfterInference,    // shape inference ran and could not type the value
};

// The first used value without an element type, as an InvalidArgument error naming it, its
// producer and a user.
absl::Status CheckAllUsedTyped(const GraphIndex& index, const TypeTable& table,
                               const NodeSchemas& schemas, TypedCheck mode) {
  for (int s = 0; s < index.size(); ++s) {
    const onnx::GraphProto& graph = *index.scope(s).graph;
    auto check = [&](const std::string& name, int node) -> absl::Status {
      if (name.empty() || table.Get(s, name).known()) return absl::OkStatus();
      const std::string used_by =
          node < 0 ? std::string("a graph output")
                   : absl::StrCat("node '", NodeLabel(graph.node(node), node), "'");
      std::string producer = "a graph input";
      std::string advice = mode == TypedCheck::kBeforeInference
                               ? "declare it in value_info or enable shape inference"
                               : "declare it in value_info";
      const int d = index.DefiningScope(s, name);
      const ValueDef* def = d < 0 ? nullptr : index.LocalDef(d, name);
      if (def != nullptr && def->kind == ValueDef::kNodeOutput) {
        const onnx::NodeProto& node = index.scope(d).graph->node(def->index);
        const ops::OpSource source = schemas.Info(d, def->index).source;
        const bool onnx_knows =
            source == ops::OpSource::kOnnx || source == ops::OpSource::kLocalFunction;
        if (mode == TypedCheck::kOnnxCannotType && onnx_knows) return absl::OkStatus();
        const std::string op =
            absl::StrCat(node.domain().empty() ? "" : absl::StrCat(node.domain(), "."),
                         node.op_type());
        producer = absl::StrCat("an output of node '", NodeLabel(node, def->index), "' (", op,
                                ")");
        if (source == ops::OpSource::kUnknown) {
          advice = absl::StrCat("nothing describes op ", op,
                                " (no schema in onnx or halfcast's tables), so its output types "
                                "must be declared in value_info");
        } else if (!onnx_knows) {
          advice = absl::StrCat("the schema of ", op, " does not fix it; declare it in value_info");
        }
      } else if (mode == TypedCheck::kOnnxCannotType) {
        return absl::OkStatus();
      }
      return absl::InvalidArgumentError(absl::StrCat("cannot determine the element type of value '",
                                                     name, "' (", producer, ", used by ", used_by,
                                                     "); ", advice));
    };
    for (int n = 0; n < index.scope(s).node_count(); ++n) {
      const absl::Span<const int> inputs = index.scope(s).node_inputs[n];
      for (int i = 0; i < static_cast<int>(inputs.size()); ++i) {
        if (inputs[i] < 0 || table.Get(inputs[i]).known()) continue;
        HALFCAST_RETURN_IF_ERROR(check(graph.node(n).input(i), n));
      }
    }
    for (const auto& out : graph.output()) HALFCAST_RETURN_IF_ERROR(check(out.name(), -1));
  }
  return absl::OkStatus();
}

}  // namespace

std::string ValueType::SchemaString() const {
  if (kind == kUnknown || kind == kOther) return "";
  const std::string tensor =
      absl::StrCat("tensor(", onnx::Utils::DataTypeUtils::ToDataTypeString(elem), ")");
  switch (kind) {
    case kTensor:
      return tensor;
    case kSequence:
      return absl::StrCat("seq(", tensor, ")");
    case kOptional:
      return absl::StrCat("optional(", tensor, ")");
    case kOptionalSequence:
      return absl::StrCat("optional(seq(", tensor, "))");
    default:
      return "";
  }
}

onnx::TypeProto ToTypeProto(ValueType type) {
  onnx::TypeProto proto;
  onnx::TypeProto* tensor = &proto;
  if (type.kind == ValueType::kSequence) {
    tensor = proto.mutable_sequence_type()->mutable_elem_type();
  } else if (type.kind == ValueType::kOptional) {
    tensor = proto.mutable_optional_type()->mutable_elem_type();
  } else if (type.kind == ValueType::kOptionalSequence) {
    tensor = proto.mutable_optional_type()->mutable_elem_type()->mutable_sequence_type()
                 ->mutable_elem_type();
  }
  tensor->mutable_tensor_type()->set_elem_type(type.elem);
  return proto;
}

ValueType FromTypeProto(const onnx::TypeProto& type) {
  switch (type.value_case()) {
    case onnx::TypeProto::kTensorType:
      if (type.tensor_type().elem_type() == 0) return {};
      return {ValueType::kTensor, type.tensor_type().elem_type()};
    case onnx::TypeProto::kSequenceType: {
      ValueType inner = FromTypeProto(type.sequence_type().elem_type());
      if (inner.kind != ValueType::kTensor) return inner.known() ? ValueType{ValueType::kOther} : inner;
      return {ValueType::kSequence, inner.elem};
    }
    case onnx::TypeProto::kOptionalType: {
      ValueType inner = FromTypeProto(type.optional_type().elem_type());
      if (inner.kind == ValueType::kSequence) return {ValueType::kOptionalSequence, inner.elem};
      if (inner.kind != ValueType::kTensor) return inner.known() ? ValueType{ValueType::kOther} : inner;
      return {ValueType::kOptional, inner.elem};
    }
    case onnx::TypeProto::VALUE_NOT_SET:
      return {};
    default:
      return {ValueType::kOther};
  }
}

void SetElemType(onnx::TypeProto* type, int32_t elem) {
  switch (type->value_case()) {
    case onnx::TypeProto::kTensorType:
      type->mutable_tensor_type()->set_elem_type(elem);
      break;
    case onnx::TypeProto::kSequenceType:
      SetElemType(type->mutable_sequence_type()->mutable_elem_type(), elem);
      break;
    case onnx::TypeProto::kOptionalType:
      SetElemType(type->mutable_optional_type()->mutable_elem_type(), elem);
      break;
    default:
      break;
  }
}

NodeSchemas::NodeSchemas(const GraphIndex& index, const ops::SchemaLookup& lookup)
    : lookup_(lookup) {
  infos_.resize(index.size());
  for (int s = 0; s < index.size(); ++s) {
    const onnx::GraphProto& graph = *index.scope(s).graph;
    infos_[s].reserve(graph.node_size());
    for (const onnx::NodeProto& node : graph.node()) infos_[s].push_back(lookup.Info(node));
  }
}

namespace {

// onnx 1.12's inference functions trust a node to match its schema (a Scan without
// num_scan_inputs crashes them; found by tests/fuzz), so every node is checked first as onnx's
// checker would (input and output counts, required attributes, attribute types). A node of an
// opset newer than onnx knows may fail this too; the caller then goes on without onnx.
absl::Status CheckNodesMatchSchemas(const GraphIndex& index, const NodeSchemas& schemas) {
  for (int s = 0; s < index.size(); ++s) {
    const onnx::GraphProto& graph = *index.scope(s).graph;
    for (int n = 0; n < graph.node_size(); ++n) {
      // Only nodes onnx's inference will see (see HideOpsOnnxDoesNotKnow).
      if (schemas.Info(s, n).source != ops::OpSource::kOnnx) continue;
      const onnx::OpSchema* schema = schemas.Get(s, n);
      const onnx::NodeProto& node = graph.node(n);
      absl::Status verified = CallOnnx("onnx", [&] { schema->Verify(node); });
      if (!verified.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "node '", NodeLabel(node, n), "' (", node.op_type(), ") does not match its schema ",
            "(opset ", schema->SinceVersion(), "): ", verified.message()));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TypeTable> InferElementTypes(onnx::ModelProto& model, const GraphIndex& index,
                                            const NodeSchemas& schemas, bool use_shape_inference,
                                            std::vector<std::string>* notes) {
  TypeTable table(&index);
  for (int s = 0; s < index.size(); ++s) CollectDeclared(*index.scope(s).graph, index, s, &table);
  // The schemas' constraints give the same element types onnx's inference would for every op
  // they decide, in linear time; onnx's inference (much slower on large graphs) only runs when
  // some used value is left untyped (sequence ops, ops with inference-only type rules).
  SchemaPropagation(index, schemas, &table).Run(0);
  if (!use_shape_inference) {
    HALFCAST_RETURN_IF_ERROR(
        CheckAllUsedTyped(index, table, schemas, TypedCheck::kBeforeInference));
    return table;
  }
  if (CheckAllUsedTyped(index, table, schemas, TypedCheck::kAfterInference).ok()) return table;
  // A value from an op onnx does not know stays untyped whatever onnx infers, and onnx 1.12's
  // inference can crash on a node reading such a value (found by tests/fuzz): do not run it.
  HALFCAST_RETURN_IF_ERROR(CheckAllUsedTyped(index, table, schemas, TypedCheck::kOnnxCannotType));
  absl::Status inferred = CheckNodesMatchSchemas(index, schemas);
  if (inferred.ok()) inferred = InferWithOnnx(model, index, schemas, &table);
  if (!inferred.ok()) {
    notes->push_back(absl::StrCat(inferred.message(), "; element types taken from op schemas"));
  }
  SchemaPropagation(index, schemas, &table).Run(0);
  HALFCAST_RETURN_IF_ERROR(CheckAllUsedTyped(index, table, schemas, TypedCheck::kAfterInference));
  return table;
}

}  // namespace halfcast::graph
