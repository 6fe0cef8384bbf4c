// Whole-model conversion from float32 to float16 or bfloat16.
//
//   #include "halfcast/convert.h"
//   #include "halfcast/model_io.h"
//
//   absl::StatusOr<onnx::ModelProto> model = halfcast::LoadModel("model.onnx");
//   if (!model.ok()) return model.status();
//   halfcast::ConvertOptions options;
//   options.keep_io_types = true;
//   absl::StatusOr<halfcast::ConvertResult> result =
//       halfcast::ConvertFloatToFloat16(*model, options);
//   if (!result.ok()) return result.status();
//   return halfcast::SaveModel(result->model, "model.fp16.onnx");
//
// Threading: the functions are reentrant; distinct calls on distinct models run concurrently.
#ifndef HALFCAST_CONVERT_H_
#define HALFCAST_CONVERT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "halfcast/model_io.h"
#include "halfcast/options.h"
#include "onnx/onnx_pb.h"

namespace halfcast {

// Why a node computes in float32.
enum class KeepReason {
  kOpBlockList,    // its op type is in ConvertOptions::op_block_list
  kNodeBlockList,  // its name is in node_block_list, or its position in node_index_block_list
  kSchema,         // its ONNX schema at the model's opset does not accept the target type
  kModelFunction,  // it calls a model-local function (ModelProto.functions)
  kSearch,         // mixed precision kept it to meet the accuracy bound
  kUnknownOp,      // nothing describes its op (no schema in onnx or halfcast's tables) and
                   // ConvertOptions::fp16_ops does not declare it 16-bit capable
};

// Stable lower-case name of a reason ("op_block_list", "node_block_list", "schema",
// "model_function", "search", "unknown_op").
const char* KeepReasonName(KeepReason reason);

struct KeptNode {
  std::string graph;     // "" for the main graph, else the path of subgraph attributes, e.g. "If_3/then_branch"
  std::size_t index;     // position of the node in its graph
  std::string name;      // node name (may be empty)
  std::string op_type;
  KeepReason reason;
  std::string detail;    // human-readable why, e.g. "type parameter T of Resize-13 excludes float16"
  // The graph by positions, as NodeLocation::graph ("" for the main graph, e.g. "3/then_branch"):
  // {location_graph, index} names the node for node_location_block_list.
  std::string location_graph;
};

// An input of a converted node that stays float32 because the op's schema requires it (Resize's
// scales, for one): the node computes in the target type, that input gets float32.
struct KeptInput {
  std::string graph;     // as KeptNode::graph
  std::size_t index;     // position of the node in its graph
  std::string name;      // node name (may be empty)
  std::string op_type;
  int input;             // input slot
  std::string value;     // the value's name in the input model
};

struct ClippedTensor {
  std::string name;            // initializer, Constant output or attribute tensor name
  int64_t below_min = 0;       // values with 0 < |x| < min_positive_val raised to it
  int64_t above_max = 0;       // finite values with |x| > max_finite_val lowered to it
};

// A selection-list entry (ConvertOptions::op_block_list, node_block_list, op_include_list,
// node_include_list, fp16_ops) that matched no node of the model: a typo keeps nothing float32.
struct UnmatchedEntry {
  std::string list;   // the option's name, e.g. "node_block_list"
  std::string entry;  // as given
};

// Who typed an op of the model, and how many nodes use it (all graph scopes).
struct OpSourceCount {
  std::string domain;  // "" for the default domain
  std::string op_type;
  int since_version = 0;  // of the schema used; 0 when none
  // "onnx" (the linked onnx's schemas), "halfcast_table" (halfcast's own tables, for ops and
  // versions newer than the linked onnx knows), "declared" (ConvertOptions::fp16_ops),
  // "local_function", "unknown".
  std::string source;
  int64_t nodes = 0;
};

// Multiply-adds of the matrix products (MatMul, Gemm, their fused and quantized forms, attention)
// per row of their activation input, counted where the shapes are known from initializers and
// declared shapes; the share computed in 16 bits shows what the conversion gains.
struct MatMulFlops {
  int64_t total = 0;
  int64_t in_16bit = 0;
  int64_t nodes_unknown_shape = 0;  // matrix-product nodes whose size could not be told
};

struct ConvertReport {
  int64_t nodes_converted = 0;            // nodes computing in the target type
  std::vector<KeptNode> kept_nodes;       // nodes computing in float32, each with its reason
  std::vector<KeptInput> float32_inputs;  // inputs of converted nodes that stay float32
  int64_t casts_inserted = 0;
  int64_t casts_removed = 0;              // Casts removed by cleanup (exact round trips, no-ops)
  int64_t initializers_converted = 0;
  std::vector<std::string> shared_initializers;  // stored in the target type + one Cast to float32
  std::vector<ClippedTensor> clipped;     // only tensors where something was clipped
  uint64_t bytes_before = 0;              // tensor bytes of initializers + constants before
  uint64_t bytes_after = 0;               // ... and after
  std::vector<std::string> notes;         // e.g. "model uses opset 19; schemas of opset 17 used"
  std::vector<UnmatchedEntry> unmatched;  // list entries that matched nothing, in option order
  std::vector<OpSourceCount> op_sources;  // one entry per (domain, op type), sorted
  MatMulFlops matmul_flops;
};

// The report as a JSON object (stable keys, for --report-json and tools).
std::string ReportToJson(const ConvertReport& report);

struct ConvertResult {
  onnx::ModelProto model;
  ConvertReport report;
};

// Converts `model` per SPEC.md section 1. `model` is not modified. Errors:
// InvalidArgument for bad options, a malformed model (cycle, dangling input, value defined twice,
// a used value whose type cannot be determined) or initializers stored as external data (use
// ConvertFile); FailedPrecondition when check_fp16_ready finds 16-bit floats already present.
// The result is deterministic: the same model and options give byte-identical output.
absl::StatusOr<ConvertResult> ConvertFloatToFloat16(const onnx::ModelProto& model,
                                                    const ConvertOptions& options);

// The same, consuming `model`: its tensors are converted in place, so the weights are never
// copied (peak memory stays near the input's size). `model` is left in an unspecified state,
// also on error.
absl::StatusOr<ConvertResult> ConvertFloatToFloat16(onnx::ModelProto&& model,
                                                    const ConvertOptions& options);

// Path-based conversion for models with external data or over 2 GB: the graph is loaded without
// its external tensors, which are then streamed chunk by chunk (converted with clipping where they
// become 16-bit, copied otherwise) from `input_path`'s side files into the output's side file
// (save_options.external_data_file, default "<output file name>.data"); memory holds the graph
// and one chunk, never the weights. When save_options.external_data is set, inline initializers
// of at least external_data_threshold bytes move to that file too. Without external tensors the
// result is saved as SaveModel would. The output is written atomically (whole or not at all);
// the input is never modified. save_options.sync applies to every file written. The fastest way
// to convert a file: the graph is parsed onto an arena (large graphs parse about twice as fast),
// and while it is read a short-lived helper thread, joined before returning, builds onnx's schema
// registry. Errors: those of LoadModel (NotFound, InvalidArgument for bad bytes or external
// references escaping the model's folder or its data file), ConvertFloatToFloat16's, and the
// writer's.
absl::StatusOr<ConvertReport> ConvertFile(const std::string& input_path,
                                          const std::string& output_path,
                                          const ConvertOptions& options,
                                          const SaveOptions& save_options = {});

}  // namespace halfcast

#endif  // HALFCAST_CONVERT_H_
