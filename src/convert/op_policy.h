// Op policy: which nodes compute in the target type and which stay float32, slot by slot.
//
// A node stays float32 when it calls a model-local function or an op nothing describes (custom
// domains, unless fp16_ops declares it); else, the first that applies: its name matches
// node_include_list (16 bits), node_block_list, its top-level position is in
// node_index_block_list or its location in node_location_block_list (float32), its op type
// matches op_include_list (16 bits) or op_block_list (float32). A node left for 16 bits still
// stays float32 when its schema (onnx's or halfcast's tables, ops/op_catalog.h) at the model's
// opset does not allow the target type for a type parameter that ties a float input to a float
// output. A type parameter (or fixed type) that binds only inputs, or only outputs, and excludes
// the target type keeps just those slots float32 (Resize's `scales`, for one) while the node
// converts.
#ifndef HALFCAST_CONVERT_OP_POLICY_H_
#define HALFCAST_CONVERT_OP_POLICY_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "convert/name_pattern.h"
#include "graph/element_types.h"
#include "graph/graph_index.h"
#include "halfcast/convert.h"
#include "halfcast/options.h"

namespace halfcast::convert {

// An fp16_ops entry "domain:op_type" (checked by ValidateOptions) as its canonical domain ("" for
// ai.onnx) and op type.
std::pair<std::string, std::string> SplitDeclaredOp(const std::string& entry);

// InvalidArgument for a selection-list entry (op/node block and include lists) that is no valid
// pattern; ValidateOptions calls it.
absl::Status ValidateSelectionLists(const ConvertOptions& options);

struct NodeDecision {
  bool relevant = false;   // reads or writes a float32 value
  bool converted = false;  // computes in the target type (false: float32)
  KeepReason reason = KeepReason::kOpBlockList;  // when !converted
  std::string detail;
  absl::InlinedVector<uint8_t, 4> input16;   // per input slot: 1 if it takes the 16-bit value
  absl::InlinedVector<uint8_t, 2> output16;  // per output slot: 1 if it produces 16 bits
  absl::InlinedVector<int, 1> float32_inputs;  // float inputs kept float32 (schema)
  const char* forced_by = nullptr;  // the include list that asked for 16 bits, if one did
};

class OpPolicy {
 public:
  // `schemas` must outlive the policy; `options` must have passed ValidateSelectionLists.
  OpPolicy(const ConvertOptions& options, const graph::NodeSchemas& schemas, int32_t target_type);

  // Decides node `n` of scope `s`; `types` holds the input model's element types.
  NodeDecision Decide(const graph::GraphIndex& index, const graph::TypeTable& types, int s,
                      int n) const;
  // Whether ConvertOptions::fp16_ops names the node's op.
  bool Declared16(const onnx::NodeProto& node) const;

  // After every node was decided: the list entries that matched nothing go to
  // `report->unmatched` and to the log as warnings, or are InvalidArgument with strict_lists.
  // fp16_ops entries are checked against `report->op_sources`, which must be filled.
  absl::Status CheckUnmatched(const ConvertOptions& options, ConvertReport* report) const;

 private:
  // A schema's formal parameters grouped by type string, computed once per schema: nodes of one
  // op repeat thousands of times in large graphs.
  struct SchemaSlots {
    std::vector<uint8_t> input_group;      // per formal input: its group
    std::vector<uint8_t> output_group;     // per formal output: its group
    bool variadic_input = false;           // the last formal input stands for a variadic tail
    bool variadic_output = false;
    std::vector<const std::string*> type_str;  // per group (owned by the schema)
    std::vector<uint8_t> allows;  // per group: bit k if it allows the target type of kind k
    uint8_t op_lists = 0;         // OpLists of the op type
  };
  const SchemaSlots& Slots(const onnx::OpSchema& schema) const;
  // Which op lists match `op_type`: kOpBlocked | kOpIncluded.
  static constexpr uint8_t kOpBlocked = 1, kOpIncluded = 2;
  uint8_t OpLists(const std::string& op_type) const;

  bool InLocationBlockList(const std::string& graph, int n) const;
  bool Blocked(const graph::GraphIndex& index, int s, int n, const onnx::NodeProto& node,
               NodeDecision* d) const;
  // Applies the schema's type constraints; false if the node must stay float32.
  bool ApplySchema(const onnx::OpSchema& schema, const onnx::NodeProto& node,
                   const absl::InlinedVector<graph::ValueType, 4>& in_types,
                   const absl::InlinedVector<graph::ValueType, 4>& out_types,
                   NodeDecision* d) const;

  const graph::NodeSchemas& schemas_;
  int32_t target_;
  // onnx's interned type strings of tensor / seq / optional of the target type, by ValueType kind.
  onnx::DataType target_types_[graph::ValueType::kOther] = {};  // per kind with an element type
  std::string target_name_;  // "float16" / "bfloat16"
  NameList op_block_;
  NameList node_block_;
  NameList op_include_;
  NameList node_include_;
  absl::flat_hash_set<int> index_block_;
  // node_location_block_list as graph location -> node positions.
  absl::flat_hash_map<std::string, absl::flat_hash_set<int>> location_block_;
  absl::flat_hash_set<std::string> declared16_;  // "domain:op_type", domain canonical
  mutable absl::flat_hash_map<const onnx::OpSchema*, SchemaSlots> slots_;
  // OpLists of op types without a schema (with one, SchemaSlots holds it).
  mutable absl::flat_hash_map<std::string, uint8_t> op_lists_;
};

}  // namespace halfcast::convert

#endif  // HALFCAST_CONVERT_OP_POLICY_H_
