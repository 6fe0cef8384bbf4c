// The nodes that change a value's element type, for every kind of value the converter types:
// a Cast for a tensor, and, since Cast takes tensors only, a Loop casting each element for a
// sequence and an If rebuilding the optional for an optional. Used wherever a value crosses
// between float32 and 16-bit nodes (or the model's kept float32 inputs and outputs).
#ifndef HALFCAST_CONVERT_VALUE_CAST_H_
#define HALFCAST_CONVERT_VALUE_CAST_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "graph/element_types.h"
#include "onnx/onnx_pb.h"

namespace halfcast::convert {

// Returns a name no value or node of the model has yet, from `base`.
using NameMaker = std::function<std::string(absl::string_view base)>;

// Appends to `graph` the nodes computing `output`, the value `input` of kind `kind` (a type with
// an element type) with its tensors cast to `to`, and returns them in order. Names of the nodes
// and of the values they add come from `make_name`.
std::vector<onnx::NodeProto*> AppendValueCast(onnx::GraphProto* graph, graph::ValueType kind,
                                              absl::string_view input, absl::string_view output,
                                              int32_t to, const NameMaker& make_name);

}  // namespace halfcast::convert

#endif  // HALFCAST_CONVERT_VALUE_CAST_H_
