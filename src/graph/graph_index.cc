#include "graph/graph_index.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace halfcast::graph {
namespace {

std::string InScope(const std::string& path) {
  return path.empty() ? std::string("main graph") : absl::StrCat("subgraph '", path, "'");
}

// Kahn's algorithm over local edges, only to tell a cycle from a mere ordering problem in the
// error message.
bool HasCycle(const onnx::GraphProto& graph) {
  absl::flat_hash_map<absl::string_view, int> producer;
  for (int n = 0; n < graph.node_size(); ++n) {
    for (const std::string& out : graph.node(n).output()) {
      if (!out.empty()) producer.emplace(out, n);
    }
  }
  std::vector<int> pending(graph.node_size(), 0);
  std::vector<std::vector<int>> users(graph.node_size());
  for (int n = 0; n < graph.node_size(); ++n) {
    for (const std::string& in : graph.node(n).input()) {
      auto it = producer.find(in);
      if (it == producer.end()) continue;
      users[it->second].push_back(n);
      ++pending[n];
    }
  }
  std::deque<int> ready;
  for (int n = 0; n < graph.node_size(); ++n) {
    if (pending[n] == 0) ready.push_back(n);
  }
  int done = 0;
  while (!ready.empty()) {
    int n = ready.front();
    ready.pop_front();
    ++done;
    for (int user : users[n]) {
      if (--pending[user] == 0) ready.push_back(user);
    }
  }
  return done != graph.node_size();
}

}  // namespace

class IndexBuilder {
 public:
  explicit IndexBuilder(GraphIndex* index) : index_(index) {}

