// What the C ABI's implementation files share: the types behind the header's opaque handles,
// status helpers, and Guard(), the one place that turns absl::Status and exceptions into
// halfcast_status objects, so no exception crosses into C. Every entry point validates its
// pointers (HALFCAST_C_REQUIRE), then runs its body in Guard(). Results are built in locals and
// handed to out-parameters only when nothing can fail any more.
#ifndef HALFCAST_CAPI_C_API_INTERNAL_H_
#define HALFCAST_CAPI_C_API_INTERNAL_H_

#include <exception>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "halfcast/convert.h"
#include "halfcast/halfcast_c.h"
#include "halfcast/mixed_precision.h"
#include "halfcast/model_io.h"
#include "halfcast/tensor.h"

struct halfcast_status {
  halfcast_status_code code;
  std::string message;
};

struct halfcast_buffer {
  std::string bytes;
};

struct halfcast_model {
  onnx::ModelProto proto;
};

struct halfcast_save_options {
  halfcast::SaveOptions options;
};

struct halfcast_tensor {
  halfcast::Tensor tensor;
};

struct halfcast_named_tensors {
  // Sorted by name, so that index order is name order as the header promises.
  std::vector<std::pair<std::string, halfcast_tensor>> entries;
  // Set for an evaluator callback's outputs: borrowed memory may be the callback's stack, so
  // halfcast_named_tensors_add copies it while it is still alive.
  bool copy_borrowed = false;
};

struct halfcast_feeds {
  std::vector<halfcast::TensorMap> sets;
};

struct halfcast_convert_options {
  halfcast::ConvertOptions options;
};

struct halfcast_mixed_precision_options {
  halfcast::MixedPrecisionOptions options;
  // The evaluator object needs the call's lifetime, so only the callback is stored here.
  halfcast_evaluator_fn evaluator = nullptr;
  void* evaluator_user_data = nullptr;
};

struct halfcast_progress {
  const halfcast::SearchProgress* progress;
  std::string text;
};

struct halfcast_report {
  halfcast::MixedPrecisionReport report;  // a plain conversion fills only report.conversion
  bool mixed_precision = false;
};

namespace halfcast::capi {

// Returned when even a status object cannot be allocated; never freed.
halfcast_status* OutOfMemoryStatus();
halfcast_status* NewStatus(halfcast_status_code code, std::string_view message) noexcept;
// absl::StatusCode values are the header's pinned values, so the cast is the mapping.
halfcast_status* NewStatus(const absl::Status& status) noexcept;

template <typename Fn>
halfcast_status* Guard(Fn&& fn) noexcept {
  try {
    absl::Status status = fn();
    return status.ok() ? nullptr : NewStatus(status);
  } catch (const std::bad_alloc&) {
    return OutOfMemoryStatus();
  } catch (const std::exception& e) {
    return NewStatus(HALFCAST_INTERNAL, e.what());  // nothing here may throw again
  } catch (...) {
    return NewStatus(HALFCAST_INTERNAL, "unknown exception");
  }
}

// The error of an entry point called with a NULL required argument.
halfcast_status* NullArgument(const char* function, const char* argument) noexcept;
// Takes ownership of a status returned by a callback.
absl::Status TakeStatus(halfcast_status* status);

absl::StatusOr<DataType> ToDataType(halfcast_element_type type);
// Adds a tensor to a set, keeping it sorted by name.
void Insert(halfcast_named_tensors& set, std::string name, Tensor tensor);
halfcast_named_tensors ToNamedTensors(const TensorMap& map);
TensorMap ToTensorMap(const halfcast_named_tensors& set);

}  // namespace halfcast::capi

using halfcast::capi::Guard;
using halfcast::capi::NewStatus;

// An entry point's required pointer argument; checked before any work starts.
#define HALFCAST_C_REQUIRE(arg)                                                \
  do {                                                                         \
    if ((arg) == nullptr) return halfcast::capi::NullArgument(__func__, #arg); \
  } while (0)

#endif  // HALFCAST_CAPI_C_API_INTERNAL_H_
