#include "convert/op_policy.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "onnx/defs/data_type_utils.h"

namespace halfcast::convert {
namespace {

constexpr int32_t kFloat = onnx::TensorProto::FLOAT;

onnx::DataType Intern(const std::string& type_str) {
  try {
    return onnx::Utils::DataTypeUtils::ToType(type_str);
  } catch (...) {
    return nullptr;
  }
}

// "domain:op_type", as fp16_ops spells ops; the op type alone for the default domain.
std::string OpName(const onnx::NodeProto& node) {
  return node.domain().empty() ? node.op_type() : absl::StrCat(node.domain(), ":", node.op_type());
}

// The selection lists by option name, in the order reports list them.
struct ListOption {
  const char* name;
  const std::vector<std::string> ConvertOptions::*entries;
};
constexpr ListOption kListOptions[] = {
    {"op_block_list", &ConvertOptions::op_block_list},
    {"node_block_list", &ConvertOptions::node_block_list},
    {"op_include_list", &ConvertOptions::op_include_list},
    {"node_include_list", &ConvertOptions::node_include_list},
};

// The list after ValidateSelectionLists accepted it (empty if it did not).
NameList MakeList(const ConvertOptions& options, const ListOption& list) {
  absl::StatusOr<NameList> made = NameList::Create(options.*list.entries, list.name);
  return made.ok() ? *std::move(made) : NameList();
}

}  // namespace

absl::Status ValidateSelectionLists(const ConvertOptions& options) {
  for (const ListOption& list : kListOptions) {
    absl::StatusOr<NameList> made = NameList::Create(options.*list.entries, list.name);
    if (!made.ok()) return made.status();
  }
  return absl::OkStatus();
}

std::pair<std::string, std::string> SplitDeclaredOp(const std::string& entry) {
  const size_t colon = entry.rfind(':');
  return {std::string(ops::CanonicalDomain(absl::string_view(entry).substr(0, colon))),
          entry.substr(colon + 1)};
}

OpPolicy::OpPolicy(const ConvertOptions& options, const graph::NodeSchemas& schemas,
                   int32_t target_type)
    : schemas_(schemas),
      target_(target_type),
      target_name_(target_type == onnx::TensorProto::BFLOAT16 ? "bfloat16" : "float16"),
      op_block_(MakeList(options, kListOptions[0])),
      node_block_(MakeList(options, kListOptions[1])),
      op_include_(MakeList(options, kListOptions[2])),
      node_include_(MakeList(options, kListOptions[3])) {
  for (std::size_t i : options.node_index_block_list) index_block_.insert(static_cast<int>(i));
  for (const NodeLocation& location : options.node_location_block_list) {
    location_block_[location.graph].insert(static_cast<int>(location.index));
  }
  for (const std::string& entry : options.fp16_ops) {
    const auto [domain, op_type] = SplitDeclaredOp(entry);
    declared16_.insert(absl::StrCat(domain, ":", op_type));
  }
  for (auto kind : {graph::ValueType::kTensor, graph::ValueType::kSequence,
                    graph::ValueType::kOptional, graph::ValueType::kOptionalSequence}) {
    target_types_[kind] = Intern(graph::ValueType{kind, target_}.SchemaString());
  }
}

bool OpPolicy::Declared16(const onnx::NodeProto& node) const {
  return !declared16_.empty() &&
         declared16_.contains(absl::StrCat(ops::CanonicalDomain(node.domain()), ":",
                                           node.op_type()));
}

uint8_t OpPolicy::OpLists(const std::string& op_type) const {
  uint8_t lists = 0;
  if (!op_block_.empty() && op_block_.Match(op_type)) lists |= kOpBlocked;
  if (!op_include_.empty() && op_include_.Match(op_type)) lists |= kOpIncluded;
  return lists;
}

bool OpPolicy::Blocked(const graph::GraphIndex& index, int s, int n,
                       const onnx::NodeProto& node, NodeDecision* d) const {
  // A schema's name is the node's op type, so the answer is cached with the schema's slots.
  const onnx::OpSchema* schema = schemas_.Get(s, n);
  uint8_t op_lists = 0;
  if (schema != nullptr) {
    op_lists = Slots(*schema).op_lists;
  } else if (!op_block_.empty() || !op_include_.empty()) {
    auto [it, inserted] = op_lists_.try_emplace(node.op_type(), 0);
    if (inserted) it->second = OpLists(node.op_type());
    op_lists = it->second;
  }
  // Every list is matched, even when an earlier one decides, so that an entry which matches a
  // node is never reported as matching nothing.
  const bool named = !node.name().empty();
  const bool node_included = named && !node_include_.empty() && node_include_.Match(node.name());
  const bool node_blocked = named && !node_block_.empty() && node_block_.Match(node.name());
  const bool index_blocked = s == 0 && !index_block_.empty() && index_block_.contains(n);
  const bool location_blocked = InLocationBlockList(index.scope(s).location, n);
  const char* forced_by = node_included ? "node_include_list"
                          : node_blocked || index_blocked || location_blocked ? nullptr
                          : (op_lists & kOpIncluded) != 0 ? "op_include_list"
                                                          : nullptr;
  const std::string cannot_force =
      forced_by == nullptr ? "" : absl::StrCat(" (", forced_by, " cannot make it 16-bit)");
  if (schemas_.Info(s, n).source == ops::OpSource::kLocalFunction) {
    d->reason = KeepReason::kModelFunction;
    d->detail = absl::StrCat("calls the model-local function ", node.domain(), ".", node.op_type(),
                             cannot_force);
  } else if (schema == nullptr && !Declared16(node)) {
    d->reason = KeepReason::kUnknownOp;
    d->detail = schemas_.lookup().ModelOpset(node.domain()) == 0
                    ? absl::StrCat("unknown op, kept float32: domain '", node.domain(),
                                   "' is not imported by the model", cannot_force)
                    : absl::StrCat(
                          "unknown op, kept float32: no schema in onnx or halfcast's "
                          "tables for ",
                          OpName(node), " (declare it in fp16_ops if it runs in 16 bits)");
  } else if (forced_by != nullptr) {
    d->forced_by = forced_by;
    return false;
  } else if (node_blocked) {
    d->reason = KeepReason::kNodeBlockList;
    d->detail = absl::StrCat("node name '", node.name(), "' matches node_block_list");
  } else if (index_blocked) {
    d->reason = KeepReason::kNodeBlockList;
    d->detail = absl::StrCat("node index ", n, " is in node_index_block_list");
  } else if (location_blocked) {
    d->reason = KeepReason::kNodeBlockList;
    d->detail = absl::StrCat("node ", n,
                             index.scope(s).location.empty()
                                 ? std::string()
                                 : absl::StrCat(" of graph '", index.scope(s).location, "'"),
                             " is in node_location_block_list");
  } else if ((op_lists & kOpBlocked) != 0) {
    d->reason = KeepReason::kOpBlockList;
    d->detail = absl::StrCat("op type ", node.op_type(), " matches op_block_list");
  } else {
    return false;
  }
  return true;
}

bool OpPolicy::InLocationBlockList(const std::string& graph, int n) const {
  if (location_block_.empty()) return false;
  auto it = location_block_.find(graph);
  return it != location_block_.end() && it->second.contains(n);
}

absl::Status OpPolicy::CheckUnmatched(const ConvertOptions& options, ConvertReport* report) const {
  std::vector<UnmatchedEntry> unmatched;
  const NameList* lists[] = {&op_block_, &node_block_, &op_include_, &node_include_};
  for (int i = 0; i < 4; ++i) {
    for (std::string& entry : lists[i]->Unmatched()) {
      // The defaults name ops most models lack; only what the caller added is news.
      if (i == 0 && std::find(DefaultOpBlockList().begin(), DefaultOpBlockList().end(), entry) !=
                        DefaultOpBlockList().end()) {
        continue;
      }
      unmatched.push_back({kListOptions[i].name, std::move(entry)});
    }
  }
  for (const std::string& declared : options.fp16_ops) {
    const auto [domain, op_type] = SplitDeclaredOp(declared);
    bool used = false;
    for (const OpSourceCount& op : report->op_sources) {
      used |= op.domain == domain && op.op_type == op_type;
    }
    if (!used) unmatched.push_back({"fp16_ops", declared});
  }
  for (const UnmatchedEntry& entry : unmatched) {
    const std::string what = absl::StrCat(
        entry.list, ": '", entry.entry, "' matches no ",
        entry.list == "node_block_list" || entry.list == "node_include_list" ? "node name"
                                                                             : "op of the model");
    if (options.strict_lists) {
      return absl::InvalidArgumentError(absl::StrCat(what, " (strict_lists makes this an error)"));
    }
    Log(options.log, LogLevel::kWarning, what);
  }
  report->unmatched = std::move(unmatched);
  return absl::OkStatus();
}

const OpPolicy::SchemaSlots& OpPolicy::Slots(const onnx::OpSchema& schema) const {
  auto [it, inserted] = slots_.try_emplace(&schema);
  if (!inserted) return it->second;
  SchemaSlots& slots = it->second;
  slots.op_lists = OpLists(schema.Name());
  auto group_of = [&](const onnx::OpSchema::FormalParameter& formal) -> uint8_t {
    for (size_t g = 0; g < slots.type_str.size(); ++g) {
      if (*slots.type_str[g] == formal.GetTypeStr()) return static_cast<uint8_t>(g);
    }
    slots.type_str.push_back(&formal.GetTypeStr());
    uint8_t allows = 0;
    for (int kind = 0; kind < graph::ValueType::kOther; ++kind) {
      if (target_types_[kind] != nullptr && formal.GetTypes().count(target_types_[kind]) != 0) {
        allows |= 1 << kind;
      }
    }
    slots.allows.push_back(allows);
    return static_cast<uint8_t>(slots.type_str.size() - 1);
  };
  for (const auto& formal : schema.inputs()) slots.input_group.push_back(group_of(formal));
  for (const auto& formal : schema.outputs()) slots.output_group.push_back(group_of(formal));
  slots.variadic_input =
      !schema.inputs().empty() && schema.inputs().back().GetOption() == onnx::OpSchema::Variadic;
  slots.variadic_output = !schema.outputs().empty() &&
                          schema.outputs().back().GetOption() == onnx::OpSchema::Variadic;
  return slots;
}

bool OpPolicy::ApplySchema(const onnx::OpSchema& schema, const onnx::NodeProto& node,
                           const absl::InlinedVector<graph::ValueType, 4>& in_types,
                           const absl::InlinedVector<graph::ValueType, 4>& out_types,
                           NodeDecision* d) const {
  // Slots grouped by their formal type string (a type parameter such as "T", or a fixed type
  // such as "tensor(float)"): a type parameter forces one type on all its slots.
  const SchemaSlots& slots = Slots(schema);
  constexpr uint8_t kHasInput = 1, kHasOutput = 2, kExcludesTarget = 4;
  absl::InlinedVector<uint8_t, 8> flags(slots.type_str.size(), 0);
  absl::InlinedVector<uint8_t, 8> touched;  // groups in the order float slots reach them
  // The group of actual slot `i`: the last formal stands for a variadic tail; -1 if none.
  auto group = [](const std::vector<uint8_t>& groups, bool variadic, int i) {
    if (i < static_cast<int>(groups.size())) return static_cast<int>(groups[i]);
    return variadic && !groups.empty() ? static_cast<int>(groups.back()) : -1;
  };
  auto visit = [&](const std::vector<uint8_t>& groups, bool variadic,
                   const absl::InlinedVector<graph::ValueType, 4>& types, bool is_input) -> bool {
    for (int i = 0; i < static_cast<int>(types.size()); ++i) {
      if (!types[i].Is(kFloat)) continue;
      const int g = group(groups, variadic, i);
      if (g < 0) {
        d->reason = KeepReason::kSchema;
        d->detail = absl::StrCat(node.op_type(), "-", schema.SinceVersion(), " has no ",
                                 is_input ? "input " : "output ", i);
        return false;
      }
      if (flags[g] == 0) touched.push_back(static_cast<uint8_t>(g));
      flags[g] |= is_input ? kHasInput : kHasOutput;
      if ((slots.allows[g] & (1 << types[i].kind)) == 0) flags[g] |= kExcludesTarget;
    }
    return true;
  };
  if (!visit(slots.input_group, slots.variadic_input, in_types, true) ||
      !visit(slots.output_group, slots.variadic_output, out_types, false)) {
    return false;
  }
  for (uint8_t g : touched) {
    if (flags[g] != (kHasInput | kHasOutput | kExcludesTarget)) continue;
    d->reason = KeepReason::kSchema;
    d->detail = absl::StrCat("type ", *slots.type_str[g], " of ", node.op_type(), "-",
                             schema.SinceVersion(), " excludes ", target_name_);
    return false;
  }
  auto slot_ok = [&](const std::vector<uint8_t>& groups, bool variadic, int i) {
    return (flags[group(groups, variadic, i)] & kExcludesTarget) == 0;
  };
  bool any16 = false;
  for (int i = 0; i < static_cast<int>(in_types.size()); ++i) {
    if (!in_types[i].Is(kFloat)) continue;
    d->input16[i] = slot_ok(slots.input_group, slots.variadic_input, i);
    if (!d->input16[i]) d->float32_inputs.push_back(i);
    any16 |= d->input16[i] != 0;
  }
  for (int o = 0; o < static_cast<int>(out_types.size()); ++o) {
    if (!out_types[o].Is(kFloat)) continue;
    d->output16[o] = slot_ok(slots.output_group, slots.variadic_output, o);
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
  const absl::Span<const int> inputs = index.scope(s).node_inputs[n];
  const absl::Span<const int> outputs = index.scope(s).node_outputs[n];
  NodeDecision d;
  d.input16.assign(inputs.size(), 0);
  d.output16.assign(outputs.size(), 0);
  absl::InlinedVector<graph::ValueType, 4> in_types(inputs.size());
  absl::InlinedVector<graph::ValueType, 4> out_types(outputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    in_types[i] = types.Get(inputs[i]);
    d.relevant |= in_types[i].Is(kFloat);
  }
  for (size_t o = 0; o < outputs.size(); ++o) {
    out_types[o] = types.Get(outputs[o]);
    d.relevant |= out_types[o].Is(kFloat);
  }
  if (Blocked(index, s, n, node, &d)) return d;
  if (!d.relevant) {  // nothing to convert; "converted" keeps subgraph bodies consistent
    d.converted = true;
    return d;
  }
  const onnx::OpSchema* schema = schemas_.Get(s, n);
  if (schema == nullptr) {  // declared 16-bit capable (fp16_ops): every float slot converts
    for (size_t i = 0; i < inputs.size(); ++i) d.input16[i] = in_types[i].Is(kFloat);
    for (size_t o = 0; o < outputs.size(); ++o) d.output16[o] = out_types[o].Is(kFloat);
    d.converted = true;
    return d;
  }
  if (!ApplySchema(*schema, node, in_types, out_types, &d)) {
    if (d.forced_by != nullptr) {
      absl::StrAppend(&d.detail, " (", d.forced_by, " cannot make it 16-bit)");
    }
    d.input16.assign(inputs.size(), 0);
    d.output16.assign(outputs.size(), 0);
    return d;
  }
  d.converted = true;
  return d;
}

}  // namespace halfcast::convert