  absl::Status Visit(onnx::GraphProto* graph, int parent, int owner, std::string path,
                     std::string location) {
    std::vector<Scope>& scopes = index_->scopes_;
    const int s = static_cast<int>(scopes.size());
    scopes.emplace_back();
    {
      Scope& scope = scopes.back();
      scope.graph = graph;
      scope.parent = parent;
      scope.owner_node = owner;
      scope.path = std::move(path);
      scope.location = std::move(location);
      size_t defs = graph->input_size() + graph->initializer_size() +
                    graph->sparse_initializer_size();
      size_t inputs = 0;
      for (const onnx::NodeProto& node : graph->node()) {
        defs += node.output_size();
        inputs += node.input_size();
      }
      std::vector<ValueDef>* values = index_->values_.get();
      scope.defs = ValueSet(defs, ValueNameHash{values}, ValueNameEq{values});
      if (parent < 0) values->reserve(defs);
      scope.node_inputs.begin.reserve(graph->node_size() + 1);
      scope.node_inputs.ids.reserve(inputs);
      scope.node_outputs.begin.reserve(graph->node_size() + 1);
      scope.node_outputs.ids.reserve(defs);
      scope.node_subgraphs.begin.reserve(graph->node_size() + 1);
      scope.inputs.reserve(graph->input_size());
      scope.initializers.reserve(graph->initializer_size());
    }
    for (int i = 0; i < graph->input_size(); ++i) {
      HALFCAST_ASSIGN_OR_RETURN(int id,
                                Define(s, graph->input(i).name(), ValueDef::kGraphInput, i, 0));
      scopes[s].inputs.push_back(id);
    }
    for (int i = 0; i < graph->initializer_size(); ++i) {
      HALFCAST_ASSIGN_OR_RETURN(
          int id, Define(s, graph->initializer(i).name(), ValueDef::kInitializer, i, 0));
      scopes[s].initializers.push_back(id);
    }
    for (int i = 0; i < graph->sparse_initializer_size(); ++i) {
      HALFCAST_RETURN_IF_ERROR(Define(s, graph->sparse_initializer(i).values().name(),
                                      ValueDef::kSparseInitializer, i, 0)
                                   .status());
    }
    for (int n = 0; n < graph->node_size(); ++n) {
      onnx::NodeProto& node = *graph->mutable_node(n);
      // Outputs are defined after the node's subgraphs are visited, so while visiting a node the
      // defs maps hold exactly what it (and its subgraphs) may read.
      for (const std::string& in : node.input()) {
        int id = -1;
        if (!in.empty()) {
          id = index_->Resolve(s, in);
          if (id < 0) return NotDefinedError(*graph, scopes[s].path, n, in);
        }
        scopes[s].node_inputs.ids.push_back(id);
      }
      scopes[s].node_inputs.Close();
      bool has_subgraphs = false;
      for (const onnx::AttributeProto& attr : node.attribute()) {
        has_subgraphs |= attr.has_g() || attr.graphs_size() > 0;
      }
      if (has_subgraphs) {
        absl::Status sub_status;
        std::vector<int> subs;
        const std::string prefix =
            scopes[s].path.empty() ? std::string() : absl::StrCat(scopes[s].path, "/");
        const std::string location_prefix =
            scopes[s].location.empty() ? std::string() : absl::StrCat(scopes[s].location, "/");
        ForEachSubgraph(node, [&](onnx::GraphProto* sub, const std::string& label) {
          if (!sub_status.ok()) return;
          subs.push_back(static_cast<int>(scopes.size()));
          sub_status = Visit(sub, s, n, absl::StrCat(prefix, NodeLabel(node, n), "/", label),
                             absl::StrCat(location_prefix, n, "/", label));
        });
        HALFCAST_RETURN_IF_ERROR(sub_status);
        for (int sub : subs) scopes[s].node_subgraphs.ids.push_back(sub);
      }
      scopes[s].node_subgraphs.Close();
      int o = 0;
      for (const std::string& out : node.output()) {
        int id = -1;
        if (!out.empty()) {
          HALFCAST_ASSIGN_OR_RETURN(id, Define(s, out, ValueDef::kNodeOutput, n, o));
        }
        scopes[s].node_outputs.ids.push_back(id);
        ++o;
      }
      scopes[s].node_outputs.Close();
    }
    for (const onnx::ValueInfoProto& out : graph->output()) {
      const int id = index_->Resolve(s, out.name());
      if (id < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("output '", out.name(), "' of ", InScope(scopes[s].path),
                         " is not produced by any node, input or initializer"));
      }
      scopes[s].outputs.push_back(id);
    }
    return absl::OkStatus();
  }

 private:
  // Returns the id of the new value (of the graph input, for an initializer giving its default).
  absl::StatusOr<int> Define(int s, const std::string& name, ValueDef::Kind kind, int index,
                             int slot) {
    Scope& scope = index_->scopes_[s];
    std::vector<ValueDef>& values = *index_->values_;
    const int id = static_cast<int>(values.size());
    values.push_back(ValueDef{kind, index, slot, s, index_->StoreName(name)});
    auto [it, inserted] = scope.defs.insert(id);
    if (inserted) return id;
    values.pop_back();
    // A graph input with an initializer of the same name is a default value, not a clash.
    if (kind != ValueDef::kNodeOutput && values[*it].kind == ValueDef::kGraphInput) return *it;
    return absl::InvalidArgumentError(
        absl::StrCat("value '", name, "' is defined twice in ", InScope(scope.path)));
  }

  static absl::Status NotDefinedError(const onnx::GraphProto& graph, const std::string& path,
                                      int n, const std::string& name) {
    const onnx::NodeProto& node = graph.node(n);
    for (int later = n; later < graph.node_size(); ++later) {
      for (const std::string& out : graph.node(later).output()) {
        if (out != name) continue;
        return absl::InvalidArgumentError(absl::StrCat(
            "node '", NodeLabel(node, n), "' (", node.op_type(), ") in ", InScope(path),
            " reads '", name, "' before node '", NodeLabel(graph.node(later), later),
            "' produces it: ",
            HasCycle(graph) ? "the graph has a cycle" : "nodes are not in topological order"));
      }
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "node '", NodeLabel(node, n), "' (", node.op_type(), ") in ", InScope(path), " reads '",
        name, "', which no node, graph input, initializer or enclosing graph defines"));
  }

  GraphIndex* index_;
};

