#include "convert/conversion.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "convert/cast_cleanup.h"
#include "convert/op_policy.h"
#include "convert/op_stats.h"
#include "convert/value_cast.h"
#include "graph/model_validation.h"
#include "graph/topo_sort.h"
#include "numerics/float16.h"

namespace halfcast::convert {
namespace {

constexpr int32_t kFloat = onnx::TensorProto::FLOAT;
// Attributes that set an op's output type.
constexpr const char* kTypeAttrs[2] = {"dtype", "output_datatype"};

bool IsOnnxDomain(const std::string& domain) { return domain.empty() || domain == "ai.onnx"; }

onnx::AttributeProto* FindAttr(onnx::NodeProto* node, absl::string_view name) {
  for (onnx::AttributeProto& attr : *node->mutable_attribute()) {
    if (attr.name() == name) return &attr;
  }
  return nullptr;
}

}  // namespace

bool Conversion::Produced16(int id) const {
  if (id < 0) return false;
  const graph::ValueDef* def = &index_->value(id);
  const int d = def->scope;
  switch (def->kind) {
    case graph::ValueDef::kGraphInput:
      return d == 0 ? !KeptIo(def->name) : OwnerConverted(d);
    case graph::ValueDef::kInitializer:
      return FollowsUses(id);
    case graph::ValueDef::kSparseInitializer:
      return false;  // sparse tensors stay as they are; 16-bit users get a Cast
    case graph::ValueDef::kNodeOutput: {
      // A converted constant is stored in whatever type its users want (float32 if all are).
      if (plan_[d].nodes[def->index].constant_follows_uses) return FollowsUses(id);
      return Output16(d, def->index, def->slot);
    }
  }
  return false;
}

absl::Status Conversion::CheckModel() {
  if (!model_->has_graph()) return absl::InvalidArgumentError("the model has no graph");
  HALFCAST_RETURN_IF_ERROR(graph::ValidateModel(*model_));
  absl::StatusOr<graph::GraphIndex> index = graph::GraphIndex::Build(model_->mutable_graph());
  if (!index.ok()) {
    // Nodes out of order are sorted, as ONNX Runtime does; any other fault (a cycle, a dangling
    // input) keeps the index's error, which names the nodes.
    absl::StatusOr<bool> sorted = graph::SortTopologically(model_->mutable_graph());
    if (!sorted.ok() || !*sorted) return index.status();
    index = graph::GraphIndex::Build(model_->mutable_graph());
    if (!index.ok()) return index.status();
    report_->notes.push_back("nodes were not in topological order; the output is sorted");
  }
  index_ = std::make_unique<graph::GraphIndex>(*std::move(index));
  const onnx::GraphProto& main = model_->graph();
  if (!options_.keep_io_names.empty()) {
    absl::flat_hash_set<std::string> io;
    for (const auto& v : main.input()) io.insert(v.name());
    for (const auto& v : main.output()) io.insert(v.name());
    for (const std::string& name : options_.keep_io_names) {
      if (!io.contains(name)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "keep_io_names: '", name, "' is not an input or output of the main graph"));
      }
      keep_io_names_.insert(name);
    }
  }
  for (std::size_t n : options_.node_index_block_list) {
    if (n >= static_cast<std::size_t>(main.node_size())) {
      return absl::InvalidArgumentError(
          absl::StrCat("node_index_block_list: ", n, " is not a node position (the main graph has ",
                       main.node_size(), " nodes)"));
    }
  }
  if (!options_.node_location_block_list.empty()) {
    absl::flat_hash_map<absl::string_view, int> scope_of;
    for (int s = 0; s < index_->size(); ++s) scope_of.emplace(index_->scope(s).location, s);
    for (const NodeLocation& location : options_.node_location_block_list) {
      auto it = scope_of.find(location.graph);
      if (it == scope_of.end()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "node_location_block_list: '", location.graph, "' is not a graph of the model"));
      }
      const int count = index_->scope(it->second).node_count();
      if (location.index >= static_cast<std::size_t>(count)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "node_location_block_list: ", location.index, " is not a node position of ",
            location.graph.empty() ? std::string("the main graph")
                                   : absl::StrCat("graph '", location.graph, "'"),
            " (it has ", count, " nodes)"));
      }
    }
  }
  if (target_ == onnx::TensorProto::BFLOAT16 && schemas_.ModelOpset("") < 13) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bfloat16 needs opset 13 or newer (Cast accepts bfloat16 from opset 13 on); the model "
        "imports opset ", schemas_.ModelOpset(""),
        " of the default domain; upgrade it first (onnx.version_converter.convert_version)"));
  }
  // onnx's checker requires these of the main graph, and onnx 1.12's shape inference crashes
  // on a graph input without a type (found by tests/fuzz).
  for (const auto* list : {&main.input(), &main.output()}) {
    for (const onnx::ValueInfoProto& v : *list) {
      const char* what = list == &main.input() ? "input" : "output";
      if (v.type().value_case() == onnx::TypeProto::VALUE_NOT_SET) {
        return absl::InvalidArgumentError(
            absl::StrCat("the main graph's ", what, " '", v.name(), "' has no type"));
      }
      if (v.type().has_tensor_type() && !v.type().tensor_type().has_elem_type()) {
        return absl::InvalidArgumentError(absl::StrCat("the main graph's ", what, " '", v.name(),
                                                       "' is a tensor with no element type"));
      }
    }
  }
  absl::flat_hash_set<std::string> outputs;
  for (const auto& v : main.output()) {
    if (!outputs.insert(v.name()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("the main graph lists output '", v.name(), "' twice"));
    }
  }
  return absl::OkStatus();
}

