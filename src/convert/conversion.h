// The conversion of one model, as a sequence of passes over every graph scope:
//   graph index -> element types -> op policy -> precision plan -> passes -> cleanup -> report.
// The passes run over every graph scope (main graph first, then the subgraphs of its nodes in
// order, recursively), so no pass can forget an If/Loop/Scan body. ConvertFloatToFloat16
// (converter.cc) and ConvertFile (convert_file.cc) drive it.
#ifndef HALFCAST_CONVERT_CONVERSION_H_
#define HALFCAST_CONVERT_CONVERSION_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "convert/op_policy.h"
#include "convert/tensor_convert.h"
#include "graph/element_types.h"
#include "graph/graph_index.h"
#include "halfcast/convert.h"
#include "onnx/onnx_pb.h"
#include "ops/op_catalog.h"

namespace halfcast::convert {

// InvalidArgument for option values the conversion cannot honour (see ConvertOptions).
absl::Status ValidateOptions(const ConvertOptions& options);

// Bytes of the tensors of a graph and its subgraphs: initializers and tensor attributes.
uint64_t CountTensorBytes(const onnx::GraphProto& graph);

// What each pass sees: the model, its index and types, the decisions, and the rewrite state.
class Conversion {
 public:
  Conversion(onnx::ModelProto* model, const ConvertOptions& options, ConvertReport* report)
      : model_(model),
        options_(options),
        report_(report),
        target_(OnnxType(options.target)),
        schemas_(*model) {
    clip_.target = options.target;
    clip_.clip.min_positive_val = options.min_positive_val;
    clip_.clip.max_finite_val = options.max_finite_val;
  }

  absl::Status Run();

  // ConvertFile: float32 initializers stored as external data are left for the caller to stream
  // (ExternallyConverted lists those that become 16-bit) instead of being an error.
  void StreamExternalData() { stream_external_ = true; }
  const absl::flat_hash_set<const onnx::TensorProto*>& external_to_convert() const {
    return external_to_convert_;
  }
  // Whether some initializer or tensor attribute (any type, any scope) is stored as external
  // data.
  bool has_external_initializers() const { return has_external_initializers_; }

 private:
  // The precision plan of one node (OpPolicy's decision, stored compactly: large graphs have
  // hundreds of thousands of nodes, and fresh memory costs page faults).
  struct NodePlan {
    bool relevant = false;   // reads or writes a float32 value
    bool converted = false;  // computes in the target type
    // A converted Constant (not sparse), whose output follows its users. Decided before
    // rewriting: Produced16 must not look at the graph, whose nodes move.
    bool constant_follows_uses = false;
    KeepReason reason = KeepReason::kOpBlockList;  // when !converted
    int kept_info = -1;  // index into kept_info_, for nodes with a detail or float32 inputs
  };
  struct KeptInfo {
    std::string detail;
    absl::InlinedVector<int, 1> float32_inputs;
  };
  struct ScopePlan {
    std::vector<NodePlan> nodes;
    std::vector<uint8_t> input16;   // per node input (flat, as GraphIndex's node_inputs): 16-bit
    std::vector<uint8_t> output16;  // per node output (flat, as node_outputs)
  };

  struct ScopeRewrite {
    // Casts made for this scope, each with the node it follows (-1: before every node).
    std::vector<std::pair<int, onnx::NodeProto*>> casts;
    // Value id -> names of its float32 [0] and 16-bit [1] versions in this scope.
    absl::flat_hash_map<int, std::array<std::string, 2>> available;
    absl::flat_hash_map<std::string, int32_t> final_type;  // new names and retyped renames
  };

  absl::Status CheckModel();
  absl::Status CheckFp16Ready() const;
  void AddOpsetNotes();
  // Report: who typed each op, notes on unknown and declared ops, the matrix-product work in
  // 16 bits. After Decide, before any rewrite.
  void AddOpStats();
  void Decide();
  void CollectUses();
  void MakeNodeNamesUnique();

