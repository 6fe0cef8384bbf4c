// The C ABI: tensors, named tensor sets and feeds.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "capi/c_api_internal.h"
#include "common/status_macros.h"
#include "halfcast/tensor.h"

extern "C" {

// ----- tensors -----

halfcast_status* halfcast_tensor_create(halfcast_element_type type, const int64_t* dims,
                                        size_t rank, const void* data, size_t data_size,
                                        halfcast_tensor_data_mode mode,
                                        halfcast_tensor** out_tensor) {
  if (rank > 0) HALFCAST_C_REQUIRE(dims);
  HALFCAST_C_REQUIRE(out_tensor);
  return Guard([&]() -> absl::Status {
    HALFCAST_ASSIGN_OR_RETURN(halfcast::DataType data_type, halfcast::capi::ToDataType(type));
    if (mode != HALFCAST_TENSOR_COPY && mode != HALFCAST_TENSOR_BORROW) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown tensor data mode ", static_cast<int>(mode)));
    }
    std::vector<int64_t> shape(dims, dims + rank);
    const size_t element_size = halfcast::ElementSize(data_type);
    HALFCAST_ASSIGN_OR_RETURN(
        int64_t count,
        halfcast::CheckedElementCount(shape, static_cast<int64_t>(SIZE_MAX / 2 / element_size)));
    const size_t expected = static_cast<size_t>(count) * element_size;
    if (data_size != expected) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor data is ", data_size, " bytes; its type and shape need ", expected));
    }
    if (expected > 0 && data == nullptr) {
      return absl::InvalidArgumentError("tensor data is NULL");
    }
    halfcast::Tensor tensor = mode == HALFCAST_TENSOR_COPY
                                  ? halfcast::Tensor::Copy(data_type, std::move(shape), data)
                                  : halfcast::Tensor::Borrow(data_type, std::move(shape), data);
    *out_tensor = new halfcast_tensor{std::move(tensor)};
    return absl::OkStatus();
  });
}

void halfcast_tensor_destroy(halfcast_tensor* tensor) { delete tensor; }

halfcast_element_type halfcast_tensor_element_type(const halfcast_tensor* tensor) {
  return tensor ? static_cast<halfcast_element_type>(tensor->tensor.type())
                : HALFCAST_ELEMENT_UNDEFINED;
}

size_t halfcast_tensor_rank(const halfcast_tensor* tensor) {
  return tensor ? tensor->tensor.shape().size() : 0;
}

const int64_t* halfcast_tensor_dims(const halfcast_tensor* tensor) {
  return tensor ? tensor->tensor.shape().data() : nullptr;
}

int64_t halfcast_tensor_element_count(const halfcast_tensor* tensor) {
  return tensor ? tensor->tensor.element_count() : 0;
}

const void* halfcast_tensor_data(const halfcast_tensor* tensor) {
  return tensor ? tensor->tensor.raw_data() : nullptr;
}

size_t halfcast_tensor_byte_size(const halfcast_tensor* tensor) {
  return tensor ? tensor->tensor.byte_size() : 0;
}

// ----- named tensors and feeds -----

halfcast_status* halfcast_named_tensors_create(halfcast_named_tensors** out) {
  HALFCAST_C_REQUIRE(out);
  return Guard([&] {
    *out = new halfcast_named_tensors();
    return absl::OkStatus();
  });
}

void halfcast_named_tensors_destroy(halfcast_named_tensors* set) { delete set; }

halfcast_status* halfcast_named_tensors_add(halfcast_named_tensors* set, const char* name,
                                            const halfcast_tensor* tensor) {
  HALFCAST_C_REQUIRE(set);
  HALFCAST_C_REQUIRE(name);
  HALFCAST_C_REQUIRE(tensor);
  return Guard([&] {
    if (halfcast_named_tensors_find(set, name) != nullptr) {
      return absl::AlreadyExistsError(absl::StrCat("a tensor named '", name, "' is already set"));
    }
    const halfcast::Tensor& t = tensor->tensor;
    halfcast::capi::Insert(*set, name,
                           set->copy_borrowed && t.is_borrowed()
                               ? halfcast::Tensor::Copy(t.type(), t.shape(), t.raw_data())
                               : t);
    return absl::OkStatus();
  });
}

size_t halfcast_named_tensors_count(const halfcast_named_tensors* set) {
  return set ? set->entries.size() : 0;
}

const char* halfcast_named_tensors_name(const halfcast_named_tensors* set, size_t index) {
  if (set == nullptr || index >= set->entries.size()) return nullptr;
  return set->entries[index].first.c_str();
}

const halfcast_tensor* halfcast_named_tensors_tensor(const halfcast_named_tensors* set,
                                                     size_t index) {
  if (set == nullptr || index >= set->entries.size()) return nullptr;
  return &set->entries[index].second;
}

const halfcast_tensor* halfcast_named_tensors_find(const halfcast_named_tensors* set,
                                                   const char* name) {
  if (set == nullptr || name == nullptr) return nullptr;
  auto it = std::lower_bound(
      set->entries.begin(), set->entries.end(), name,
      [](const auto& entry, const char* n) { return std::strcmp(entry.first.c_str(), n) < 0; });
  if (it == set->entries.end() || it->first != name) return nullptr;
  return &it->second;
}

halfcast_status* halfcast_feeds_create(halfcast_feeds** out) {
  HALFCAST_C_REQUIRE(out);
  return Guard([&] {
    *out = new halfcast_feeds();
    return absl::OkStatus();
  });
}

void halfcast_feeds_destroy(halfcast_feeds* feeds) { delete feeds; }

halfcast_status* halfcast_feeds_add(halfcast_feeds* feeds, const halfcast_named_tensors* set) {
  HALFCAST_C_REQUIRE(feeds);
  HALFCAST_C_REQUIRE(set);
  return Guard([&] {
    feeds->sets.push_back(halfcast::capi::ToTensorMap(*set));
    return absl::OkStatus();
  });
}

size_t halfcast_feeds_count(const halfcast_feeds* feeds) { return feeds ? feeds->sets.size() : 0; }

}  // extern "C"