absl::Status Conversion::CheckFp16Ready() const {
  auto is16 = [](int32_t t) {
    return t == onnx::TensorProto::FLOAT16 || t == onnx::TensorProto::BFLOAT16;
  };
  auto refuse = [](const std::string& what) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the model already holds 16-bit floats (", what,
        "); set check_fp16_ready to false to convert its float32 parts"));
  };
  for (int s = 0; s < index_->size(); ++s) {
    const onnx::GraphProto& graph = *index_->scope(s).graph;
    for (const auto* list : {&graph.input(), &graph.output(), &graph.value_info()}) {
      for (const onnx::ValueInfoProto& v : *list) {
        const graph::ValueType t = graph::FromTypeProto(v.type());
        if (t.known() && is16(t.elem)) return refuse(absl::StrCat("value '", v.name(), "'"));
      }
    }
    for (const onnx::TensorProto& t : graph.initializer()) {
      if (is16(t.data_type())) return refuse(absl::StrCat("initializer '", t.name(), "'"));
    }
    for (int n = 0; n < graph.node_size(); ++n) {
      const onnx::NodeProto& node = graph.node(n);
      for (const onnx::AttributeProto& attr : node.attribute()) {
        const bool cast16 = node.op_type() == "Cast" && attr.name() == "to" && is16(attr.i());
        const bool tensor16 = attr.has_t() && is16(attr.t().data_type());
        if (cast16 || tensor16) {
          return refuse(absl::StrCat("attribute '", attr.name(), "' of node '",
                                     graph::NodeLabel(node, n), "'"));
        }
      }
    }
  }
  return absl::OkStatus();
}

void Conversion::AddOpsetNotes() {
  const ops::OpCatalog& catalog = ops::OpCatalog::Instance();
  for (const auto& opset : model_->opset_import()) {
    const absl::string_view domain = ops::CanonicalDomain(opset.domain());
    const int onnx_newest = ops::OpCatalog::OnnxNewestOpset(domain);
    if (opset.version() <= onnx_newest) continue;
    const int table_newest = catalog.TableNewestOpset(domain);
    std::string note = absl::StrCat("model imports opset ", opset.version(), " of domain '",
                                    domain, "'; the linked onnx knows ");
    if (onnx_newest == 0) {
      absl::StrAppend(&note, "no ops of it");
    } else {
      absl::StrAppend(&note, "up to opset ", onnx_newest);
    }
    if (table_newest > 0) {
      absl::StrAppend(&note, ", halfcast's tables describe its ops up to opset ", table_newest);
    }
    if (onnx_newest > 0) {
      absl::StrAppend(&note, "; ops neither describes at this opset use onnx's newest schema");
    }
    if (onnx_newest > 0 || table_newest > 0) {
      absl::StrAppend(&note, " (report op_sources says which source typed each op)");
    }
    report_->notes.push_back(std::move(note));
  }
}

