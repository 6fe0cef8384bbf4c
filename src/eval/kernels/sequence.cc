// Sequence and optional ops: SequenceEmpty, SequenceConstruct, SequenceInsert, SequenceAt,
// SequenceErase, SequenceLength, SplitToSequence, ConcatFromSequence, SequenceMap, Optional,
// OptionalHasElement, OptionalGetElement. Registered exact_16bit (they move tensors, never compute
// on them) and takes_values. Sequence elements are shared with their inputs, not copied: tensors
// are immutable once made.
#include <algorithm>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "eval/graph_runner.h"
#include "eval/kernel.h"
#include "eval/kernels/tensor_util.h"

namespace halfcast::eval {
namespace {

using tensor_util::DispatchMove;
using tensor_util::Elements;
using tensor_util::kLatestOpset;
using tensor_util::MutableElements;
using tensor_util::NormalizeAxis;
using tensor_util::Product;
using tensor_util::ReadInt64s;
using tensor_util::ReadScalarInt64;

absl::StatusOr<const Value*> RequiredValue(const KernelContext& ctx, int i) {
  const Value* v = ctx.value_input(i);
  if (v == nullptr) return ctx.Error(absl::StrCat("required input ", i, " is missing"));
  return v;
}

absl::StatusOr<const Value*> SequenceInput(const KernelContext& ctx, int i) {
  HALFCAST_ASSIGN_OR_RETURN(const Value* v, RequiredValue(ctx, i));
  if (!v->is_sequence()) {
    return ctx.Error(absl::StrCat("input ", i, " must be a sequence, not ", v->TypeString()));
  }
  return v;
}

absl::StatusOr<const Tensor*> TensorInput(const KernelContext& ctx, int i) {
  HALFCAST_ASSIGN_OR_RETURN(const Value* v, RequiredValue(ctx, i));
  if (!v->is_tensor()) {
    return ctx.Error(absl::StrCat("input ", i, " must be a tensor, not ", v->TypeString()));
  }
  return &v->tensor();
}

// A sequence's new element must have its element type (any type joins an untyped sequence).
absl::Status CheckElementType(const KernelContext& ctx, const Value& sequence,
                              const Tensor& tensor) {
  if (sequence.element_type() == DataType::kUndefined ||
      sequence.element_type() == tensor.type()) {
    return absl::OkStatus();
  }
  return ctx.Error(absl::StrCat("a tensor(", DataTypeName(tensor.type()), ") cannot join ",
                                sequence.TypeString()));
}

// Input `i` (a position, optional) in [-length, length - 1 + slack], made non-negative;
// `absent` when the input is not given.
absl::StatusOr<int64_t> Position(const KernelContext& ctx, int i, int64_t length, int64_t slack,
                                 int64_t absent) {
  const Value* v = ctx.value_input(i);
  if (v == nullptr) return absent;
  if (!v->is_tensor()) return ctx.Error("position must be a tensor");
  HALFCAST_ASSIGN_OR_RETURN(const int64_t position, ReadScalarInt64(ctx, v->tensor(), "position"));
  if (position < -length || position > length - 1 + slack) {
    return ctx.Error(absl::StrCat("position ", position, " is out of range for a sequence of ",
                                  length, " elements"));
  }
  return position < 0 ? position + length : position;
}

DataType DtypeAttribute(const KernelContext& ctx) {
  return static_cast<DataType>(ctx.GetInt("dtype", static_cast<int64_t>(DataType::kFloat)));
}

absl::Status SequenceEmpty(KernelContext& ctx) {
  const DataType type = DtypeAttribute(ctx);
  if (ElementSize(type) == 0 && type != DataType::kString) {
    return ctx.Error(absl::StrCat("dtype ", static_cast<int>(type), " is not a tensor type"));
  }
  ctx.set_output(0, Value::Sequence(type, {}));
  return absl::OkStatus();
}

absl::Status SequenceConstruct(KernelContext& ctx) {
  if (ctx.input_count() == 0) return ctx.Error("needs at least one input");
  std::vector<Tensor> elements;
  for (int i = 0; i < ctx.input_count(); ++i) {
    HALFCAST_ASSIGN_OR_RETURN(const Tensor* t, TensorInput(ctx, i));
    if (!elements.empty() && t->type() != elements[0].type()) {
      return ctx.Error(absl::StrCat("input ", i, " is ", DataTypeName(t->type()), ", input 0 is ",
                                    DataTypeName(elements[0].type())));
    }
    elements.push_back(*t);
  }
  const DataType type = elements[0].type();
  ctx.set_output(0, Value::Sequence(type, std::move(elements)));
  return absl::OkStatus();
}

absl::Status SequenceInsert(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Value* sequence, SequenceInput(ctx, 0));
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* tensor, TensorInput(ctx, 1));
  HALFCAST_RETURN_IF_ERROR(CheckElementType(ctx, *sequence, *tensor));
  const int64_t length = static_cast<int64_t>(sequence->elements().size());
  HALFCAST_ASSIGN_OR_RETURN(const int64_t at, Position(ctx, 2, length, /*slack=*/1, length));
  std::vector<Tensor> elements = sequence->elements();
  elements.insert(elements.begin() + at, *tensor);
  ctx.set_output(0, Value::Sequence(tensor->type(), std::move(elements)));
  return absl::OkStatus();
}

