// Checks shared by the converter's tests: onnx's checker and strict shape inference, and a
// summary of a converted graph's structure.
#ifndef HALFCAST_TESTS_CONVERT_CHECK_UTIL_H_
#define HALFCAST_TESTS_CONVERT_CHECK_UTIL_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "halfcast/tensor.h"
#include "onnx/onnx_pb.h"

namespace halfcast::testing {

// onnx::checker::check_model (when the model's IR version is one onnx 1.12 knows) plus strict
// type/shape inference on a copy; the first error found.
absl::Status CheckConverted(const onnx::ModelProto& model);

// Element type of a main-graph input, output or value_info entry (0 if absent).
int32_t ElemTypeOf(const onnx::GraphProto& graph, const std::string& name);

// Number of nodes of an op type in a graph (not in subgraphs).
int CountOps(const onnx::GraphProto& graph, const std::string& op_type);

// The node producing `name` in `graph`, or nullptr.
const onnx::NodeProto* Producer(const onnx::GraphProto& graph, const std::string& name);

// Runs each model in ONNX Runtime (tests/convert/run_ort.js through node) on float32/int64/bool
// `feeds` (rounded to a 16-bit input's type where the model asks for one); outputs as float32
// values, one map per model. Unavailable when node or onnxruntime-node is missing.
absl::StatusOr<std::vector<std::map<std::string, std::vector<float>>>> RunInOrt(
    const std::vector<const onnx::ModelProto*>& models, const TensorMap& feeds);

// A float32 tensor of `shape` holding `values`.
Tensor FloatTensor(std::vector<int64_t> shape, std::vector<float> values);

// Largest |a - b| over two equally long vectors (infinity if the lengths differ, NaN counts as
// infinitely far).
float MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace halfcast::testing

#endif  // HALFCAST_TESTS_CONVERT_CHECK_UTIL_H_