void Conversion::AddOpStats() {
  report_->op_sources =
      CountOpSources(*index_, *node_schemas_,
                     [&](const onnx::NodeProto& node) { return policy_->Declared16(node); });
  for (const OpSourceCount& op : report_->op_sources) {
    const std::string name =
        op.domain.empty() ? op.op_type : absl::StrCat(op.domain, ":", op.op_type);
    if (op.source == "unknown") {
      report_->notes.push_back(absl::StrCat("unknown op ", name, " (", op.nodes,
                                            op.nodes == 1 ? " node" : " nodes",
                                            ") kept float32: no schema in onnx or halfcast's "
                                            "tables; declare it in fp16_ops if it runs in 16 bits"));
    }
  }
  for (const std::string& declared : options_.fp16_ops) {
    const auto [domain, op_type] = SplitDeclaredOp(declared);
    for (const OpSourceCount& op : report_->op_sources) {
      if (op.domain != domain || op.op_type != op_type || op.source == "declared") continue;
      report_->notes.push_back(absl::StrCat("fp16_ops names ", declared, ", which ", op.source,
                                            " describes: its schema decides its precision"));
    }
  }
  report_->matmul_flops = CountMatMulFlops(*index_, [&](int s, int n) {
    const NodePlan& plan = plan_[s].nodes[n];
    return plan.converted && plan.relevant && index_->scope(s).node_inputs[n].size() > 0 &&
           Input16(s, n, 0);
  });
}

// Casting a branch's float32 result to 16 bits and back after the If would only lose precision
// (mixed precision keeps such nodes float32 to avoid exactly that), so an If output that every
// branch makes with a float32 node stays float32. Inner Ifs first (their scopes come later in
// pre-order), so an outer If sees what an inner one decided.
void Conversion::KeepFloat32IfOutputs() {
  for (int s = index_->size() - 1; s >= 0; --s) {
    const graph::Scope& scope = index_->scope(s);
    for (int n = 0; n < scope.node_count(); ++n) {
      const onnx::NodeProto& node = scope.graph->node(n);
      if (node.op_type() != "If" || !IsOnnxDomain(node.domain()) ||
          !plan_[s].nodes[n].converted) {
        continue;
      }
      const absl::Span<const int> branches = scope.node_subgraphs[n];
      for (int j = 0; j < node.output_size(); ++j) {
        if (!Output16(s, n, j)) continue;
        bool float32 = !branches.empty();
        for (int b : branches) {
          const graph::Scope& branch = index_->scope(b);
          if (!float32 || j >= static_cast<int>(branch.outputs.size())) {
            float32 = false;
            break;
          }
          const int id = branch.outputs[j];
          const graph::ValueDef& def = index_->value(id);
          float32 = def.kind == graph::ValueDef::kNodeOutput && def.scope == b &&
                    !plan_[b].nodes[def.index].constant_follows_uses &&
                    types_->Get(id).Is(kFloat) && !Output16(b, def.index, def.slot);
        }
        if (float32) plan_[s].output16[scope.node_outputs.begin[n] + j] = 0;
      }
    }
  }
}

void Conversion::Decide() {
  policy_ = std::make_unique<OpPolicy>(options_, *node_schemas_, target_);
  const OpPolicy& policy = *policy_;
  plan_.resize(index_->size());
  for (int s = 0; s < index_->size(); ++s) {
    const graph::Scope& scope = index_->scope(s);
    const onnx::GraphProto& graph = *scope.graph;
    ScopePlan& plan = plan_[s];
    plan.nodes.resize(scope.node_count());
    plan.input16.assign(scope.node_inputs.ids.size(), 0);
    plan.output16.assign(scope.node_outputs.ids.size(), 0);
    for (int n = 0; n < scope.node_count(); ++n) {
      const NodeDecision d = policy.Decide(*index_, *types_, s, n);
      NodePlan& node_plan = plan.nodes[n];
      node_plan.relevant = d.relevant;
      node_plan.converted = d.converted;
      node_plan.reason = d.reason;
      std::copy(d.input16.begin(), d.input16.end(),
                plan.input16.begin() + scope.node_inputs.begin[n]);
      std::copy(d.output16.begin(), d.output16.end(),
                plan.output16.begin() + scope.node_outputs.begin[n]);
      if (!d.detail.empty() || !d.float32_inputs.empty()) {
        node_plan.kept_info = static_cast<int>(kept_info_.size());
        kept_info_.push_back({d.detail, d.float32_inputs});
      }
      const onnx::NodeProto& node = graph.node(n);
      if (node.op_type() != "Constant" || !IsOnnxDomain(node.domain()) || !d.converted) continue;
      bool sparse = false;
      for (const auto& attr : node.attribute()) sparse |= attr.name() == "sparse_value";
      node_plan.constant_follows_uses = !sparse;
    }
  }
}

