#include "graph/topo_sort.h"

#include <functional>
#include <queue>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "graph/graph_index.h"

namespace halfcast::graph {
namespace {

// Names a graph reads without defining them (from its enclosing scopes), its subgraphs' too.
void FreeNames(const onnx::GraphProto& graph, absl::flat_hash_set<std::string>* out) {
  absl::flat_hash_set<absl::string_view> defined;
  for (const auto& v : graph.input()) defined.insert(v.name());
  for (const auto& t : graph.initializer()) defined.insert(t.name());
  for (const auto& t : graph.sparse_initializer()) defined.insert(t.values().name());
  for (const auto& node : graph.node()) {
    for (const std::string& o : node.output()) defined.insert(o);
  }
  auto read = [&](const std::string& name) {
    if (!name.empty() && !defined.contains(name)) out->insert(name);
  };
  for (const auto& node : graph.node()) {
    for (const std::string& i : node.input()) read(i);
    for (const auto& attr : node.attribute()) {
      absl::flat_hash_set<std::string> inner;
      if (attr.has_g()) FreeNames(attr.g(), &inner);
      for (const auto& g : attr.graphs()) FreeNames(g, &inner);
      for (const std::string& name : inner) read(name);
    }
  }
  for (const auto& v : graph.output()) read(v.name());
}

// Every name `node` reads: its inputs and what its subgraphs read from enclosing scopes.
absl::flat_hash_set<std::string> Reads(const onnx::NodeProto& node) {
  absl::flat_hash_set<std::string> reads(node.input().begin(), node.input().end());
  for (const auto& attr : node.attribute()) {
    if (attr.has_g()) FreeNames(attr.g(), &reads);
    for (const auto& g : attr.graphs()) FreeNames(g, &reads);
  }
  return reads;
}

bool Sorted(const onnx::GraphProto& graph) {
  absl::flat_hash_map<absl::string_view, int> producer;
  for (int n = 0; n < graph.node_size(); ++n) {
    for (const std::string& out : graph.node(n).output()) {
      if (!out.empty()) producer.emplace(out, n);
    }
  }
  for (int n = 0; n < graph.node_size(); ++n) {
    const onnx::NodeProto& node = graph.node(n);
    for (const std::string& name : Reads(node)) {
      auto it = producer.find(name);
      if (it != producer.end() && it->second >= n) return false;
    }
    for (const auto& attr : node.attribute()) {
      if (attr.has_g() && !Sorted(attr.g())) return false;
      for (const auto& g : attr.graphs()) {
        if (!Sorted(g)) return false;
      }
    }
  }
  return true;
}

absl::StatusOr<bool> SortOne(onnx::GraphProto* graph) {
  bool moved = false;
  for (onnx::NodeProto& node : *graph->mutable_node()) {
    absl::Status status;
    ForEachSubgraph(node, [&](onnx::GraphProto* sub, const std::string&) {
      if (!status.ok()) return;
      absl::StatusOr<bool> inner = SortOne(sub);
      if (!inner.ok()) {
        status = inner.status();
      } else {
        moved |= *inner;
      }
    });
    if (!status.ok()) return status;
  }
  const int count = graph->node_size();
  absl::flat_hash_map<absl::string_view, int> producer;
  for (int n = 0; n < count; ++n) {
    for (const std::string& out : graph->node(n).output()) {
      if (!out.empty()) producer.emplace(out, n);
    }
  }
  std::vector<std::vector<int>> users(count);
  std::vector<int> pending(count, 0);
  bool in_order = true;
  for (int n = 0; n < count; ++n) {
    for (const std::string& name : Reads(graph->node(n))) {
      auto it = producer.find(name);
      if (it == producer.end() || it->second == n) continue;
      users[it->second].push_back(n);
      ++pending[n];
      in_order &= it->second < n;
    }
  }
  if (in_order) return moved;
  const std::vector<int> order = StableTopologicalOrder(users, &pending);
  if (static_cast<int>(order.size()) != count) {
    return absl::InvalidArgumentError("the graph's nodes form a cycle");
  }
  std::vector<onnx::NodeProto*> nodes(graph->mutable_node()->pointer_begin(),
                                      graph->mutable_node()->pointer_end());
  for (int k = 0; k < count; ++k) graph->mutable_node()->pointer_begin()[k] = nodes[order[k]];
  return true;
}

}  // namespace

absl::StatusOr<bool> SortTopologically(onnx::GraphProto* graph) { return SortOne(graph); }

bool IsTopologicallySorted(const onnx::GraphProto& graph) { return Sorted(graph); }

std::vector<int> StableTopologicalOrder(const std::vector<std::vector<int>>& consumers,
                                        std::vector<int>* pending) {
  const int count = static_cast<int>(consumers.size());
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (int n = 0; n < count; ++n) {
    if ((*pending)[n] == 0) ready.push(n);
  }
  std::vector<int> order;
  order.reserve(count);
  while (!ready.empty()) {
    const int n = ready.top();
    ready.pop();
    order.push_back(n);
    for (int user : consumers[n]) {
      if (--(*pending)[user] == 0) ready.push(user);
    }
  }
  return order;
}

}  // namespace halfcast::graph
