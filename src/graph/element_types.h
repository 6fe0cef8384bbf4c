// Element types of every value of a model (all scopes).
//
// Types come from what the model declares (inputs, outputs, value_info, initializers), then a
// propagation over the op schemas' type constraints that always runs for what is still unknown:
// an output whose type parameter is bound by a typed input, fixed by an attribute (Cast `to`,
// `dtype`, ...) or allowed only one type. When that leaves a used value untyped, ONNX shape
// inference (unless disabled) runs on a copy of the graph without initializer data, its failures
// tolerated and noted, and the propagation runs again over what it found.
#ifndef HALFCAST_GRAPH_ELEMENT_TYPES_H_
#define HALFCAST_GRAPH_ELEMENT_TYPES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph_index.h"
#include "onnx/defs/schema.h"
#include "onnx/onnx_pb.h"
#include "ops/op_catalog.h"

namespace halfcast::graph {

struct ValueType {
  // kOptional: optional(tensor); kOptionalSequence: optional(seq(tensor)), as a Loop carries a
  // sequence that may be absent.
  enum Kind : uint8_t { kUnknown, kTensor, kSequence, kOptional, kOptionalSequence, kOther };
  Kind kind = kUnknown;
  int32_t elem = 0;  // TensorProto::DataType of the tensor (or of the sequence's tensors)

  bool known() const { return kind != kUnknown; }
  // A tensor, or a sequence or optional of tensors: a type with an element type.
  bool HasElem() const { return kind != kUnknown && kind != kOther; }
  bool Is(int32_t type) const { return HasElem() && elem == type; }
  // The type-constraint string onnx uses for this type, e.g. "seq(tensor(float16))"; "" for
  // kOther/kUnknown.
  std::string SchemaString() const;
};

// Reads a ValueType from a TypeProto; sets the element type of one.
ValueType FromTypeProto(const onnx::TypeProto& type);
// The TypeProto of a type with an element type (ValueType::HasElem), without shape.
onnx::TypeProto ToTypeProto(ValueType type);
void SetElemType(onnx::TypeProto* type, int32_t elem);

// The schema of every node of an index (SchemaLookup::Find, looked up once per node).
class NodeSchemas {
 public:
  // `lookup` must outlive this object.
  NodeSchemas(const GraphIndex& index, const ops::SchemaLookup& lookup);
  // nullptr as SchemaLookup::Find.
  const onnx::OpSchema* Get(int s, int n) const { return infos_[s][n].schema; }
  // The schema and who typed the op (ops::OpSource).
  const ops::OpInfo& Info(int s, int n) const { return infos_[s][n]; }
  const ops::SchemaLookup& lookup() const { return lookup_; }

 private:
  const ops::SchemaLookup& lookup_;
  std::vector<std::vector<ops::OpInfo>> infos_;
};

// Element types by value id (GraphIndex).
class TypeTable {
 public:
  explicit TypeTable(const GraphIndex* index)
      : index_(index), types_(index->value_count()) {}
  // The type of `name` as seen from scope `s`.
  ValueType Get(int s, absl::string_view name) const {
    const int id = index_->Resolve(s, name);
    return id < 0 ? ValueType{} : types_[id];
  }
  ValueType Get(int id) const { return id < 0 ? ValueType{} : types_[id]; }
  // Records a type for a value unless one is known already.
  void SetIfUnknown(int s, absl::string_view name, ValueType type) {
    SetIfUnknown(index_->Resolve(s, name), type);
  }
  void SetIfUnknown(int id, ValueType type) {
    if (id >= 0 && !types_[id].known()) types_[id] = type;
  }

 private:
  const GraphIndex* index_;
  std::vector<ValueType> types_;
};

// Computes the element type of every value in `model`, indexed by `index` (built over
// model.mutable_graph()). Appends notes (shape inference failures, newer opsets) to `notes`.
// InvalidArgument naming a value that is used but whose type cannot be determined.
absl::StatusOr<TypeTable> InferElementTypes(onnx::ModelProto& model, const GraphIndex& index,
                                            const NodeSchemas& schemas, bool use_shape_inference,
                                            std::vector<std::string>* notes);

}  // namespace halfcast::graph

#endif  // HALFCAST_GRAPH_ELEMENT_TYPES_H_