// ONNX Runtime refuses a graph with two nodes of the same name; later duplicates get fresh names.
void Conversion::MakeNodeNamesUnique() {
  const auto& duplicates = names_->duplicate_node_names();
  for (const auto& [s, n] : duplicates) {
    onnx::NodeProto* node = index_->scope(s).graph->mutable_node(n);
    node->set_name(names_->Make(node->name()));
  }
  if (!duplicates.empty()) {
    report_->notes.push_back(absl::StrCat(
        duplicates.size(), " nodes shared a name with an earlier node and were renamed"));
  }
}

void Conversion::CollectUses() {
  wants_.assign(index_->value_count(), 0);
  auto use = [&](int id, bool want16) {
    if (id >= 0 && types_->Get(id).Is(kFloat)) wants_[id] |= want16 ? 2 : 1;
  };
  for (int s = 0; s < index_->size(); ++s) {
    const graph::Scope& scope = index_->scope(s);
    // Flat over all node inputs: plan.input16 is laid out as the index's node_inputs.
    const std::vector<int>& input_ids = scope.node_inputs.ids;
    for (size_t k = 0; k < input_ids.size(); ++k) use(input_ids[k], plan_[s].input16[k] != 0);
    for (int j = 0; j < scope.graph->output_size(); ++j) {
      use(scope.outputs[j], OutputWants16(s, j, scope.graph->output(j).name()));
    }
  }
}

absl::Status Conversion::ConvertTensor(onnx::TensorProto* tensor, const std::string& label) {
  ClipCounts counts;
  HALFCAST_RETURN_IF_ERROR(ConvertTensorTo16(tensor, clip_, &counts));
  if (counts.below_min != 0 || counts.above_max != 0) {
    report_->clipped.push_back({label, counts.below_min, counts.above_max});
  }
  return absl::OkStatus();
}

// Converts initializers and the tensors, dtypes and Cast targets of converted nodes.
absl::Status Conversion::ConvertConstants(int s) {
  onnx::GraphProto* graph = index_->scope(s).graph;
  const std::vector<int>& initializer_ids = index_->scope(s).initializers;
  for (int i = 0; i < static_cast<int>(initializer_ids.size()); ++i) {
    onnx::TensorProto& t = *graph->mutable_initializer(i);
    const bool external = t.data_location() == onnx::TensorProto::EXTERNAL;
    has_external_initializers_ |= external;
    if (t.data_type() != kFloat || !Produced16(initializer_ids[i])) continue;
    ++report_->initializers_converted;
    if (stream_external_ && external) {
      external_to_convert_.insert(&t);
      continue;
    }
    HALFCAST_RETURN_IF_ERROR(ConvertTensor(&t, t.name()));
  }
  for (int n = 0; n < index_->scope(s).node_count(); ++n) {
    const NodePlan& d = plan_[s].nodes[n];
    onnx::NodeProto* node = graph->mutable_node(n);
    for (const onnx::AttributeProto& attr : node->attribute()) {
      has_external_initializers_ |=
          attr.has_t() && attr.t().data_location() == onnx::TensorProto::EXTERNAL;
    }
    if (!d.converted || !d.relevant) continue;
    const std::string& op = node->op_type();
    const int out_id = node->output_size() > 0 ? index_->OutputId(s, n, 0) : -1;
    const bool out16 = types_->Get(out_id).Is(kFloat) && Produced16(out_id);
    if (op == "Constant" && !out16) continue;  // all its users want float32
    ++report_->nodes_converted;
    if (!out16 || !IsOnnxDomain(node->domain())) continue;
    if (op == "Constant") {
      if (onnx::AttributeProto* value = FindAttr(node, "value_float")) {
        const float x = value->f();
        node->clear_attribute();
        onnx::AttributeProto* attr = node->add_attribute();
        attr->set_name("value");
        attr->set_type(onnx::AttributeProto::TENSOR);
        attr->mutable_t()->set_data_type(kFloat);
        attr->mutable_t()->add_float_data(x);
      } else if (onnx::AttributeProto* values = FindAttr(node, "value_floats")) {
        onnx::TensorProto tensor;
        tensor.set_data_type(kFloat);
        tensor.add_dims(values->floats_size());
        *tensor.mutable_float_data() = values->floats();
        node->clear_attribute();
        onnx::AttributeProto* attr = node->add_attribute();
        attr->set_name("value");
        attr->set_type(onnx::AttributeProto::TENSOR);
        *attr->mutable_t() = std::move(tensor);
      }
    } else if (op == "SequenceEmpty" && FindAttr(node, "dtype") == nullptr) {
      // Its schema states the float32 default in words only: spell out the target type.
      onnx::AttributeProto* attr = node->add_attribute();
      attr->set_name("dtype");
      attr->set_type(onnx::AttributeProto::INT);
      attr->set_i(target_);
    } else if (op == "ConstantOfShape" && FindAttr(node, "value") == nullptr) {
      // The default value is a float32 zero: spell it out in the target type.
      onnx::AttributeProto* attr = node->add_attribute();
      attr->set_name("value");
      attr->set_type(onnx::AttributeProto::TENSOR);
      attr->mutable_t()->set_data_type(target_);
      attr->mutable_t()->add_dims(1);
      attr->mutable_t()->set_raw_data(std::string(2, '\0'));
    }
    for (onnx::AttributeProto& attr : *node->mutable_attribute()) {
      if (attr.has_t() && attr.t().data_type() == kFloat) {
        if (stream_external_ && attr.t().data_location() == onnx::TensorProto::EXTERNAL) {
          external_to_convert_.insert(attr.mutable_t());
          continue;
        }
        const std::string label =
            op == "Constant" ? node->output(0)
                             : absl::StrCat(graph::NodeLabel(*node, n), ".", attr.name());
        HALFCAST_RETURN_IF_ERROR(ConvertTensor(attr.mutable_t(), label));
      }
      const bool type_attr = (op == "Cast" && attr.name() == "to") || attr.name() == "dtype" ||
                             attr.name() == "output_datatype";
      if (type_attr && attr.type() == onnx::AttributeProto::INT && attr.i() == kFloat) {
        attr.set_i(target_);
      }
      // A type given whole (Optional's `type`): its float32 tensors become the target type.
      if (attr.has_tp() && graph::FromTypeProto(attr.tp()).Is(kFloat)) {
        graph::SetElemType(attr.mutable_tp(), target_);
      }
    }
    // An output type left at a schema default of float32 (RandomNormal's dtype) is spelt out.
    if (const onnx::OpSchema* schema = node_schemas_->Get(s, n)) {
      const std::array<bool, 2>& float_defaults = FloatDefaultTypeAttrs(*schema);
      for (int a = 0; a < 2; ++a) {
        const char* name = kTypeAttrs[a];
        if (!float_defaults[a] || FindAttr(node, name) != nullptr) continue;
        onnx::AttributeProto* attr = node->add_attribute();
        attr->set_name(name);
        attr->set_type(onnx::AttributeProto::INT);
        attr->set_i(target_);
      }
    }
  }
  return absl::OkStatus();
}