  // The precision plan.
  bool KeptIo(absl::string_view name) const {
    return keep_io_names_.empty() ? options_.keep_io_types : keep_io_names_.contains(name);
  }
  bool OwnerConverted(int s) const {
    const graph::Scope& scope = index_->scope(s);
    return plan_[scope.parent].nodes[scope.owner_node].converted;
  }
  // Whether output `j` of scope `s` (named `name`) is wanted in the target type: a main-graph
  // output unless kept, a body's output as its holder takes it (per output for an If).
  bool OutputWants16(int s, int j, absl::string_view name) const {
    if (s == 0) return !KeptIo(name);
    const graph::Scope& scope = index_->scope(s);
    const onnx::NodeProto& owner = index_->scope(scope.parent).graph->node(scope.owner_node);
    if (owner.op_type() == "If" && j < owner.output_size()) {
      return OwnerConverted(s) && Output16(scope.parent, scope.owner_node, j);
    }
    return OwnerConverted(s);
  }
  bool Input16(int s, int n, int i) const {
    return plan_[s].input16[index_->scope(s).node_inputs.begin[n] + i] != 0;
  }
  bool Output16(int s, int n, int o) const {
    return plan_[s].output16[index_->scope(s).node_outputs.begin[n] + o] != 0;
  }
  bool FollowsUses(int id) const { return wants_[id] == 0 || (wants_[id] & 2) != 0; }
  // Whether the float32 value `id` is produced in the target type.
  bool Produced16(int id) const;
  // Gives a converted If float32 outputs where every branch makes that output with a float32
  // node (after Decide).
  void KeepFloat32IfOutputs();

  // Passes over one scope.
  absl::Status ConvertConstants(int s);
  absl::Status PlaceBoundaryCasts(int s);
  void Retype(int s);
  void Materialize(int s);

  absl::StatusOr<absl::string_view> Lookup(int s, int id, bool want16);
  // Appends to scope `s` the nodes casting value `id` (read as `input`) to `to` as `output`
  // (value_cast.h: a Cast, or a Loop or If for sequences and optionals), placed after node
  // `after` (-1: before every node).
  // Unimplemented for an optional below opset 16, whose If cannot return optionals.
  absl::Status MakeCast(int s, int after, int id, absl::string_view input,
                        absl::string_view output, int32_t to);
  absl::string_view CurrentName(int id) const {
    if (renamed_.empty()) return index_->value(id).name;
    auto it = renamed_.find(id);
    return it == renamed_.end() ? index_->value(id).name : absl::string_view(it->second);
  }
  int32_t FinalElemType(int s, const std::string& name) const;
  // Whether the schema's `dtype` / `output_datatype` attributes (kTypeAttrs) default to float.
  const std::array<bool, 2>& FloatDefaultTypeAttrs(const onnx::OpSchema& schema);
  absl::Status ConvertTensor(onnx::TensorProto* tensor, const std::string& label);
  void AddKeptInfo(int s, int n);

  onnx::ModelProto* model_;
  const ConvertOptions& options_;
  ConvertReport* report_;
  const int32_t target_;
  ClipSettings clip_;
  ops::SchemaLookup schemas_;
  std::unique_ptr<graph::GraphIndex> index_;
  std::unique_ptr<graph::NodeSchemas> node_schemas_;
  std::unique_ptr<OpPolicy> policy_;
  std::unique_ptr<graph::TypeTable> types_;
  std::unique_ptr<graph::NameGenerator> names_;
  absl::flat_hash_set<std::string> keep_io_names_;
  std::vector<ScopePlan> plan_;
  std::vector<KeptInfo> kept_info_;
  // Per value id: 1 if some use wants float32, | 2 if some use wants 16-bit.
  std::vector<uint8_t> wants_;
  std::vector<ScopeRewrite> rewrite_;
  absl::flat_hash_map<int, std::string> renamed_;  // definitions renamed (main-graph outputs)
  absl::flat_hash_set<std::string> shared_;
  absl::flat_hash_map<const onnx::OpSchema*, std::array<bool, 2>> float_default_attrs_;
  bool stream_external_ = false;
  bool has_external_initializers_ = false;
  absl::flat_hash_set<const onnx::TensorProto*> external_to_convert_;
};

}  // namespace halfcast::convert

#endif  // HALFCAST_CONVERT_CONVERSION_H_
