// Figures about a model's ops for the conversion report: who typed each op, and how much of the
// matrix-product work runs in 16 bits.
#ifndef HALFCAST_CONVERT_OP_STATS_H_
#define HALFCAST_CONVERT_OP_STATS_H_

#include <functional>
#include <vector>

#include "graph/element_types.h"
#include "graph/graph_index.h"
#include "halfcast/convert.h"

namespace halfcast::convert {

// One entry per (domain, op type) over all scopes, sorted by domain then op type. `declared16`
// tells the nodes whose op only ConvertOptions::fp16_ops describes.
std::vector<OpSourceCount> CountOpSources(
    const graph::GraphIndex& index, const graph::NodeSchemas& schemas,
    const std::function<bool(const onnx::NodeProto&)>& declared16);

// Matrix-product work (MatMulFlops) of the nodes of every scope, `in16(s, n)` telling whether
// node n of scope s computes in 16 bits. Call before rewriting: it reads the input model's
// value names and declared shapes.
MatMulFlops CountMatMulFlops(const graph::GraphIndex& index,
                             const std::function<bool(int s, int n)>& in16);

}  // namespace halfcast::convert

#endif  // HALFCAST_CONVERT_OP_STATS_H_