void ForEachSubgraph(onnx::NodeProto& node,
                     const std::function<void(onnx::GraphProto*, const std::string&)>& fn) {
  for (onnx::AttributeProto& attr : *node.mutable_attribute()) {
    if (attr.has_g()) fn(attr.mutable_g(), attr.name());
    for (int i = 0; i < attr.graphs_size(); ++i) {
      fn(attr.mutable_graphs(i), absl::StrCat(attr.name(), "[", i, "]"));
    }
  }
}

std::string NodeLabel(const onnx::NodeProto& node, int index) {
  return node.name().empty() ? absl::StrCat(node.op_type(), "_", index) : node.name();
}

absl::StatusOr<GraphIndex> GraphIndex::Build(onnx::GraphProto* main) {
  GraphIndex index;
  IndexBuilder builder(&index);
  HALFCAST_RETURN_IF_ERROR(builder.Visit(main, -1, -1, "", ""));
  return index;
}

absl::string_view GraphIndex::StoreName(absl::string_view name) {
  // Before any block exists name_next_ is null, and memcpy from or to null is undefined even
  // for 0 bytes (a graph input without a name).
  if (name.empty()) return absl::string_view();
  if (name.size() > name_left_) {
    constexpr size_t kBlock = size_t{64} << 10;
    const size_t size = std::max(kBlock, name.size());
    name_blocks_.emplace_back(new char[size]);
    name_next_ = name_blocks_.back().get();
    name_left_ = size;
  }
  std::memcpy(name_next_, name.data(), name.size());
  const absl::string_view stored(name_next_, name.size());
  name_next_ += name.size();
  name_left_ -= name.size();
  return stored;
}

const ValueDef* GraphIndex::LocalDef(int s, absl::string_view name) const {
  const auto& defs = scopes_[s].defs;
  auto it = defs.find(name);
  return it == defs.end() ? nullptr : &(*values_)[*it];
}

int GraphIndex::Resolve(int s, absl::string_view name) const {
  for (; s >= 0; s = scopes_[s].parent) {
    auto it = scopes_[s].defs.find(name);
    if (it != scopes_[s].defs.end()) return *it;
  }
  return -1;
}

int GraphIndex::DefiningScope(int s, absl::string_view name) const {
  const int id = Resolve(s, name);
  return id < 0 ? -1 : (*values_)[id].scope;
}

bool GraphIndex::DefinedAnywhere(absl::string_view name) const {
  for (const Scope& scope : scopes_) {
    if (scope.defs.contains(name)) return true;
  }
  return false;
}

NameGenerator::NameGenerator(const GraphIndex& index) : index_(index) {
  size_t count = 0;
  for (const Scope& scope : index.scopes()) {
    count += scope.graph->node_size() + scope.graph->value_info_size();
  }
  others_.reserve(count);
  for (int s = 0; s < index.size(); ++s) {
    const onnx::GraphProto& graph = *index.scope(s).graph;
    for (int n = 0; n < graph.node_size(); ++n) {
      const std::string& name = graph.node(n).name();
      if (!name.empty() && !others_.insert(name).second) duplicates_.emplace_back(s, n);
    }
  }
  for (const Scope& scope : index.scopes()) {
    for (const auto& v : scope.graph->value_info()) others_.insert(v.name());
  }
}

std::string NameGenerator::Make(absl::string_view base) {
  if (!Taken(base)) {
    made_.emplace(base);
    return std::string(base);
  }
  // Resume from the last suffix tried for this base, so asking n times costs O(n) overall.
  int& next = next_suffix_.try_emplace(std::string(base), 1).first->second;
  for (;; ++next) {
    std::string candidate = absl::StrCat(base, "_", next);
    if (Taken(candidate)) continue;
    ++next;
    made_.insert(candidate);
    return candidate;
  }
}

}  // namespace halfcast::graph
