// A use-def index over an ONNX graph and all of its subgraphs (If/Loop/Scan bodies and any other
// GRAPH/GRAPHS attribute), built once and checked on the way:
//   - every node input is a graph input, an initializer, the output of an earlier node of the same
//     graph, or a value visible from an enclosing graph before the subgraph's owner node (an
//     outer-scope capture);
//   - no value is produced twice in one graph.
// Scopes are numbered in pre-order (a graph before the subgraphs of its nodes, subgraphs in node
// and attribute order), so two structurally identical models number their scopes the same way.
//
// The index keeps its own copy of every value name, not pointers into repeated fields, so it stays
// valid while nodes are moved around or renamed; it does not see values added after Build.
// Per-node data is stored flat (one array per scope), so indexing a graph of N nodes costs a few
// large allocations, not several per node.
#ifndef HALFCAST_GRAPH_GRAPH_INDEX_H_
#define HALFCAST_GRAPH_GRAPH_INDEX_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
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
  absl::string_view name;  // as in the input model (the index's own copy)
};

// Value ids stored flat: the ids of item k are ids[begin[k] .. begin[k + 1]).
struct FlatIds {
  std::vector<int> begin{0};
  std::vector<int> ids;

  absl::Span<const int> operator[](int k) const {
    return absl::MakeConstSpan(ids.data() + begin[k], begin[k + 1] - begin[k]);
  }
  void Close() { begin.push_back(static_cast<int>(ids.size())); }
};

// A set of value ids looked up by value name. The table holds only ids (4 bytes a slot): on
// graphs of 100,000 values a table of names would not stay in cache, and building the index is
// mostly lookups.
struct ValueNameHash {
  using is_transparent = void;
  const std::vector<ValueDef>* values;
  size_t operator()(int id) const { return (*this)((*values)[id].name); }
  size_t operator()(absl::string_view name) const { return absl::Hash<absl::string_view>()(name); }
};
struct ValueNameEq {
  using is_transparent = void;
  const std::vector<ValueDef>* values;
  bool operator()(int a, int b) const { return (*values)[a].name == (*values)[b].name; }
  bool operator()(int id, absl::string_view name) const { return (*values)[id].name == name; }
  bool operator()(absl::string_view name, int id) const { return (*values)[id].name == name; }
};
using ValueSet = absl::flat_hash_set<int, ValueNameHash, ValueNameEq>;

struct Scope {
  onnx::GraphProto* graph = nullptr;
  int parent = -1;      // scope index of the enclosing graph; -1 for the main graph
  int owner_node = -1;  // index of the node (in the parent graph) that holds this graph
  std::string path;     // "" for the main graph, else e.g. "If_3/then_branch"
  std::string location;  // the same by node positions, as NodeLocation::graph: "3/then_branch"
  FlatIds node_subgraphs;  // per node: its subgraph scopes, in order
  FlatIds node_inputs;     // per node and input: value id, -1 if empty
  FlatIds node_outputs;    // per node and output: value id, -1 if empty
  std::vector<int> inputs;        // per graph input: value id
  std::vector<int> initializers;  // per initializer: value id (the graph input's, if it has one)
  std::vector<int> outputs;       // per graph output: value id
  // Values defined here, found by name.
  ValueSet defs;

  // Nodes the graph had when indexed (rewrites may append more).
  int node_count() const { return static_cast<int>(node_inputs.begin.size()) - 1; }
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
  // Whether any scope defines `name`.
  bool DefinedAnywhere(absl::string_view name) const;

  const ValueDef& value(int id) const { return (*values_)[id]; }
  int value_count() const { return static_cast<int>(values_->size()); }
  int InputId(int s, int n, int i) const { return scopes_[s].node_inputs[n][i]; }
  int OutputId(int s, int n, int o) const { return scopes_[s].node_outputs[n][o]; }

 private:
  friend class IndexBuilder;
  // Copies `name` into storage that never moves (blocks survive moving the index).
  absl::string_view StoreName(absl::string_view name);

  std::vector<Scope> scopes_;
  // On the heap: the scopes' ValueSets point to it, and the index is moved around.
  std::unique_ptr<std::vector<ValueDef>> values_ = std::make_unique<std::vector<ValueDef>>();
  std::vector<std::unique_ptr<char[]>> name_blocks_;
  char* name_next_ = nullptr;
  size_t name_left_ = 0;
};

// Hands out names that clash with no value or node name anywhere in a model (all scopes), nor
// with any name it handed out before. Deterministic: depends only on the names seen and asked.
class NameGenerator {
 public:
  // Takes every node name and value_info name of `index`'s graphs (viewing them) and reads value
  // names from `index`, which must outlive the generator. Node names must not change meanwhile,
  // except by renaming a node listed in duplicate_node_names().
  explicit NameGenerator(const GraphIndex& index);
  // `base` itself if free, else base_1, base_2, ...
  std::string Make(absl::string_view base);
  // (scope, node) of every node whose name an earlier node (scopes in pre-order, nodes in order)
  // already has: ONNX Runtime refuses such graphs, so the converter renames them.
  const std::vector<std::pair<int, int>>& duplicate_node_names() const { return duplicates_; }

 private:
  bool Taken(absl::string_view name) const {
    return others_.contains(name) || made_.contains(name) || index_.DefinedAnywhere(name);
  }
  const GraphIndex& index_;
  absl::flat_hash_set<absl::string_view> others_;  // node and value_info names
  absl::flat_hash_set<std::string> made_;
  absl::flat_hash_map<std::string, int> next_suffix_;
  std::vector<std::pair<int, int>> duplicates_;
};

}  // namespace halfcast::graph

#endif  // HALFCAST_GRAPH_GRAPH_INDEX_H_
