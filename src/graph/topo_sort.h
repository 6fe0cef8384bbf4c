// Sorting a graph's nodes into topological order. Some exporters (keras2onnx, hand-edited
// graphs) write valid graphs whose nodes are out of order; ONNX Runtime and the Python tool accept
// them, so halfcast sorts them instead of refusing.
#ifndef HALFCAST_GRAPH_TOPO_SORT_H_
#define HALFCAST_GRAPH_TOPO_SORT_H_

#include <vector>

#include "absl/status/statusor.h"
#include "onnx/onnx_pb.h"

namespace halfcast::graph {

// Reorders the nodes of `graph` and of every subgraph so each node comes after the producers of
// the values it reads, including values its subgraphs read from the enclosing graph. Stable:
// nodes already in order keep their positions, so a sorted graph is left exactly as it is.
// Returns whether any node moved. InvalidArgument when the nodes form a cycle.
absl::StatusOr<bool> SortTopologically(onnx::GraphProto* graph);

// Whether no node of `graph` or of its subgraphs reads a value a later node of its graph makes.
bool IsTopologicallySorted(const onnx::GraphProto& graph);

// Kahn's algorithm over nodes 0..n-1 taking the lowest index first among the ready ones, so
// nodes already in order keep their positions: `consumers[k]` lists the nodes reading what node
// k makes, `pending[k]` counts k's entries in those lists. Returns the order; it is shorter than
// n when a cycle leaves nodes out, and `pending` then stays above 0 for them.
std::vector<int> StableTopologicalOrder(const std::vector<std::vector<int>>& consumers,
                                        std::vector<int>* pending);

}  // namespace halfcast::graph

#endif  // HALFCAST_GRAPH_TOPO_SORT_H_