const std::array<bool, 2>& Conversion::FloatDefaultTypeAttrs(const onnx::OpSchema& schema) {
  auto [it, inserted] = float_default_attrs_.try_emplace(&schema);
  if (inserted) {
    for (int a = 0; a < 2; ++a) {
      auto attr = schema.attributes().find(kTypeAttrs[a]);
      it->second[a] = attr != schema.attributes().end() && attr->second.default_value.has_i() &&
                      attr->second.default_value.i() == kFloat;
    }
  }
  return it->second;
}

absl::Status Conversion::MakeCast(int s, int after, int id, absl::string_view input,
                                  absl::string_view output, int32_t to) {
  const graph::ValueType type = types_->Get(id);
  const bool optional =
      type.kind == graph::ValueType::kOptional || type.kind == graph::ValueType::kOptionalSequence;
  if (optional && schemas_.ModelOpset("") < 16) {
    return absl::UnimplementedError(absl::StrCat(
        "value '", input, "' is an ", type.SchemaString(), " that must change type here, which "
        "needs an If with optional outputs (opset 16); the model imports opset ",
        schemas_.ModelOpset(""), ": upgrade it, or leave out keep_io_types"));
  }
  // Appended to the graph, which owns them from here on; Materialize moves them into place.
  const std::vector<onnx::NodeProto*> nodes =
      AppendValueCast(index_->scope(s).graph, type, input, output, to,
                      [this](absl::string_view base) { return names_->Make(base); });
  for (onnx::NodeProto* node : nodes) rewrite_[s].casts.emplace_back(after, node);
  ++report_->casts_inserted;
  return absl::OkStatus();
}