absl::Status SequenceAt(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Value* sequence, SequenceInput(ctx, 0));
  const int64_t length = static_cast<int64_t>(sequence->elements().size());
  if (ctx.value_input(1) == nullptr) return ctx.Error("required input 1 (position) is missing");
  HALFCAST_ASSIGN_OR_RETURN(const int64_t at, Position(ctx, 1, length, /*slack=*/0, 0));
  ctx.set_output(0, sequence->elements()[at]);
  return absl::OkStatus();
}

absl::Status SequenceErase(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Value* sequence, SequenceInput(ctx, 0));
  const int64_t length = static_cast<int64_t>(sequence->elements().size());
  if (length == 0) return ctx.Error("cannot erase from an empty sequence");
  HALFCAST_ASSIGN_OR_RETURN(const int64_t at, Position(ctx, 1, length, /*slack=*/0, length - 1));
  std::vector<Tensor> elements = sequence->elements();
  elements.erase(elements.begin() + at);
  ctx.set_output(0, Value::Sequence(sequence->element_type(), std::move(elements)));
  return absl::OkStatus();
}

absl::Status SequenceLength(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Value* sequence, SequenceInput(ctx, 0));
  const int64_t length = static_cast<int64_t>(sequence->elements().size());
  ctx.set_output(0, Tensor::Copy(DataType::kInt64, {}, &length));
  return absl::OkStatus();
}

// Elements [begin, begin + count) of `input` along `axis` (outer * dim * inner elements).
absl::StatusOr<Tensor> Chunk(const KernelContext& ctx, const Tensor& input, int64_t axis,
                             int64_t begin, int64_t count) {
  const std::vector<int64_t>& shape = input.shape();
  std::vector<int64_t> chunk_shape = shape;
  chunk_shape[axis] = count;
  HALFCAST_ASSIGN_OR_RETURN(Tensor chunk, ctx.NewUninitializedTensor(input.type(), chunk_shape));
  const int64_t outer = Product(shape, 0, axis);
  const int64_t inner = Product(shape, axis + 1, shape.size());
  const int64_t dim = shape[axis];
  HALFCAST_RETURN_IF_ERROR(DispatchMove(ctx, input.type(), [&](auto tag) -> absl::Status {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, std::string>) {
      chunk.mutable_strings().resize(static_cast<std::size_t>(outer * count * inner));
    }
    const T* in = Elements<T>(input);
    T* out = MutableElements<T>(chunk);
    for (int64_t o = 0; o < outer; ++o) {
      std::copy_n(in + (o * dim + begin) * inner, count * inner, out + o * count * inner);
    }
    return absl::OkStatus();
  }));
  return chunk;
}

