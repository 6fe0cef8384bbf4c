// KernelContext: attribute access, input checks and checked allocation for kernels.
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "eval/kernel.h"

namespace halfcast::eval {

absl::StatusOr<const Tensor*> KernelContext::RequiredInput(int i) const {
  const Tensor* t = input(i);
  if (t != nullptr) return t;
  return Error(absl::StrCat("required input ", i, " is missing"));
}

absl::Status KernelContext::CheckAllocation(DataType type,
                                            const std::vector<int64_t>& shape) const {
  absl::StatusOr<int64_t> count = CheckedElementCount(shape);
  if (!count.ok()) {
    return absl::Status(count.status().code(),
                        absl::StrCat(node_.op_type(), " node '", node_.name(),
                                     "': output: ", count.status().message()));
  }
  const int64_t element_size = static_cast<int64_t>(ElementSize(type));
  if (element_size > 0 && *count > memory_budget_ / element_size) {
    return absl::ResourceExhaustedError(absl::StrCat(
        node_.op_type(), " node '", node_.name(), "': an output of ", *count, " ",
        DataTypeName(type), " elements exceeds the ", memory_budget_,
        " bytes left under the memory limit"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Tensor> KernelContext::NewTensor(DataType type, std::vector<int64_t> shape) const {
  HALFCAST_RETURN_IF_ERROR(CheckAllocation(type, shape));
  return Tensor::Zeros(type, std::move(shape));
}

absl::StatusOr<Tensor> KernelContext::NewUninitializedTensor(DataType type,
                                                             std::vector<int64_t> shape) const {
  HALFCAST_RETURN_IF_ERROR(CheckAllocation(type, shape));
  return Tensor::Uninitialized(type, std::move(shape));
}

const onnx::AttributeProto* KernelContext::attribute(std::string_view name) const {
  for (const onnx::AttributeProto& a : node_.attribute()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}

int64_t KernelContext::GetInt(std::string_view name, int64_t default_value) const {
  const onnx::AttributeProto* a = attribute(name);
  return a != nullptr ? a->i() : default_value;
}

float KernelContext::GetFloat(std::string_view name, float default_value) const {
  const onnx::AttributeProto* a = attribute(name);
  return a != nullptr ? a->f() : default_value;
}

std::string KernelContext::GetString(std::string_view name, std::string_view default_value) const {
  const onnx::AttributeProto* a = attribute(name);
  return a != nullptr ? a->s() : std::string(default_value);
}

std::vector<int64_t> KernelContext::GetInts(std::string_view name) const {
  const onnx::AttributeProto* a = attribute(name);
  if (a == nullptr) return {};
  return std::vector<int64_t>(a->ints().begin(), a->ints().end());
}

std::vector<float> KernelContext::GetFloats(std::string_view name) const {
  const onnx::AttributeProto* a = attribute(name);
  if (a == nullptr) return {};
  return std::vector<float>(a->floats().begin(), a->floats().end());
}

absl::Status KernelContext::Error(std::string_view message) const {
  return absl::InvalidArgumentError(
      absl::StrCat(node_.op_type(), " node '", node_.name(), "': ", std::string(message)));
}

}  // namespace halfcast::eval
