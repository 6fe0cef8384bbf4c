#include "halfcast/value.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "eval/file_bytes.h"

namespace halfcast {
namespace {

std::string TensorTypeString(DataType type) {
  return absl::StrCat("tensor(", type == DataType::kUndefined ? "?" : DataTypeName(type), ")");
}

bool ElementTypeMatches(DataType actual, int32_t declared) {
  return declared == 0 || actual == DataType::kUndefined ||
         static_cast<int32_t>(actual) == declared;
}

bool SequenceMatches(const Value& value, const onnx::TypeProto::Sequence& type) {
  if (!type.elem_type().has_tensor_type()) return false;  // sequences of tensors only
  return ElementTypeMatches(value.element_type(), type.elem_type().tensor_type().elem_type());
}

}  // namespace

struct Value::Contents {
  std::vector<Tensor> elements;  // a sequence's
  Value element;                 // an optional's
};

Value Value::Sequence(DataType element_type, std::vector<Tensor> elements) {
  Value v;
  v.kind_ = Kind::kSequence;
  v.element_type_ = element_type;
  v.contents_ = std::make_shared<const Contents>(Contents{std::move(elements), Value()});
  return v;
}

Value Value::OptionalOf(Value element) {
  Value v;
  v.kind_ = Kind::kOptional;
  v.element_type_ = element.element_type();
  v.of_sequence_ = element.is_sequence();
  v.contents_ = std::make_shared<const Contents>(Contents{{}, std::move(element)});
  return v;
}

const std::vector<Tensor>& Value::elements() const {
  static const std::vector<Tensor>* const kNone = new std::vector<Tensor>();
  return kind_ == Kind::kSequence ? contents_->elements : *kNone;
}

const Value& Value::element() const { return contents_->element; }

Value Value::NoneOf(DataType element_type, bool of_sequence) {
  Value v;
  v.kind_ = Kind::kOptional;
  v.element_type_ = element_type;
  v.of_sequence_ = of_sequence;
  return v;
}

DataType Value::element_type() const {
  return kind_ == Kind::kTensor ? tensor_.type() : element_type_;
}

std::size_t Value::ContentsBytes() const {
  if (kind_ == Kind::kOptional) return has_element() ? element().byte_size() : 0;
  std::size_t bytes = 0;
  for (const Tensor& t : elements()) bytes += t.byte_size();
  return bytes;
}

std::string Value::TypeString() const {
  const std::string tensor = TensorTypeString(element_type());
  switch (kind_) {
    case Kind::kTensor:
      return tensor;
    case Kind::kSequence:
      return absl::StrCat("seq(", tensor, ")");
    case Kind::kOptional:
      return absl::StrCat("optional(", of_sequence_ ? absl::StrCat("seq(", tensor, ")") : tensor,
                          ")");
  }
  return tensor;
}

ValueMap ToValueMap(const TensorMap& tensors) {
  ValueMap values;
  for (const auto& [name, tensor] : tensors) values.emplace_hint(values.end(), name, tensor);
  return values;
}

absl::StatusOr<TensorMap> ToTensorMap(const ValueMap& values) {
  TensorMap tensors;
  for (const auto& [name, value] : values) {
    if (!value.is_tensor()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "value '", name, "' has type ", value.TypeString(), ", not a tensor type"));
    }
    tensors.emplace_hint(tensors.end(), name, value.tensor());
  }
  return tensors;
}

bool MatchesType(const Value& value, const onnx::TypeProto& type) {
  switch (value.kind()) {
    case Value::Kind::kTensor:
      return type.has_tensor_type() &&
             ElementTypeMatches(value.element_type(), type.tensor_type().elem_type());
    case Value::Kind::kSequence:
      return type.has_sequence_type() && SequenceMatches(value, type.sequence_type());
    case Value::Kind::kOptional: {
      if (!type.has_optional_type()) return false;
      const onnx::TypeProto& inner = type.optional_type().elem_type();
      if (!value.has_element()) {
        if (value.element_type() == DataType::kUndefined) return true;  // an untyped none
        if (value.optional_of_sequence()) {
          return inner.has_sequence_type() && SequenceMatches(value, inner.sequence_type());
        }
        return inner.has_tensor_type() &&
               ElementTypeMatches(value.element_type(), inner.tensor_type().elem_type());
      }
      return MatchesType(value.element(), inner);
    }
  }
  return false;
}

absl::StatusOr<Value> ValueFromSequenceProto(const onnx::SequenceProto& proto,
                                             const std::string& base_dir) {
  const std::string label = absl::StrCat("sequence '", proto.name(), "'");
  if (proto.elem_type() != onnx::SequenceProto::TENSOR &&
      proto.elem_type() != onnx::SequenceProto::UNDEFINED) {
    return absl::UnimplementedError(
        absl::StrCat(label, ": only sequences of tensors are supported (elem_type ",
                     proto.elem_type(), ")"));
  }
  if (proto.sparse_tensor_values_size() > 0 || proto.sequence_values_size() > 0 ||
      proto.map_values_size() > 0 || proto.optional_values_size() > 0) {
    return absl::UnimplementedError(
        absl::StrCat(label, ": only sequences of dense tensors are supported"));
  }
  std::vector<Tensor> elements;
  elements.reserve(proto.tensor_values_size());
  DataType type = DataType::kUndefined;
  for (const onnx::TensorProto& t : proto.tensor_values()) {
    absl::StatusOr<Tensor> element = TensorFromProto(t, base_dir);
    if (!element.ok()) {
      return absl::Status(element.status().code(),
                          absl::StrCat(label, ", element ", elements.size(), ": ",
                                       element.status().message()));
    }
    if (type != DataType::kUndefined && element->type() != type) {
      return absl::InvalidArgumentError(absl::StrCat(
          label, ": element ", elements.size(), " is ", DataTypeName(element->type()),
          " but element 0 is ", DataTypeName(type)));
    }
    type = element->type();
    elements.push_back(*std::move(element));
  }
  return Value::Sequence(type, std::move(elements));
}