// SplitToSequence: parts of the `split` lengths (a 1-D input), of `split` elements each with a
// shorter last part (a scalar input), or of one element each (no input; keepdims = 0 then
// drops the axis).
absl::Status SplitToSequence(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor* input, TensorInput(ctx, 0));
  const int64_t rank = static_cast<int64_t>(input->shape().size());
  HALFCAST_ASSIGN_OR_RETURN(const int64_t axis, NormalizeAxis(ctx, ctx.GetInt("axis", 0), rank));
  const int64_t dim = input->shape()[axis];
  std::vector<int64_t> lengths;
  bool drop_axis = false;
  if (const Value* split = ctx.value_input(1)) {
    if (!split->is_tensor()) return ctx.Error("split must be a tensor");
    const Tensor& s = split->tensor();
    HALFCAST_ASSIGN_OR_RETURN(lengths, ReadInt64s(ctx, s, "split"));
    if (s.shape().empty()) {
      const int64_t part = lengths.empty() ? 0 : lengths[0];
      if (part <= 0) return ctx.Error(absl::StrCat("split ", part, " must be positive"));
      lengths.clear();
      for (int64_t begin = 0; begin < dim; begin += part) {
        lengths.push_back(std::min(part, dim - begin));
      }
    } else {
      int64_t total = 0;
      for (int64_t n : lengths) {
        if (n < 0) return ctx.Error(absl::StrCat("split length ", n, " is negative"));
        total += n;
      }
      if (total != dim) {
        return ctx.Error(absl::StrCat("split lengths add up to ", total, ", not the dimension ",
                                      dim, " of axis ", axis));
      }
    }
  } else {
    lengths.assign(dim, 1);
    drop_axis = ctx.GetInt("keepdims", 1) == 0;
  }
  std::vector<Tensor> parts;
  parts.reserve(lengths.size());
  int64_t begin = 0;
  for (int64_t n : lengths) {
    HALFCAST_ASSIGN_OR_RETURN(Tensor part, Chunk(ctx, *input, axis, begin, n));
    if (drop_axis) {
      std::vector<int64_t> shape = part.shape();
      shape.erase(shape.begin() + axis);
      HALFCAST_ASSIGN_OR_RETURN(part, part.WithShape(std::move(shape)));
    }
    parts.push_back(std::move(part));
    begin += n;
  }
  ctx.set_output(0, Value::Sequence(input->type(), std::move(parts)));
  return absl::OkStatus();
}

// ConcatFromSequence: the elements concatenated along `axis` by the Concat kernel, or with
// new_axis = 1 stacked along a new axis (each element given a dimension of 1 there first).
absl::Status ConcatFromSequence(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Value* sequence, SequenceInput(ctx, 0));
  if (!ctx.HasAttribute("axis")) return ctx.Error("attribute 'axis' is required");
  const std::vector<Tensor>& elements = sequence->elements();
  if (elements.empty()) return ctx.Error("cannot concatenate an empty sequence");
  const bool new_axis = ctx.GetInt("new_axis", 0) == 1;
  int64_t axis = ctx.GetInt("axis", 0);
  std::vector<Value> parts;
  parts.reserve(elements.size());
  if (new_axis) {
    const int64_t rank = static_cast<int64_t>(elements[0].shape().size());
    HALFCAST_ASSIGN_OR_RETURN(axis, NormalizeAxis(ctx, axis, rank + 1));
    for (const Tensor& t : elements) {
      std::vector<int64_t> shape = t.shape();
      if (axis > static_cast<int64_t>(shape.size())) {
        return ctx.Error("the sequence's elements differ in rank");
      }
      shape.insert(shape.begin() + axis, 1);
      HALFCAST_ASSIGN_OR_RETURN(Tensor expanded, t.WithShape(std::move(shape)));
      parts.push_back(std::move(expanded));
    }
  } else {
    parts.assign(elements.begin(), elements.end());
  }
  onnx::NodeProto concat;
  concat.set_op_type("Concat");
  concat.set_name(ctx.node().name());
  concat.add_output("concat_result");
  onnx::AttributeProto* axis_attribute = concat.add_attribute();
  axis_attribute->set_name("axis");
  axis_attribute->set_type(onnx::AttributeProto::INT);
  axis_attribute->set_i(axis);
  std::vector<const Value*> inputs;
  for (const Value& p : parts) inputs.push_back(&p);
  const KernelDef* def = FindKernel("", "Concat", 13);
  if (def == nullptr) return absl::InternalError("no Concat kernel");
  KernelContext inner(concat, 13, std::move(inputs), ctx.threads(), nullptr);
  inner.set_memory_budget(ctx.memory_budget());
  absl::Status status = def->fn(inner);
  if (!status.ok()) return ctx.Error(std::string(status.message()));
  ctx.set_output(0, std::move(inner.outputs()[0]));
  return absl::OkStatus();
}

