// Model-local functions (ModelProto.functions, e.g. from PyTorch's exporter) are expanded into
// the graphs that call them before the evaluator plans a run, as ONNX Runtime does.
#ifndef HALFCAST_EVAL_FUNCTION_INLINER_H_
#define HALFCAST_EVAL_FUNCTION_INLINER_H_

#include "absl/status/status.h"
#include "onnx/onnx_pb.h"

namespace halfcast::eval {

// Replaces every call of a function of `model->functions()` (in the main graph, in bodies and in
// other functions) by the function's nodes: formal inputs and outputs become the call's values,
// values internal to the function get fresh names, attribute references (ref_attr_name) take
// the call's attribute or are dropped when the call does not set it. Clears the function list.
// InvalidArgument for recursion deeper than the model could mean (a function calling itself).
absl::Status InlineLocalFunctions(onnx::ModelProto* model);

}  // namespace halfcast::eval

#endif  // HALFCAST_EVAL_FUNCTION_INLINER_H_