absl::StatusOr<Value> ValueFromOptionalProto(const onnx::OptionalProto& proto,
                                             const std::string& base_dir) {
  const std::string label = absl::StrCat("optional '", proto.name(), "'");
  switch (proto.elem_type()) {
    case onnx::OptionalProto::UNDEFINED:
      return Value::NoneOf(DataType::kUndefined);
    case onnx::OptionalProto::TENSOR: {
      if (!proto.has_tensor_value()) return Value::NoneOf(DataType::kUndefined);
      absl::StatusOr<Tensor> tensor = TensorFromProto(proto.tensor_value(), base_dir);
      if (!tensor.ok()) {
        return absl::Status(tensor.status().code(),
                            absl::StrCat(label, ": ", tensor.status().message()));
      }
      return Value::OptionalOf(*std::move(tensor));
    }
    case onnx::OptionalProto::SEQUENCE: {
      if (!proto.has_sequence_value()) return Value::NoneOf(DataType::kUndefined, true);
      HALFCAST_ASSIGN_OR_RETURN(Value sequence,
                                ValueFromSequenceProto(proto.sequence_value(), base_dir));
      return Value::OptionalOf(std::move(sequence));
    }
    default:
      return absl::UnimplementedError(absl::StrCat(
          label, ": only optional tensors and sequences are supported (elem_type ",
          proto.elem_type(), ")"));
  }
}

onnx::SequenceProto ValueToSequenceProto(const Value& sequence, const std::string& name) {
  onnx::SequenceProto proto;
  proto.set_name(name);
  proto.set_elem_type(onnx::SequenceProto::TENSOR);
  for (const Tensor& t : sequence.elements()) *proto.add_tensor_values() = TensorToProto(t, "");
  return proto;
}

onnx::OptionalProto ValueToOptionalProto(const Value& optional, const std::string& name) {
  onnx::OptionalProto proto;
  proto.set_name(name);
  const bool of_sequence = optional.optional_of_sequence();
  proto.set_elem_type(of_sequence ? onnx::OptionalProto::SEQUENCE : onnx::OptionalProto::TENSOR);
  if (!optional.has_element()) return proto;
  if (of_sequence) {
    *proto.mutable_sequence_value() = ValueToSequenceProto(optional.element(), "");
  } else {
    *proto.mutable_tensor_value() = TensorToProto(optional.element().tensor(), "");
  }
  return proto;
}

absl::StatusOr<Value> ReadValueProtoFile(const std::string& path, const onnx::TypeProto& type,
                                         std::string* name) {
  HALFCAST_ASSIGN_OR_RETURN(const std::string bytes, eval::ReadFileBytes(path));
  const std::string base_dir = eval::DirName(path);
  absl::StatusOr<Value> value;
  if (type.has_tensor_type()) {
    onnx::TensorProto proto;
    if (!proto.ParseFromString(bytes)) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", path, "' is not a serialized onnx.TensorProto"));
    }
    if (name != nullptr) *name = proto.name();
    HALFCAST_ASSIGN_OR_RETURN(Tensor tensor, TensorFromProto(proto, base_dir));
    return Value(std::move(tensor));
  }
  if (type.has_sequence_type()) {
    onnx::SequenceProto proto;
    if (!proto.ParseFromString(bytes)) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", path, "' is not a serialized onnx.SequenceProto"));
    }
    if (name != nullptr) *name = proto.name();
    value = ValueFromSequenceProto(proto, base_dir);
  } else if (type.has_optional_type()) {
    onnx::OptionalProto proto;
    if (!proto.ParseFromString(bytes)) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", path, "' is not a serialized onnx.OptionalProto"));
    }
    if (name != nullptr) *name = proto.name();
    value = ValueFromOptionalProto(proto, base_dir);
  } else {
    return absl::UnimplementedError(
        absl::StrCat("'", path, "': values of this type (maps, sparse tensors) are not supported"));
  }
  if (!value.ok()) {
    return absl::Status(value.status().code(), absl::StrCat("'", path, "': ", value.status().message()));
  }
  return value;
}

absl::Status WriteValueProtoFile(const Value& value, const std::string& name,
                                 const std::string& path) {
  std::string bytes;
  switch (value.kind()) {
    case Value::Kind::kTensor:
      bytes = TensorToProto(value.tensor(), name).SerializeAsString();
      break;
    case Value::Kind::kSequence:
      bytes = ValueToSequenceProto(value, name).SerializeAsString();
      break;
    case Value::Kind::kOptional:
      bytes = ValueToOptionalProto(value, name).SerializeAsString();
      break;
  }
  return eval::WriteFileBytes(path, "", bytes.data(), bytes.size());
}

}  // namespace halfcast