// SequenceMap: the body once per element of the first input; an additional sequence input
// gives the body its element at the same position (it must be as long), a tensor itself. Each
// body output is gathered into an output sequence.
absl::Status SequenceMap(KernelContext& ctx) {
  const onnx::AttributeProto* body_attribute = ctx.attribute("body");
  if (body_attribute == nullptr || !body_attribute->has_g()) {
    return ctx.Error("graph attribute 'body' is missing");
  }
  const onnx::GraphProto& body = body_attribute->g();
  HALFCAST_ASSIGN_OR_RETURN(const Value* first, SequenceInput(ctx, 0));
  const std::size_t length = first->elements().size();
  std::vector<const Value*> inputs;
  for (int i = 0; i < ctx.input_count(); ++i) {
    HALFCAST_ASSIGN_OR_RETURN(const Value* v, RequiredValue(ctx, i));
    if (v->is_optional()) return ctx.Error(absl::StrCat("input ", i, " is an optional"));
    if (v->is_sequence() && v->elements().size() != length) {
      return ctx.Error(absl::StrCat("input ", i, " has ", v->elements().size(),
                                    " elements, input 0 has ", length));
    }
    inputs.push_back(v);
  }
  if (body.output_size() != ctx.output_count()) {
    return ctx.Error(absl::StrCat("body has ", body.output_size(), " outputs, the node ",
                                  ctx.output_count()));
  }
  std::vector<std::vector<Tensor>> gathered(body.output_size());
  for (std::size_t k = 0; k < length; ++k) {
    std::vector<Value> body_inputs;
    body_inputs.reserve(inputs.size());
    for (const Value* v : inputs) {
      body_inputs.push_back(v->is_sequence() ? Value(v->elements()[k]) : *v);
    }
    HALFCAST_ASSIGN_OR_RETURN(std::vector<Value> outputs,
                              ctx.subgraphs()->Run(body, std::move(body_inputs)));
    for (std::size_t o = 0; o < outputs.size(); ++o) {
      if (!outputs[o].is_tensor()) {
        return ctx.Error(absl::StrCat("body output ", o, " has type ", outputs[o].TypeString(),
                                      ", not a tensor type"));
      }
      gathered[o].push_back(std::move(outputs[o].mutable_tensor()));
    }
  }
  for (int o = 0; o < body.output_size(); ++o) {
    // Without elements the type is the body's declared one.
    const onnx::TypeProto& declared = body.output(o).type();
    DataType type = declared.has_tensor_type()
                        ? static_cast<DataType>(declared.tensor_type().elem_type())
                        : DataType::kUndefined;
    if (!gathered[o].empty()) type = gathered[o][0].type();
    ctx.set_output(o, Value::Sequence(type, std::move(gathered[o])));
  }
  return absl::OkStatus();
}

// The element type of a declared tensor or sequence-of-tensors type, and whether it is a
// sequence; false when `type` is neither.
bool ReadElementType(const onnx::TypeProto& type, DataType* element, bool* sequence) {
  if (type.has_tensor_type()) {
    *element = static_cast<DataType>(type.tensor_type().elem_type());
    *sequence = false;
    return true;
  }
  if (type.has_sequence_type() && type.sequence_type().elem_type().has_tensor_type()) {
    *element = static_cast<DataType>(type.sequence_type().elem_type().tensor_type().elem_type());
    *sequence = true;
    return true;
  }
  return false;
}

