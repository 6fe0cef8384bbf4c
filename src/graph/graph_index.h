// A use-def index over an ONNX graph and all of its subgraphs (If/Loop/Scan bodies and any other
// GRAPH/GRAPHS attribute), built once and checked on the way:
//   - every node input is a graph input, an initializer, the output of an earlier node of the same
//     graph, or a value visible from an enclosing graph before the subgraph's owner node (an
//     outer-scope capture);
//   - no value is produced twice in one graph.
// Scopes are numbered in pre-order (a graph before the subgraphs of its nodes, subgraphs in node
// and attribute order), so two structurally identical models number their scopes the same way.
//
// The index stores names, not pointers into repeated fields, so it stays valid while nodes are
// moved around; it does not see values added after Build.
#ifndef HALFCAST_GRAPH_GRAPH_INDEX_H_
#define HALFCAST_GRAPH_GRAPH_INDEX_H_

#include <deque>
#include <functional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "onnx/onnx_pb.h"

namespace halfcast::graph {

// Calls fn(subgraph, label) for each graph held by an attribute of `node`, in attribute order;
// label is the attribute name, with "[i]" for the i-th graph of a GRAPHS attribute.
void ForEachSubgraph(onnx::NodeProto& node,
                     const std::function<void(onnx::GraphProto*, const std::string&)>& fn);

// A printable name for a node: its name, or "<op_type>_<index>" when it has none.
std::string NodeLabel(const onnx::NodeProto& node, int index);

// A value: where it is defined. Values are numbered (ids) in the order Build meets them.
struct ValueDef {
  enum Kind { kGraphInput, kInitializer, kSparseInitializer, kNodeOutput };
  Kind kind;
  int index;  // position among graph inputs / (sparse) initializers / nodes
  int slot;   // output slot for kNodeOutput
  int scope = 0;
  std::string name;  // as in the input model
};

struct Scope {
  onnx::GraphProto* graph = nullptr;
  int parent = -1;      // scope index of the enclosing graph; -1 for the main graph
  int owner_node = -1;  // index of the node (in the parent graph) that holds this graph
  std::string path;     // "" for the main graph, else e.g. "If_3/then_branch"
  std::vector<std::vector<int>> node_subgraphs;  // per node: its subgraph scopes, in order
  std::vector<std::vector<int>> node_inputs;     // per node and input: value id, -1 if empty
  std::vector<std::vector<int>> node_outputs;    // per node and output: value id, -1 if empty
  std::vector<int> outputs;                      // per graph output: value id
  // Values defined here: name (viewing GraphIndex's copy of it) -> id.
  absl::flat_hash_map<absl::string_view, int> defs;
};

class GraphIndex {
 public:
  // Indexes `main` (not owned; must outlive the index). InvalidArgument for a dangling input, a
  // value produced twice, or nodes out of topological order (saying whether there is a cycle).
  static absl::StatusOr<GraphIndex> Build(onnx::GraphProto* main);

  const std::vector<Scope>& scopes() const { return scopes_; }
  const Scope& scope(int s) const { return scopes_[s]; }
  int size() const { return static_cast<int>(scopes_.size()); }

  // The definition of `name` in scope `s` itself, or nullptr.
  const ValueDef* LocalDef(int s, absl::string_view name) const;
  // The scope that defines `name` as seen from scope `s` (s or an ancestor), or -1.
  int DefiningScope(int s, absl::string_view name) const;
  // The id of the value `name` as seen from scope `s`, or -1.
  int Resolve(int s, absl::string_view name) const;

  const ValueDef& value(int id) const { return values_[id]; }
  int value_count() const { return static_cast<int>(values_.size()); }
  int InputId(int s, int n, int i) const { return scopes_[s].node_inputs[n][i]; }
  int OutputId(int s, int n, int o) const { return scopes_[s].node_outputs[n][o]; }

 private:
  friend class IndexBuilder;
  std::vector<Scope> scopes_;
  std::deque<ValueDef> values_;  // a deque: defs views the names, which must never move
};

// Hands out names that clash with no value or node name anywhere in a model (all scopes), nor
// with any name it handed out before. Deterministic: depends only on the names seen and asked.
class NameGenerator {
 public:
  // Takes every value of `index` and every node name and value_info name of its graphs. Views
  // them: `index` must outlive the generator, and node names must not change meanwhile (except
  // by renaming a node whose name is a duplicate).
  explicit NameGenerator(const GraphIndex& index);
  // `base` itself if free, else base_1, base_2, ...
  std::string Make(absl::string_view base);

 private:
  bool Taken(absl::string_view name) const {
    return existing_.contains(name) || made_.contains(name);
  }
  absl::flat_hash_set<absl::string_view> existing_;
  absl::flat_hash_set<std::string> made_;
  absl::flat_hash_map<std::string, int> next_suffix_;
};

}  // namespace halfcast::graph

#endif  // HALFCAST_GRAPH_GRAPH_INDEX_H_
