// Options shared by halfcast's conversions.
//
//   halfcast::ConvertOptions options;
//   options.keep_io_types = true;
//   options.target = halfcast::TargetType::kBFloat16;
//   auto result = halfcast::ConvertFloatToFloat16(model, options);
//
// Threading: option objects are plain values; copy them freely between threads.
#ifndef HALFCAST_OPTIONS_H_
#define HALFCAST_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace halfcast {

// The 16-bit floating-point type a conversion targets.
enum class TargetType {
  kFloat16,   // IEEE 754 binary16 (ONNX FLOAT16)
  kBFloat16,  // bfloat16 (ONNX BFLOAT16)
};

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Receives what the library has to say; halfcast never prints on its own. Called on the thread
// that called into the library; it must not throw.
using LogCallback = std::function<void(LogLevel level, std::string_view message)>;

// The op types kept in float32 by default: the Python tool's DEFAULT_OP_BLOCK_LIST, ops that
// ONNX Runtime cannot run in float16.
const std::vector<std::string>& DefaultOpBlockList();

// A node by position, in the main graph or inside If/Loop/Scan bodies at any depth. `graph` is
// "" for the main graph, else the path from the main graph of node positions and subgraph
// attribute names: "3/then_branch" is the then branch of main-graph node 3, and
// "3/then_branch/0/body" the body of that branch's node 0 (an attribute holding a list of graphs
// is named "attr[k]"). `index` is the node's position in that graph.
struct NodeLocation {
  std::string graph;
  std::size_t index = 0;
  friend bool operator==(const NodeLocation& a, const NodeLocation& b) {
    return a.index == b.index && a.graph == b.graph;
  }
  friend bool operator<(const NodeLocation& a, const NodeLocation& b) {
    return a.graph != b.graph ? a.graph < b.graph : a.index < b.index;
  }
};

// Options of ConvertFloatToFloat16; names and defaults follow onnxconverter-common's
// float16.convert_float_to_float16. Invalid values make the conversion fail with
// InvalidArgument before the model is touched: min_positive_val < 0 or NaN, max_finite_val <= 0,
// NaN or above the target's largest finite value (65504 for float16), min_positive_val above
// max_finite_val, a keep_io_names entry that is no input or output of the main graph, a
// node_index_block_list entry past the last node, a node_location_block_list entry naming no
// node, bfloat16 for a model below opset 13, a selection-list entry that is no valid pattern (or,
// with strict_lists, matches nothing).
struct ConvertOptions {
  // Constant values with 0 < |x| < min_positive_val become sign(x) * min_positive_val.
  // Must be >= 0.
  float min_positive_val = 1e-7f;
  // Finite constant values with |x| > max_finite_val become sign(x) * max_finite_val.
  // Must be > 0 and at most the target type's largest finite value.
  float max_finite_val = 1e4f;
  // true: float32 graph inputs and outputs stay float32, with Casts inside the graph.
  bool keep_io_types = false;
  // When not empty: only the graph inputs/outputs named here stay float32 (keep_io_types is
  // then ignored). Every name must be a graph input or output.
  std::vector<std::string> keep_io_names;
  // Skip ONNX shape/type inference; element types are then propagated from op schemas.
  bool disable_shape_infer = false;
  // Selection lists. Each entry is a name or a pattern: a full-match regular expression
  // ("conv2d_.*", "MatMul|Gemm"; syntax in docs/op-policy.md) that matches a name it equals or
  // matches in full. An entry that is no valid pattern is InvalidArgument. An entry that matches
  // nothing is reported (ConvertReport::unmatched, a kWarning log line), or InvalidArgument with
  // strict_lists; op_block_list entries of DefaultOpBlockList() are exempt.
  // Precedence, first that applies: a model-local function or an op nothing describes stays
  // float32; node_include_list -> 16 bits; node_block_list or node_index_block_list -> float32;
  // op_include_list -> 16 bits; op_block_list -> float32. "16 bits" means the op's schema
  // decides: a node whose schema excludes the target type stays float32 whatever the lists say
  // (reason kSchema; the detail says which list asked for 16 bits).
  //
  // Op types kept in float32 (matched on op_type alone, in any domain, as the Python tool does).
  std::vector<std::string> op_block_list = DefaultOpBlockList();
  // Node names kept in float32 (in any graph scope).
  std::vector<std::string> node_block_list;
  // Op types forced to the target type, over op_block_list and its defaults (ModelOpt's
  // op_types_to_include).
  std::vector<std::string> op_include_list;
  // Node names (any graph scope) forced to the target type, over every block list, the mixed-
  // precision search's included: it never keeps them float32 (ModelOpt's nodes_to_include).
  std::vector<std::string> node_include_list;
  // true: a selection-list entry that matches nothing is InvalidArgument instead of a warning.
  bool strict_lists = false;
  // Positions of top-level graph nodes kept in float32; identifies nodes that have no name or
  // share one (mixed precision uses it).
  std::vector<std::size_t> node_index_block_list;
  // Nodes at any depth kept in float32, by position (NodeLocation); mixed precision uses it for
  // nodes inside If/Loop/Scan bodies. Each must name an existing node.
  std::vector<NodeLocation> node_location_block_list;
  // Ops that nothing describes (no schema in onnx or halfcast's tables: a vendor's custom
  // domain) declared 16-bit capable, each as "domain:op_type" (e.g. "com.example:MyGelu"): their
  // float inputs and outputs take the target type instead of staying float32 behind Casts. An op
  // that has a schema follows its schema; naming one here is noted in the report. Entries without
  // a ':' or with an empty op type are InvalidArgument.
  std::vector<std::string> fp16_ops;
  // Refuse (FailedPrecondition) a model that already holds float16/bfloat16 values,
  // initializers, tensor attributes or Casts to them. false: convert what is still float32.
  bool check_fp16_ready = true;
  TargetType target = TargetType::kFloat16;
  // Optional sink for progress and diagnostics (clipping summaries, opset notes).
  LogCallback log;
};

}  // namespace halfcast

#endif  // HALFCAST_OPTIONS_H_