// Optional: an optional holding the input, or an empty one of the `type` attribute.
absl::Status Optional(KernelContext& ctx) {
  if (const Value* v = ctx.value_input(0)) {
    if (v->is_optional()) return ctx.Error("input 0 is already an optional");
    ctx.set_output(0, Value::OptionalOf(*v));
    return absl::OkStatus();
  }
  const onnx::AttributeProto* type = ctx.attribute("type");
  DataType element = DataType::kUndefined;
  bool sequence = false;
  if (type == nullptr || !type->has_tp() || !ReadElementType(type->tp(), &element, &sequence)) {
    return ctx.Error("without an input it needs a 'type' attribute of a tensor or sequence type");
  }
  ctx.set_output(0, Value::NoneOf(element, sequence));
  return absl::OkStatus();
}

// OptionalHasElement: from opset 18 a tensor or sequence input counts as present, and an absent
// input as empty.
absl::Status OptionalHasElement(KernelContext& ctx) {
  const Value* v = ctx.value_input(0);
  if (v == nullptr && ctx.opset() < 18) return ctx.Error("required input 0 is missing");
  if (v != nullptr && !v->is_optional() && ctx.opset() < 18) {
    return ctx.Error(absl::StrCat("input 0 must be an optional, not ", v->TypeString()));
  }
  const bool has = v != nullptr && (!v->is_optional() || v->has_element());
  ctx.set_output(0, Tensor::Copy(DataType::kBool, {}, &has));
  return absl::OkStatus();
}

// OptionalGetElement: the optional's value, an error when it is empty; from opset 18 a tensor or
// sequence input passes through.
absl::Status OptionalGetElement(KernelContext& ctx) {
  HALFCAST_ASSIGN_OR_RETURN(const Value* v, RequiredValue(ctx, 0));
  if (!v->is_optional()) {
    if (ctx.opset() < 18) {
      return ctx.Error(absl::StrCat("input 0 must be an optional, not ", v->TypeString()));
    }
    ctx.set_output(0, *v);
    return absl::OkStatus();
  }
  if (!v->has_element()) return ctx.Error("the optional input is empty");
  ctx.set_output(0, v->element());
  return absl::OkStatus();
}

constexpr bool kExact = true;
constexpr uint32_t kNoFloat32Outputs = 0;
constexpr bool kTakesValues = true;

constexpr KernelDef kKernels[] = {
    {"", "SequenceEmpty", 11, kLatestOpset, SequenceEmpty, kExact, kNoFloat32Outputs, kTakesValues},
    {"", "SequenceConstruct", 11, kLatestOpset, SequenceConstruct, kExact, kNoFloat32Outputs,
     kTakesValues},
    {"", "SequenceInsert", 11, kLatestOpset, SequenceInsert, kExact, kNoFloat32Outputs,
     kTakesValues},
    {"", "SequenceAt", 11, kLatestOpset, SequenceAt, kExact, kNoFloat32Outputs, kTakesValues},
    {"", "SequenceErase", 11, kLatestOpset, SequenceErase, kExact, kNoFloat32Outputs, kTakesValues},
    {"", "SequenceLength", 11, kLatestOpset, SequenceLength, kExact, kNoFloat32Outputs,
     kTakesValues},
    {"", "SplitToSequence", 11, kLatestOpset, SplitToSequence, kExact, kNoFloat32Outputs,
     kTakesValues},
    {"", "ConcatFromSequence", 11, kLatestOpset, ConcatFromSequence, kExact, kNoFloat32Outputs,
     kTakesValues},
    {"", "SequenceMap", 17, kLatestOpset, SequenceMap, kExact, kNoFloat32Outputs, kTakesValues},
    {"", "Optional", 15, kLatestOpset, Optional, kExact, kNoFloat32Outputs, kTakesValues},
    {"", "OptionalHasElement", 15, kLatestOpset, OptionalHasElement, kExact, kNoFloat32Outputs,
     kTakesValues},
    {"", "OptionalGetElement", 15, kLatestOpset, OptionalGetElement, kExact, kNoFloat32Outputs,
     kTakesValues},
};

}  // namespace

absl::Span<const KernelDef> SequenceKernels() { return kKernels; }

}  // namespace halfcast::eval