// The name under which scope `s` reads value `id` in the wanted precision, inserting a Cast into
// `s` the first time a precision is missing (at most one per value and type per scope). The view
// is valid until the next Lookup.
absl::StatusOr<absl::string_view> Conversion::Lookup(int s, int id, bool want16) {
  const graph::ValueDef* def = &index_->value(id);
  const int d = def->scope;
  const absl::string_view name = def->name;
  if (Produced16(id) == want16) return CurrentName(id);
  for (int t = s;; t = index_->scope(t).parent) {
    auto it = rewrite_[t].available.find(id);
    if (it != rewrite_[t].available.end() && !it->second[want16].empty()) {
      return it->second[want16];
    }
    if (t == d) break;
  }
  const int32_t to = want16 ? target_ : kFloat;
  const std::string suffix =
      want16 ? (target_ == onnx::TensorProto::BFLOAT16 ? "_to_bf16" : "_to_fp16") : "_to_fp32";
  std::string out = names_->Make(absl::StrCat(name, suffix));
  ScopeRewrite& rw = rewrite_[s];
  if (def->kind == graph::ValueDef::kInitializer &&
      ElementCount(index_->scope(d).graph->initializer(def->index)) == 0) {
    // An empty tensor stays a visibly empty initializer (Resize reads empty scales as "absent").
    onnx::TensorProto* copy = index_->scope(s).graph->add_initializer();
    copy->set_name(out);
    copy->set_data_type(to);
    *copy->mutable_dims() = index_->scope(d).graph->initializer(def->index).dims();
  } else {
    const bool after_producer = s == d && def->kind == graph::ValueDef::kNodeOutput;
    HALFCAST_RETURN_IF_ERROR(
        MakeCast(s, after_producer ? def->index : -1, id, CurrentName(id), out, to));
    if (def->kind == graph::ValueDef::kInitializer && !want16 && shared_.emplace(name).second) {
      report_->shared_initializers.emplace_back(name);
    }
  }
  rw.final_type[out] = to;
  std::string& available = rw.available[id][want16];
  available = std::move(out);
  return absl::string_view(available);
}

absl::Status Conversion::PlaceBoundaryCasts(int s) {
  onnx::GraphProto* graph = index_->scope(s).graph;
  ScopeRewrite& rw = rewrite_[s];
  if (s == 0) {
    // A main-graph output keeps its name: when its type differs from what its producer makes,
    // the producer's value is renamed and a Cast writes the output.
    for (int j = 0; j < graph->output_size(); ++j) {
      const std::string v = graph->output(j).name();
      const int id = index_->scope(0).outputs[j];
      if (!types_->Get(id).Is(kFloat) || renamed_.contains(id)) continue;
      const bool want16 = OutputWants16(0, j, v);
      const bool have16 = Produced16(id);
      const graph::ValueDef* def = &index_->value(id);
      if (have16 == want16 || def->kind == graph::ValueDef::kGraphInput ||
          def->kind == graph::ValueDef::kSparseInitializer) {
        continue;
      }
      const std::string renamed = names_->Make(absl::StrCat(v, have16 ? "_16bit" : "_fp32"));
      if (def->kind == graph::ValueDef::kNodeOutput) {
        graph->mutable_node(def->index)->set_output(def->slot, renamed);
        HALFCAST_RETURN_IF_ERROR(MakeCast(0, def->index, id, renamed, v, want16 ? target_ : kFloat));
      } else {
        graph->mutable_initializer(def->index)->set_name(renamed);
        HALFCAST_RETURN_IF_ERROR(MakeCast(0, -1, id, renamed, v, want16 ? target_ : kFloat));
      }
      renamed_[id] = renamed;
      rw.final_type[renamed] = have16 ? target_ : kFloat;
      rw.final_type[v] = want16 ? target_ : kFloat;
      rw.available[id][want16] = v;
    }
  }
  for (int n = 0; n < index_->scope(s).node_count(); ++n) {
    const absl::Span<const int> inputs = index_->scope(s).node_inputs[n];
    for (int i = 0; i < static_cast<int>(inputs.size()); ++i) {
      const int id = inputs[i];
      if (!types_->Get(id).Is(kFloat)) continue;
      const bool want16 = Input16(s, n, i);
      // Most inputs read their value as it is, under its own name: no need to look at the node.
      if (Produced16(id) == want16 && renamed_.empty()) continue;
      HALFCAST_ASSIGN_OR_RETURN(const absl::string_view name, Lookup(s, id, want16));
      onnx::NodeProto* node = graph->mutable_node(n);
      if (name != node->input(i)) node->set_input(i, std::string(name));
    }
  }
  if (s != 0) {
    for (int j = 0; j < graph->output_size(); ++j) {
      const int id = index_->scope(s).outputs[j];
      if (!types_->Get(id).Is(kFloat)) continue;
      HALFCAST_ASSIGN_OR_RETURN(const absl::string_view name,
                                Lookup(s, id, OutputWants16(s, j, graph->output(j).name())));
      if (name != graph->output(j).name()) graph->mutable_output(j)->set_name(std::string(name));
    }
  }
  return absl::OkStatus();
}

