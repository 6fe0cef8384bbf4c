// The checks every entry point (convert, run, auto) makes of a model before working on it, so
// that a malformed or hostile file is refused the same way everywhere, with an error naming what
// is wrong, instead of converting "successfully" or failing somewhere deep inside.
#ifndef HALFCAST_GRAPH_MODEL_VALIDATION_H_
#define HALFCAST_GRAPH_MODEL_VALIDATION_H_

#include "absl/status/status.h"
#include "onnx/onnx_pb.h"

namespace halfcast::graph {

// Real models nest bodies a few levels deep; hundreds of levels are an attack on the stack.
inline constexpr int kMaxSubgraphDepth = 100;

// InvalidArgument for the first of, in every graph scope:
//   - an ir_version below 1;
//   - a tensor (initializer, sparse initializer, tensor attribute such as Constant's value) of an
//     unknown or undefined element type, with a negative dimension, with dims whose element count
//     or byte size overflows, or whose inline data disagrees with its dims (external data is
//     checked where it is read);
//   - a node without an op type, or a Cast whose `to` is no element type;
//   - an initializer named like a graph input of another element type (it would shadow it);
//   - subgraphs (If/Loop/Scan bodies, any graph attribute) nested more than kMaxSubgraphDepth
//     deep: every pass over a model recurses into bodies, so this bounds their stack use.
// Element types newer than the linked onnx (float8, 4-bit) are accepted.
absl::Status ValidateModel(const onnx::ModelProto& model);

// The tensor checks alone, `what` naming the tensor in errors.
absl::Status ValidateTensor(const onnx::TensorProto& tensor, const std::string& what);

}  // namespace halfcast::graph

#endif  // HALFCAST_GRAPH_MODEL_VALIDATION_H_
