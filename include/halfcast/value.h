// A value of an ONNX graph: a tensor, a sequence of tensors, or an optional holding a tensor, a
// sequence or nothing, as ONNX's type system has them (TypeProto's tensor_type, sequence_type
// and optional_type) and as ONNX Runtime's OrtValue holds them.
//
//   halfcast::Value seq = halfcast::Value::Sequence(halfcast::DataType::kFloat, {a, b});
//   halfcast::ValueMap feeds{{"x", seq}};
//   absl::StatusOr<halfcast::ValueMap> outputs = evaluator.RunValues(model, feeds);
//
// Most models take and return tensors alone: TensorMap and Evaluator::Run serve them, and a
// Tensor converts to a Value implicitly. Threading: a Value is a value, as a Tensor is.
#ifndef HALFCAST_VALUE_H_
#define HALFCAST_VALUE_H_

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "halfcast/tensor.h"
#include "onnx/onnx-data_pb.h"
#include "onnx/onnx_pb.h"

namespace halfcast {

class Value {
 public:
  enum class Kind : int { kTensor = 0, kSequence = 1, kOptional = 2 };

  // An empty float tensor of shape [0].
  Value() = default;
  // A tensor value (implicit: wherever a Value is wanted, a Tensor will do).
  Value(Tensor tensor) : tensor_(std::move(tensor)) {}  // NOLINT(google-explicit-constructor)

  // A sequence of tensors of `element_type` (every element must have it; the sequence may be
  // empty).
  static Value Sequence(DataType element_type, std::vector<Tensor> elements);
  // An optional holding `element`, a tensor or a sequence (not another optional).
  static Value OptionalOf(Value element);
  // An optional holding nothing, typed as an optional tensor of `element_type` or, with
  // `of_sequence`, an optional sequence of such tensors (kUndefined: the type is not known).
  static Value NoneOf(DataType element_type, bool of_sequence = false);

  Kind kind() const { return kind_; }
  bool is_tensor() const { return kind_ == Kind::kTensor; }
  bool is_sequence() const { return kind_ == Kind::kSequence; }
  bool is_optional() const { return kind_ == Kind::kOptional; }

  // A tensor value's tensor (an empty tensor for the other kinds).
  const Tensor& tensor() const { return tensor_; }
  Tensor& mutable_tensor() { return tensor_; }
  // The element type: a tensor's own, a sequence's elements', an optional's contained value's.
  DataType element_type() const;
  // A sequence's tensors (empty for the other kinds).
  const std::vector<Tensor>& elements() const;
  // An optional: whether it holds a value, the value (only when it does), and whether its type
  // is an optional sequence.
  bool has_element() const { return kind_ == Kind::kOptional && contents_ != nullptr; }
  const Value& element() const;
  bool optional_of_sequence() const { return kind_ == Kind::kOptional && of_sequence_; }

  // Bytes of every tensor the value holds.
  std::size_t byte_size() const {
    return kind_ == Kind::kTensor ? tensor_.byte_size() : ContentsBytes();
  }
  // "tensor(float)", "seq(tensor(int64))", "optional(seq(tensor(float)))", as ONNX writes types.
  std::string TypeString() const;

 private:
  struct Contents;  // a sequence's elements or an optional's value (value.cc)

  std::size_t ContentsBytes() const;  // byte_size() of a sequence or optional

  Kind kind_ = Kind::kTensor;
  DataType element_type_ = DataType::kUndefined;  // sequences and optionals
  bool of_sequence_ = false;                      // an optional's type
  Tensor tensor_;
  // Shared and immutable, so a tensor value (most values) carries one null pointer besides its
  // tensor: moving and destroying values stays as cheap as for tensors. nullptr for a tensor
  // and an empty optional.
  std::shared_ptr<const Contents> contents_;
};

// Named values, ordered by name (deterministic iteration).
using ValueMap = std::map<std::string, Value>;

// Tensors as values, and back: InvalidArgument naming the first value that is not a tensor.
ValueMap ToValueMap(const TensorMap& tensors);
absl::StatusOr<TensorMap> ToTensorMap(const ValueMap& values);

// Whether `value` has the kind and element type that `type` declares (an element type of 0 in
// `type`, or kUndefined in an empty optional, matches any). Shapes are not compared.
bool MatchesType(const Value& value, const onnx::TypeProto& type);

// onnx.SequenceProto and onnx.OptionalProto <-> Value, for sequences of tensors and optionals of
// a tensor or such a sequence. Unimplemented for maps and sparse tensors.
absl::StatusOr<Value> ValueFromSequenceProto(const onnx::SequenceProto& proto,
                                             const std::string& base_dir = "");
absl::StatusOr<Value> ValueFromOptionalProto(const onnx::OptionalProto& proto,
                                             const std::string& base_dir = "");
onnx::SequenceProto ValueToSequenceProto(const Value& sequence, const std::string& name);
onnx::OptionalProto ValueToOptionalProto(const Value& optional, const std::string& name);

// A .pb file holding the serialized proto of a value of `type`: a TensorProto for a tensor type,
// a SequenceProto or an OptionalProto for those (a .pb file does not say which it holds, so the
// declared type decides, as ONNX's test data is read). `name`, when given, gets the proto's name.
absl::StatusOr<Value> ReadValueProtoFile(const std::string& path, const onnx::TypeProto& type,
                                         std::string* name = nullptr);
// Writes `value` as a .pb file of its kind's proto named `name`; a temporary file is renamed into
// place, so a failure leaves no partial file.
absl::Status WriteValueProtoFile(const Value& value, const std::string& name,
                                 const std::string& path);

}  // namespace halfcast

#endif  // HALFCAST_VALUE_H_
