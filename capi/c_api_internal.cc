#include "capi/c_api_internal.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace halfcast::capi {

halfcast_status* OutOfMemoryStatus() {
  static halfcast_status status{HALFCAST_RESOURCE_EXHAUSTED, "out of memory"};
  return &status;
}

halfcast_status* NewStatus(halfcast_status_code code, std::string_view message) noexcept {
  try {
    return new halfcast_status{code, std::string(message)};
  } catch (...) {
    return OutOfMemoryStatus();
  }
}

halfcast_status* NewStatus(const absl::Status& status) noexcept {
  return NewStatus(static_cast<halfcast_status_code>(status.code()),
                   std::string_view(status.message().data(), status.message().size()));
}

halfcast_status* NullArgument(const char* function, const char* argument) noexcept {
  try {
    return NewStatus(HALFCAST_INVALID_ARGUMENT,
                     absl::StrCat(function, ": `", argument, "` is NULL"));
  } catch (...) {
    return OutOfMemoryStatus();
  }
}

absl::Status TakeStatus(halfcast_status* status) {
  if (status == nullptr) return absl::OkStatus();
  absl::Status result(static_cast<absl::StatusCode>(status->code), status->message);
  halfcast_status_destroy(status);
  return result;
}

absl::StatusOr<DataType> ToDataType(halfcast_element_type type) {
  switch (type) {
    case HALFCAST_ELEMENT_FLOAT:
    case HALFCAST_ELEMENT_UINT8:
    case HALFCAST_ELEMENT_INT8:
    case HALFCAST_ELEMENT_UINT16:
    case HALFCAST_ELEMENT_INT16:
    case HALFCAST_ELEMENT_INT32:
    case HALFCAST_ELEMENT_INT64:
    case HALFCAST_ELEMENT_BOOL:
    case HALFCAST_ELEMENT_FLOAT16:
    case HALFCAST_ELEMENT_DOUBLE:
    case HALFCAST_ELEMENT_UINT32:
    case HALFCAST_ELEMENT_UINT64:
    case HALFCAST_ELEMENT_BFLOAT16:
      return static_cast<DataType>(type);
    case HALFCAST_ELEMENT_UNDEFINED:
      break;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unsupported tensor element type ", static_cast<int>(type)));
}

void Insert(halfcast_named_tensors& set, std::string name, Tensor tensor) {
  auto it =
      std::lower_bound(set.entries.begin(), set.entries.end(), name,
                       [](const auto& entry, const std::string& n) { return entry.first < n; });
  set.entries.insert(it, {std::move(name), halfcast_tensor{std::move(tensor)}});
}

halfcast_named_tensors ToNamedTensors(const TensorMap& map) {
  halfcast_named_tensors set;
  set.entries.reserve(map.size());
  for (const auto& [name, tensor] : map) set.entries.push_back({name, halfcast_tensor{tensor}});
  return set;
}

TensorMap ToTensorMap(const halfcast_named_tensors& set) {
  TensorMap map;
  for (const auto& [name, tensor] : set.entries) map.emplace(name, tensor.tensor);
  return map;
}

}  // namespace halfcast::capi