int32_t Conversion::FinalElemType(int s, const std::string& name) const {
  for (int t = s; t >= 0; t = index_->scope(t).parent) {
    auto it = rewrite_[t].final_type.find(name);
    if (it != rewrite_[t].final_type.end()) return it->second;
  }
  const int id = index_->Resolve(s, name);
  const graph::ValueType type = types_->Get(id);
  if (!type.known()) return 0;
  if (type.Is(kFloat) && Produced16(id)) return target_;
  return type.elem;
}

void Conversion::Retype(int s) {
  onnx::GraphProto* graph = index_->scope(s).graph;
  auto retype = [&](onnx::ValueInfoProto& v) {
    const graph::ValueType type = graph::FromTypeProto(v.type());
    if (!type.known() || type.kind == graph::ValueType::kOther) return;
    const int32_t elem = FinalElemType(s, v.name());
    if (elem != 0 && elem != type.elem) graph::SetElemType(v.mutable_type(), elem);
  };
  for (auto& v : *graph->mutable_input()) retype(v);
  for (auto& v : *graph->mutable_output()) retype(v);
  for (auto& v : *graph->mutable_value_info()) retype(v);
}

void Conversion::Materialize(int s) {
  ScopeRewrite& rw = rewrite_[s];
  if (rw.casts.empty()) return;
  auto* nodes = index_->scope(s).graph->mutable_node();
  const int count = index_->scope(s).node_count();
  // MakeCast appended the casts after the original nodes; only the pointers move into place.
  // The sort is stable: casts after one node keep the order they were made in.
  std::stable_sort(rw.casts.begin(), rw.casts.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<onnx::NodeProto*> order;
  order.reserve(nodes->size());
  size_t next = 0;
  while (next < rw.casts.size() && rw.casts[next].first < 0) {
    order.push_back(rw.casts[next++].second);
  }
  for (int n = 0; n < count; ++n) {
    order.push_back(nodes->Mutable(n));
    while (next < rw.casts.size() && rw.casts[next].first == n) {
      order.push_back(rw.casts[next++].second);
    }
  }
  std::copy(order.begin(), order.end(), nodes->pointer_begin());
  rw.casts.clear();
}

void Conversion::AddKeptInfo(int s, int n) {
  const NodePlan& d = plan_[s].nodes[n];
  if (!d.relevant || (d.converted && d.kept_info < 0)) return;
  const onnx::NodeProto& node = index_->scope(s).graph->node(n);
  const KeptInfo* info = d.kept_info < 0 ? nullptr : &kept_info_[d.kept_info];
  if (!d.converted) {
    report_->kept_nodes.push_back({index_->scope(s).path, static_cast<std::size_t>(n), node.name(),
                                   node.op_type(), d.reason, info ? info->detail : "",
                                   index_->scope(s).location});
  }
  if (info == nullptr) return;
  for (int i : info->float32_inputs) {
    // The name in the input model: the node reads a Cast's output by now.
    report_->float32_inputs.push_back({index_->scope(s).path, static_cast<std::size_t>(n),
                                       node.name(), node.op_type(), i,
                                       std::string(index_->value(index_->InputId(s, n, i)).name)});
  }
}

uint64_t CountTensorBytes(const onnx::GraphProto& graph) {
  uint64_t bytes = 0;
  for (const auto& t : graph.initializer()) bytes += TensorBytes(t);
  for (const auto& node : graph.node()) {
    for (const auto& attr : node.attribute()) {
      if (attr.has_t()) bytes += TensorBytes(attr.t());
      for (const auto& t : attr.tensors()) bytes += TensorBytes(t);
      if (attr.has_g()) bytes += CountTensorBytes(attr.g());
      for (const auto& g : attr.graphs()) bytes += CountTensorBytes(g);
    }
  }
  return bytes;
}

absl::Status Conversion::Run() {
  // Stage timings go to the log at debug level: the figures behind bench/convert.
  absl::Time last = absl::Now();
  auto stage = [&](const char* name) {
    if (!options_.log) return;
    const absl::Time now = absl::Now();
    Log(options_.log, LogLevel::kDebug,
        absl::StrCat("stage ", name, ": ", absl::ToDoubleMilliseconds(now - last), " ms"));
    last = now;
  };
  HALFCAST_RETURN_IF_ERROR(CheckModel());
  if (options_.check_fp16_ready) HALFCAST_RETURN_IF_ERROR(CheckFp16Ready());
  report_->bytes_before = CountTensorBytes(model_->graph());
  AddOpsetNotes();
  stage("index");
  node_schemas_ = std::make_unique<graph::NodeSchemas>(*index_, schemas_);
  HALFCAST_ASSIGN_OR_RETURN(
      graph::TypeTable types,
      graph::InferElementTypes(*model_, *index_, *node_schemas_, !options_.disable_shape_infer,
                               &report_->notes));
  types_ = std::make_unique<graph::TypeTable>(std::move(types));
  stage("element types");
  names_ = std::make_unique<graph::NameGenerator>(*index_);
  stage("names");
  Decide();
  KeepFloat32IfOutputs();
  AddOpStats();
  HALFCAST_RETURN_IF_ERROR(policy_->CheckUnmatched(options_, report_));
  MakeNodeNamesUnique();
  CollectUses();
  stage("policy and plan");
  rewrite_.resize(index_->size());
  // Each pass visits every scope in pre-order: an enclosing graph is rewritten before its
  // subgraphs, so a subgraph reuses the Casts its enclosing graph already has.
  const std::vector<std::pair<const char*, absl::Status (Conversion::*)(int)>> passes = {
      {"convert constants", &Conversion::ConvertConstants},
      {"place boundary casts", &Conversion::PlaceBoundaryCasts},
  };
  for (const auto& [name, pass] : passes) {
    for (int s = 0; s < index_->size(); ++s) {
      absl::Status status = (this->*pass)(s);
      if (!status.ok()) {
        return absl::Status(status.code(), absl::StrCat(name, ": ", status.message()));
      }
    }
    stage(name);
  }
  for (int s = 0; s < index_->size(); ++s) {
    Retype(s);
    for (int n = 0; n < index_->scope(s).node_count(); ++n) AddKeptInfo(s, n);
    Materialize(s);
  }
  stage("retype");
  report_->casts_removed = CleanupCasts(
      *index_, [this](int s, const std::string& name) { return FinalElemType(s, name); });
  report_->bytes_after = CountTensorBytes(model_->graph());
  stage("cleanup");
  int64_t below = 0;
  int64_t above = 0;
  for (const ClippedTensor& c : report_->clipped) {
    below += c.below_min;
    above += c.above_max;
  }
  Log(options_.log, LogLevel::kInfo,
      absl::StrCat("converted ", report_->nodes_converted, " nodes, kept ",
                   report_->kept_nodes.size(), " in float32; ", report_->casts_inserted,
                   " casts inserted, ", report_->casts_removed, " removed"));
  if (below + above > 0) {
    Log(options_.log, LogLevel::kWarning,
        absl::StrCat("clipped ", below, " values below min_positive_val and ", above,
                     " above max_finite_val in ", report_->clipped.size(), " tensors"));
  }
  for (const std::string& note : report_->notes) Log(options_.log, LogLevel::kInfo, note);
  return absl::OkStatus();
}

absl::Status ValidateOptions(const ConvertOptions& options) {
  if (options.target != TargetType::kFloat16 && options.target != TargetType::kBFloat16) {
    return absl::InvalidArgumentError("target must be float16 or bfloat16");
  }
  const float limit = options.target == TargetType::kBFloat16 ? numerics::kBFloat16MaxFiniteValue
                                                              : numerics::kHalfMaxFiniteValue;
  if (!(options.min_positive_val >= 0.0f)) {
    return absl::InvalidArgumentError(
        absl::StrCat("min_positive_val must be >= 0, got ", options.min_positive_val));
  }
  if (!(options.max_finite_val > 0.0f) || options.max_finite_val > limit) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_finite_val must be in (0, ", limit, "] for the target type, got ",
                     options.max_finite_val));
  }
  for (const std::string& op : options.fp16_ops) {
    const size_t colon = op.rfind(':');
    if (colon == std::string::npos || colon + 1 == op.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "fp16_ops: '", op, "' is not domain:op_type (e.g. com.example:MyOp, or :MyOp for the "
          "default domain)"));
    }
  }
  HALFCAST_RETURN_IF_ERROR(ValidateSelectionLists(options));
  if (options.min_positive_val > options.max_finite_val) {
    return absl::InvalidArgumentError(absl::StrCat(
        "min_positive_val (", options.min_positive_val, ") exceeds max_finite_val (",
        options.max_finite_val, ")"));
  }
  return absl::OkStatus();
}

}  // namespace halfcast::convert
