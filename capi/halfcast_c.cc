// The C ABI over the C++ API. Every entry point validates its pointers, then runs its body in
// Guard(), the one place that turns absl::Status and exceptions into halfcast_status objects, so
// no exception crosses into C. Results are built in locals and handed to out-parameters only
// when nothing can fail any more.
#include "halfcast/halfcast_c.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "halfcast/convert.h"
#include "halfcast/evaluator.h"
#include "halfcast/mixed_precision.h"
#include "halfcast/model_io.h"
#include "halfcast/options.h"
#include "halfcast/tensor.h"
#include "halfcast/version.h"

static_assert(HALFCAST_C_ABI_VERSION == HALFCAST_ABI_VERSION_FROM_CMAKE,
              "HALFCAST_C_ABI_VERSION in halfcast_c.h differs from HALFCAST_ABI_VERSION in "
              "CMakeLists.txt");

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
namespace {

// Returned when even a status object cannot be allocated; never freed.
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

// absl::StatusCode values are the header's pinned values, so the cast is the mapping.
halfcast_status* NewStatus(const absl::Status& status) noexcept {
  return NewStatus(static_cast<halfcast_status_code>(status.code()),
                   std::string_view(status.message().data(), status.message().size()));
}

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

halfcast_status* NullArgument(const char* function, const char* argument) noexcept {
  try {
    return NewStatus(HALFCAST_INVALID_ARGUMENT,
                     absl::StrCat(function, ": `", argument, "` is NULL"));
  } catch (...) {
    return OutOfMemoryStatus();
  }
}

// Takes ownership of a status returned by a callback.
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

// ----- options -----

enum class ValueKind { kBool, kInt, kDouble, kStrings, kInts };

const char* KindName(ValueKind kind) {
  switch (kind) {
    case ValueKind::kBool:
      return "bool";
    case ValueKind::kInt:
      return "int";
    case ValueKind::kDouble:
      return "double";
    case ValueKind::kStrings:
      return "strings";
    case ValueKind::kInts:
      return "ints";
  }
  return "?";
}

struct OptionInfo {
  const char* name;
  ValueKind kind;
  bool convert;  // a key of halfcast_convert_options
  bool mixed;    // a key of halfcast_mixed_precision_options
};

// Indexed by halfcast_option value.
constexpr OptionInfo kOptions[] = {
    {"min_positive_val", ValueKind::kDouble, true, true},
    {"max_finite_val", ValueKind::kDouble, true, true},
    {"keep_io_types", ValueKind::kBool, true, true},
    {"keep_io_names", ValueKind::kStrings, true, false},
    {"disable_shape_infer", ValueKind::kBool, true, false},
    {"op_block_list", ValueKind::kStrings, true, true},
    {"node_block_list", ValueKind::kStrings, true, false},
    {"node_index_block_list", ValueKind::kInts, true, false},
    {"check_fp16_ready", ValueKind::kBool, true, false},
    {"target", ValueKind::kInt, true, true},
    {"rtol", ValueKind::kDouble, false, true},
    {"atol", ValueKind::kDouble, false, true},
    {"strategy", ValueKind::kInt, false, true},
    {"max_evaluations", ValueKind::kInt, false, true},
    {"fp16_ops", ValueKind::kStrings, true, true},
};
constexpr int kOptionCount = sizeof(kOptions) / sizeof(kOptions[0]);

// Checks that `option` exists, belongs to the options object (`mixed` or convert) and takes
// values of `kind`.
absl::Status CheckOption(halfcast_option option, ValueKind kind, bool mixed) {
  const int index = static_cast<int>(option);
  if (index < 0 || index >= kOptionCount) {
    return absl::InvalidArgumentError(absl::StrCat("unknown option ", index));
  }
  const OptionInfo& info = kOptions[index];
  if (!(mixed ? info.mixed : info.convert)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "option '", info.name, "' is not a ", mixed ? "mixed precision" : "conversion", " option"));
  }
  if (info.kind != kind) {
    return absl::InvalidArgumentError(absl::StrCat("option '", info.name, "' takes ",
                                                   KindName(info.kind), ", not ", KindName(kind)));
  }
  return absl::OkStatus();
}

absl::Status OutOfRange(halfcast_option option, const std::string& why) {
  return absl::InvalidArgumentError(
      absl::StrCat("option '", kOptions[static_cast<int>(option)].name, "' ", why));
}

// The options both kinds share have the same names in ConvertOptions and MixedPrecisionOptions.
template <typename Options>
absl::Status SetSharedInt(Options& options, halfcast_option option, int64_t value) {
  if (option != HALFCAST_OPTION_TARGET) return absl::InternalError("unhandled int option");
  if (value != HALFCAST_TARGET_FLOAT16 && value != HALFCAST_TARGET_BFLOAT16) {
    return OutOfRange(option, absl::StrCat("must be a halfcast_target, not ", value));
  }
  options.target = value == HALFCAST_TARGET_FLOAT16 ? TargetType::kFloat16 : TargetType::kBFloat16;
  return absl::OkStatus();
}

template <typename Options>
absl::Status SetSharedDouble(Options& options, halfcast_option option, double value) {
  if (!std::isfinite(value) || value < 0) {
    return OutOfRange(option, absl::StrCat("must be finite and >= 0, not ", value));
  }
  switch (option) {
    case HALFCAST_OPTION_MIN_POSITIVE_VAL:
      options.min_positive_val = static_cast<float>(value);
      return absl::OkStatus();
    case HALFCAST_OPTION_MAX_FINITE_VAL:
      if (value == 0 || value > 3.4028234663852886e38) {
        return OutOfRange(option, absl::StrCat("must be > 0 and a finite float, not ", value));
      }
      options.max_finite_val = static_cast<float>(value);
      return absl::OkStatus();
    default:
      return absl::InternalError("unhandled double option");
  }
}

absl::StatusOr<std::vector<std::string>> ToStrings(halfcast_option option,
                                                   const char* const* values, size_t count) {
  if (count > 0 && values == nullptr) return OutOfRange(option, "values are NULL");
  std::vector<std::string> result;
  result.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    if (values[i] == nullptr) return OutOfRange(option, absl::StrCat("value ", i, " is NULL"));
    result.emplace_back(values[i]);
  }
  return result;
}

// ----- callbacks -----

LogCallback WrapLog(halfcast_log_fn fn, void* user_data) {
  if (fn == nullptr) return nullptr;
  return [fn, user_data](LogLevel level, std::string_view message) {
    const std::string text(message);  // the callback wants a NUL-terminated string
    fn(static_cast<halfcast_log_level>(level), text.c_str(), user_data);
  };
}

// Runs candidates through a caller's halfcast_evaluator_fn.
class CallbackEvaluator : public Evaluator {
 public:
  CallbackEvaluator(halfcast_evaluator_fn fn, void* user_data) : fn_(fn), user_data_(user_data) {}

  absl::StatusOr<TensorMap> Run(const onnx::ModelProto& model, const TensorMap& feeds,
                                const RunOptions& options) override {
    // The callback's runtime returns graph outputs only, so intermediate values the search asks
    // for (to rank nodes by error) become graph outputs. `precomputed` is an optimisation the
    // callback cannot use; ignoring it is allowed.
    std::vector<std::string> wanted = options.extra_outputs;
    if (options.return_all_values) {
      for (const onnx::NodeProto& node : model.graph().node()) {
        for (const std::string& output : node.output()) {
          if (!output.empty()) wanted.push_back(output);
        }
      }
    }
    std::string bytes;
    if (wanted.empty()) {
      HALFCAST_ASSIGN_OR_RETURN(bytes, SerializeModel(model));
    } else {
      onnx::ModelProto with_outputs = model;
      AddGraphOutputs(wanted, *with_outputs.mutable_graph());
      HALFCAST_ASSIGN_OR_RETURN(bytes, SerializeModel(with_outputs));
    }
    const halfcast_named_tensors inputs = ToNamedTensors(feeds);
    halfcast_named_tensors outputs;
    outputs.copy_borrowed = true;
    HALFCAST_RETURN_IF_ERROR(
        TakeStatus(fn_(bytes.data(), bytes.size(), &inputs, &outputs, user_data_)));
    TensorMap result = ToTensorMap(outputs);
    for (const onnx::ValueInfoProto& output : model.graph().output()) {
      if (!result.count(output.name())) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the evaluator callback did not return graph output '", output.name(), "'"));
      }
    }
    return result;
  }

 private:
  static void AddGraphOutputs(const std::vector<std::string>& names, onnx::GraphProto& graph) {
    for (const std::string& name : names) {
      const auto same_name = [&](const onnx::ValueInfoProto& v) { return v.name() == name; };
      if (std::any_of(graph.output().begin(), graph.output().end(), same_name)) continue;
      auto info = std::find_if(graph.value_info().begin(), graph.value_info().end(), same_name);
      if (info != graph.value_info().end()) {
        *graph.add_output() = *info;
      } else {
        graph.add_output()->set_name(name);
      }
    }
  }

  halfcast_evaluator_fn fn_;
  void* user_data_;
};

// The C++ options of a mixed-precision call; `evaluator` must outlive their use.
MixedPrecisionOptions ToMixedOptions(const halfcast_mixed_precision_options* options,
                                     CallbackEvaluator* evaluator) {
  MixedPrecisionOptions result = options ? options->options : MixedPrecisionOptions();
  if (options && options->evaluator) result.evaluator = evaluator;
  return result;
}

}  // namespace
}  // namespace halfcast::capi

using halfcast::capi::Guard;
using halfcast::capi::NewStatus;

// An entry point's required pointer argument; checked before any work starts.
#define HALFCAST_C_REQUIRE(arg)                                                \
  do {                                                                         \
    if ((arg) == nullptr) return halfcast::capi::NullArgument(__func__, #arg); \
  } while (0)

extern "C" {

// ----- versions -----

const char* halfcast_version(void) { return halfcast::Version(); }

int halfcast_abi_version(void) { return HALFCAST_C_ABI_VERSION; }

// ----- status -----

halfcast_status* halfcast_status_create(halfcast_status_code code, const char* message) {
  return NewStatus(code == HALFCAST_OK ? HALFCAST_UNKNOWN : code, message ? message : "");
}

halfcast_status_code halfcast_status_code_of(const halfcast_status* status) {
  return status ? status->code : HALFCAST_OK;
}

const char* halfcast_status_message(const halfcast_status* status) {
  return status ? status->message.c_str() : "";
}

const char* halfcast_status_code_name(halfcast_status_code code) {
  static const char* const kNames[] = {"ok",
                                       "cancelled",
                                       "unknown",
                                       "invalid_argument",
                                       "deadline_exceeded",
                                       "not_found",
                                       "already_exists",
                                       "permission_denied",
                                       "resource_exhausted",
                                       "failed_precondition",
                                       "aborted",
                                       "out_of_range",
                                       "unimplemented",
                                       "internal",
                                       "unavailable",
                                       "data_loss",
                                       "unauthenticated"};
  const int index = static_cast<int>(code);
  if (index < 0 || index >= static_cast<int>(sizeof(kNames) / sizeof(kNames[0]))) {
    return "unknown_code";
  }
  return kNames[index];
}

void halfcast_status_destroy(halfcast_status* status) {
  if (status != halfcast::capi::OutOfMemoryStatus()) delete status;
}

// ----- buffers -----

const void* halfcast_buffer_data(const halfcast_buffer* buffer) {
  return buffer ? buffer->bytes.data() : nullptr;
}

size_t halfcast_buffer_size(const halfcast_buffer* buffer) {
  return buffer ? buffer->bytes.size() : 0;
}

void halfcast_buffer_destroy(halfcast_buffer* buffer) { delete buffer; }

// ----- models -----

halfcast_status* halfcast_model_load_file(const char* path, halfcast_model** out_model) {
  HALFCAST_C_REQUIRE(path);
  HALFCAST_C_REQUIRE(out_model);
  return Guard([&]() -> absl::Status {
    HALFCAST_ASSIGN_OR_RETURN(onnx::ModelProto proto, halfcast::LoadModel(path));
    *out_model = new halfcast_model{std::move(proto)};
    return absl::OkStatus();
  });
}

halfcast_status* halfcast_model_load_bytes(const void* data, size_t size,
                                           halfcast_model** out_model) {
  if (size > 0) HALFCAST_C_REQUIRE(data);
  HALFCAST_C_REQUIRE(out_model);
  return Guard([&]() -> absl::Status {
    HALFCAST_ASSIGN_OR_RETURN(onnx::ModelProto proto, halfcast::LoadModelFromBytes(std::string_view(
                                                          static_cast<const char*>(data), size)));
    *out_model = new halfcast_model{std::move(proto)};
    return absl::OkStatus();
  });
}

halfcast_status* halfcast_save_options_create(halfcast_save_options** out) {
  HALFCAST_C_REQUIRE(out);
  return Guard([&] {
    *out = new halfcast_save_options();
    return absl::OkStatus();
  });
}

void halfcast_save_options_destroy(halfcast_save_options* options) { delete options; }

halfcast_status* halfcast_save_options_set_external_data(halfcast_save_options* options,
                                                         int external_data, int64_t threshold_bytes,
                                                         const char* file_name) {
  HALFCAST_C_REQUIRE(options);
  return Guard([&] {
    if (threshold_bytes < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("external data threshold must be >= 0, not ", threshold_bytes));
    }
    halfcast::SaveOptions save;
    save.external_data = external_data != 0;
    save.external_data_threshold = threshold_bytes;
    save.external_data_file = file_name ? file_name : "";
    options->options = std::move(save);
    return absl::OkStatus();
  });
}

halfcast_status* halfcast_model_save(const halfcast_model* model, const char* path,
                                     const halfcast_save_options* options) {
  HALFCAST_C_REQUIRE(model);
  HALFCAST_C_REQUIRE(path);
  return Guard([&] {
    return halfcast::SaveModel(model->proto, path,
                               options ? options->options : halfcast::SaveOptions());
  });
}

halfcast_status* halfcast_model_serialize(const halfcast_model* model,
                                          halfcast_buffer** out_buffer) {
  HALFCAST_C_REQUIRE(model);
  HALFCAST_C_REQUIRE(out_buffer);
  return Guard([&]() -> absl::Status {
    HALFCAST_ASSIGN_OR_RETURN(std::string bytes, halfcast::SerializeModel(model->proto));
    *out_buffer = new halfcast_buffer{std::move(bytes)};
    return absl::OkStatus();
  });
}

void halfcast_model_destroy(halfcast_model* model) { delete model; }

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

// ----- options -----

const char* halfcast_option_name(halfcast_option option) {
  const int index = static_cast<int>(option);
  if (index < 0 || index >= halfcast::capi::kOptionCount) return nullptr;
  return halfcast::capi::kOptions[index].name;
}

halfcast_status* halfcast_convert_options_create(halfcast_convert_options** out) {
  HALFCAST_C_REQUIRE(out);
  return Guard([&] {
    *out = new halfcast_convert_options();
    return absl::OkStatus();
  });
}

void halfcast_convert_options_destroy(halfcast_convert_options* options) { delete options; }

halfcast_status* halfcast_convert_options_set_bool(halfcast_convert_options* options,
                                                   halfcast_option option, int value) {
  HALFCAST_C_REQUIRE(options);
  return Guard([&] {
    HALFCAST_RETURN_IF_ERROR(
        halfcast::capi::CheckOption(option, halfcast::capi::ValueKind::kBool, false));
    halfcast::ConvertOptions& o = options->options;
    (option == HALFCAST_OPTION_KEEP_IO_TYPES         ? o.keep_io_types
     : option == HALFCAST_OPTION_DISABLE_SHAPE_INFER ? o.disable_shape_infer
                                                     : o.check_fp16_ready) = value != 0;
    return absl::OkStatus();
  });
}

halfcast_status* halfcast_convert_options_set_int(halfcast_convert_options* options,
                                                  halfcast_option option, int64_t value) {
  HALFCAST_C_REQUIRE(options);
  return Guard([&] {
    HALFCAST_RETURN_IF_ERROR(
        halfcast::capi::CheckOption(option, halfcast::capi::ValueKind::kInt, false));
    return halfcast::capi::SetSharedInt(options->options, option, value);
  });
}

halfcast_status* halfcast_convert_options_set_double(halfcast_convert_options* options,
                                                     halfcast_option option, double value) {
  HALFCAST_C_REQUIRE(options);
  return Guard([&] {
    HALFCAST_RETURN_IF_ERROR(
        halfcast::capi::CheckOption(option, halfcast::capi::ValueKind::kDouble, false));
    return halfcast::capi::SetSharedDouble(options->options, option, value);
  });
}

halfcast_status* halfcast_convert_options_set_strings(halfcast_convert_options* options,
                                                      halfcast_option option,
                                                      const char* const* values, size_t count) {
  HALFCAST_C_REQUIRE(options);
  return Guard([&]() -> absl::Status {
    HALFCAST_RETURN_IF_ERROR(
        halfcast::capi::CheckOption(option, halfcast::capi::ValueKind::kStrings, false));
    HALFCAST_ASSIGN_OR_RETURN(std::vector<std::string> strings,
                              halfcast::capi::ToStrings(option, values, count));
    halfcast::ConvertOptions& o = options->options;
    (option == HALFCAST_OPTION_KEEP_IO_NAMES   ? o.keep_io_names
     : option == HALFCAST_OPTION_OP_BLOCK_LIST ? o.op_block_list
     : option == HALFCAST_OPTION_FP16_OPS      ? o.fp16_ops
                                               : o.node_block_list) = std::move(strings);
    return absl::OkStatus();
  });
}

halfcast_status* halfcast_convert_options_set_ints(halfcast_convert_options* options,
                                                   halfcast_option option, const int64_t* values,
                                                   size_t count) {
  HALFCAST_C_REQUIRE(options);
  if (count > 0) HALFCAST_C_REQUIRE(values);
  return Guard([&] {
    HALFCAST_RETURN_IF_ERROR(
        halfcast::capi::CheckOption(option, halfcast::capi::ValueKind::kInts, false));
    std::vector<std::size_t> indices;
    for (size_t i = 0; i < count; ++i) {
      if (values[i] < 0) {
        return halfcast::capi::OutOfRange(option,
                                          absl::StrCat("value ", i, " is negative: ", values[i]));
      }
      indices.push_back(static_cast<std::size_t>(values[i]));
    }
    options->options.node_index_block_list = std::move(indices);
    return absl::OkStatus();
  });
}

halfcast_status* halfcast_convert_options_set_log_callback(halfcast_convert_options* options,
                                                           halfcast_log_fn fn, void* user_data) {
  HALFCAST_C_REQUIRE(options);
  return Guard([&] {
    options->options.log = halfcast::capi::WrapLog(fn, user_data);
    return absl::OkStatus();
  });
}

halfcast_status* halfcast_mixed_precision_options_create(halfcast_mixed_precision_options** out) {
  HALFCAST_C_REQUIRE(out);
  return Guard([&] {
    *out = new halfcast_mixed_precision_options();
    return absl::OkStatus();
  });
}

void halfcast_mixed_precision_options_destroy(halfcast_mixed_precision_options* options) {
  delete options;
}

halfcast_status* halfcast_mixed_precision_options_set_bool(
    halfcast_mixed_precision_options* options, halfcast_option option, int value) {
  HALFCAST_C_REQUIRE(options);
  return Guard([&] {
    HALFCAST_RETURN_IF_ERROR(
        halfcast::capi::CheckOption(option, halfcast::capi::ValueKind::kBool, true));
    options->options.keep_io_types = value != 0;  // the only bool key of these options
    return absl::OkStatus();
  });
}

halfcast_status* halfcast_mixed_precision_options_set_int(halfcast_mixed_precision_options* options,
                                                          halfcast_option option, int64_t value) {
  HALFCAST_C_REQUIRE(options);
  return Guard([&] {
    HALFCAST_RETURN_IF_ERROR(
        halfcast::capi::CheckOption(option, halfcast::capi::ValueKind::kInt, true));
    halfcast::MixedPrecisionOptions& o = options->options;
    switch (option) {
      case HALFCAST_OPTION_STRATEGY:
        if (value != HALFCAST_STRATEGY_ERROR_GUIDED && value != HALFCAST_STRATEGY_BISECT) {
          return halfcast::capi::OutOfRange(
              option, absl::StrCat("must be a halfcast_search_strategy, not ", value));
        }
        o.strategy = value == HALFCAST_STRATEGY_BISECT ? halfcast::SearchStrategy::kBisect
                                                       : halfcast::SearchStrategy::kErrorGuided;
        return absl::OkStatus();
      case HALFCAST_OPTION_MAX_EVALUATIONS:
        if (value < 0) {
          return halfcast::capi::OutOfRange(option, absl::StrCat("must be >= 0, not ", value));
        }
        o.max_evaluations = value;
        return absl::OkStatus();
      default:
        return halfcast::capi::SetSharedInt(o, option, value);
    }
  });
}

halfcast_status* halfcast_mixed_precision_options_set_double(
    halfcast_mixed_precision_options* options, halfcast_option option, double value) {
  HALFCAST_C_REQUIRE(options);
  return Guard([&] {
    HALFCAST_RETURN_IF_ERROR(
        halfcast::capi::CheckOption(option, halfcast::capi::ValueKind::kDouble, true));
    if (option != HALFCAST_OPTION_RTOL && option != HALFCAST_OPTION_ATOL) {
      return halfcast::capi::SetSharedDouble(options->options, option, value);
    }
    if (!std::isfinite(value) || value < 0) {
      return halfcast::capi::OutOfRange(option,
                                        absl::StrCat("must be finite and >= 0, not ", value));
    }
    (option == HALFCAST_OPTION_RTOL ? options->options.rtol : options->options.atol) = value;
    return absl::OkStatus();
  });
}

halfcast_status* halfcast_mixed_precision_options_set_strings(
    halfcast_mixed_precision_options* options, halfcast_option option, const char* const* values,
    size_t count) {
  HALFCAST_C_REQUIRE(options);
  return Guard([&]() -> absl::Status {
    HALFCAST_RETURN_IF_ERROR(
        halfcast::capi::CheckOption(option, halfcast::capi::ValueKind::kStrings, true));
    HALFCAST_ASSIGN_OR_RETURN(std::vector<std::string> strings,
                              halfcast::capi::ToStrings(option, values, count));
    (option == HALFCAST_OPTION_FP16_OPS ? options->options.fp16_ops
                                        : options->options.op_block_list) = std::move(strings);
    return absl::OkStatus();
  });
}

halfcast_status* halfcast_mixed_precision_options_set_log_callback(
    halfcast_mixed_precision_options* options, halfcast_log_fn fn, void* user_data) {
  HALFCAST_C_REQUIRE(options);
  return Guard([&] {
    options->options.log = halfcast::capi::WrapLog(fn, user_data);
    return absl::OkStatus();
  });
}

halfcast_status* halfcast_mixed_precision_options_set_validate_callback(
    halfcast_mixed_precision_options* options, halfcast_validate_fn fn, void* user_data) {
  HALFCAST_C_REQUIRE(options);
  return Guard([&] {
    options->options.validate_fn = nullptr;
    if (fn != nullptr) {
      options->options.validate_fn =
          [fn, user_data](const halfcast::TensorMap& reference,
                          const halfcast::TensorMap& candidate) -> absl::StatusOr<bool> {
        const halfcast_named_tensors ref = halfcast::capi::ToNamedTensors(reference);
        const halfcast_named_tensors cand = halfcast::capi::ToNamedTensors(candidate);
        const int verdict = fn(&ref, &cand, user_data);
        if (verdict < 0) {
          return absl::AbortedError(
              absl::StrCat("the validate callback reported an error (", verdict, ")"));
        }
        return verdict > 0;
      };
    }
    return absl::OkStatus();
  });
}

halfcast_status* halfcast_mixed_precision_options_set_evaluator_callback(
    halfcast_mixed_precision_options* options, halfcast_evaluator_fn fn, void* user_data) {
  HALFCAST_C_REQUIRE(options);
  options->evaluator = fn;
  options->evaluator_user_data = user_data;
  return nullptr;
}

halfcast_status* halfcast_mixed_precision_options_set_progress_callback(
    halfcast_mixed_precision_options* options, halfcast_progress_fn fn, void* user_data) {
  HALFCAST_C_REQUIRE(options);
  return Guard([&] {
    options->options.progress = nullptr;
    if (fn != nullptr) {
      options->options.progress = [fn, user_data](const halfcast::SearchProgress& progress) {
        const halfcast_progress view{&progress, halfcast::FormatSegments(progress.segments)};
        return fn(&view, user_data) == 0;
      };
    }
    return absl::OkStatus();
  });
}

// ----- progress -----

int64_t halfcast_progress_evaluations(const halfcast_progress* progress) {
  return progress ? progress->progress->evaluations : 0;
}

double halfcast_progress_elapsed_seconds(const halfcast_progress* progress) {
  return progress ? progress->progress->elapsed_seconds : 0;
}

size_t halfcast_progress_segment_count(const halfcast_progress* progress) {
  return progress ? progress->progress->segments.size() : 0;
}

int halfcast_progress_segment(const halfcast_progress* progress, size_t index, size_t* begin,
                              size_t* size, halfcast_segment_state* state) {
  if (progress == nullptr || index >= progress->progress->segments.size()) return 0;
  const halfcast::Segment& segment = progress->progress->segments[index];
  if (begin) *begin = segment.begin;
  if (size) *size = segment.size;
  if (state) {
    *state = segment.state == halfcast::SegmentState::kGood  ? HALFCAST_SEGMENT_GOOD
             : segment.state == halfcast::SegmentState::kBad ? HALFCAST_SEGMENT_BAD
                                                             : HALFCAST_SEGMENT_UNTRIED;
  }
  return 1;
}

const char* halfcast_progress_text(const halfcast_progress* progress) {
  return progress ? progress->text.c_str() : "";
}

// ----- reports -----

halfcast_status* halfcast_report_get(const halfcast_report* report, halfcast_report_value value,
                                     int64_t* out) {
  HALFCAST_C_REQUIRE(report);
  HALFCAST_C_REQUIRE(out);
  return Guard([&] {
    const halfcast::ConvertReport& r = report->report.conversion;
    int64_t result = 0;
    switch (value) {
      case HALFCAST_REPORT_NODES_CONVERTED:
        result = r.nodes_converted;
        break;
      case HALFCAST_REPORT_NODES_KEPT:
        result = static_cast<int64_t>(r.kept_nodes.size());
        break;
      case HALFCAST_REPORT_CASTS_INSERTED:
        result = r.casts_inserted;
        break;
      case HALFCAST_REPORT_CASTS_REMOVED:
        result = r.casts_removed;
        break;
      case HALFCAST_REPORT_INITIALIZERS_CONVERTED:
        result = r.initializers_converted;
        break;
      case HALFCAST_REPORT_VALUES_CLIPPED:
        for (const halfcast::ClippedTensor& c : r.clipped) result += c.below_min + c.above_max;
        break;
      case HALFCAST_REPORT_BYTES_BEFORE:
        result = static_cast<int64_t>(r.bytes_before);
        break;
      case HALFCAST_REPORT_BYTES_AFTER:
        result = static_cast<int64_t>(r.bytes_after);
        break;
      case HALFCAST_REPORT_FLOAT32_INPUTS:
        result = static_cast<int64_t>(r.float32_inputs.size());
        break;
      case HALFCAST_REPORT_EVALUATIONS:
        result = report->report.evaluations;
        break;
      case HALFCAST_REPORT_MATMUL_FLOPS_TOTAL:
        result = r.matmul_flops.total;
        break;
      case HALFCAST_REPORT_MATMUL_FLOPS_16BIT:
        result = r.matmul_flops.in_16bit;
        break;
      default:
        return absl::InvalidArgumentError(
            absl::StrCat("unknown report value ", static_cast<int>(value)));
    }
    *out = result;
    return absl::OkStatus();
  });
}

halfcast_status* halfcast_report_kept_node(const halfcast_report* report, size_t index,
                                           const char** graph, const char** name,
                                           const char** op_type, const char** reason,
                                           const char** detail) {
  HALFCAST_C_REQUIRE(report);
  return Guard([&] {
    const std::vector<halfcast::KeptNode>& kept = report->report.conversion.kept_nodes;
    if (index >= kept.size()) {
      return absl::OutOfRangeError(
          absl::StrCat("kept node ", index, " of a report with ", kept.size()));
    }
    const halfcast::KeptNode& node = kept[index];
    if (graph) *graph = node.graph.c_str();
    if (name) *name = node.name.c_str();
    if (op_type) *op_type = node.op_type.c_str();
    if (reason) *reason = halfcast::KeepReasonName(node.reason);
    if (detail) *detail = node.detail.c_str();
    return absl::OkStatus();
  });
}

halfcast_status* halfcast_report_to_json(const halfcast_report* report,
                                         halfcast_buffer** out_json) {
  HALFCAST_C_REQUIRE(report);
  HALFCAST_C_REQUIRE(out_json);
  return Guard([&] {
    *out_json = new halfcast_buffer{report->mixed_precision
                                        ? halfcast::MixedPrecisionReportToJson(report->report)
                                        : halfcast::ReportToJson(report->report.conversion)};
    return absl::OkStatus();
  });
}

void halfcast_report_destroy(halfcast_report* report) { delete report; }

// ----- conversions -----

halfcast_status* halfcast_convert_float_to_float16(const halfcast_model* model,
                                                   const halfcast_convert_options* options,
                                                   halfcast_model** out_model,
                                                   halfcast_report** out_report) {
  HALFCAST_C_REQUIRE(model);
  HALFCAST_C_REQUIRE(out_model);
  return Guard([&]() -> absl::Status {
    HALFCAST_ASSIGN_OR_RETURN(
        halfcast::ConvertResult result,
        halfcast::ConvertFloatToFloat16(model->proto,
                                        options ? options->options : halfcast::ConvertOptions()));
    auto converted = std::make_unique<halfcast_model>(halfcast_model{std::move(result.model)});
    std::unique_ptr<halfcast_report> report;
    if (out_report) {
      report = std::make_unique<halfcast_report>();
      report->report.conversion = std::move(result.report);
    }
    *out_model = converted.release();
    if (out_report) *out_report = report.release();
    return absl::OkStatus();
  });
}

halfcast_status* halfcast_convert_file(const char* input_path, const char* output_path,
                                       const halfcast_convert_options* options,
                                       const halfcast_save_options* save_options,
                                       halfcast_report** out_report) {
  HALFCAST_C_REQUIRE(input_path);
  HALFCAST_C_REQUIRE(output_path);
  return Guard([&]() -> absl::Status {
    HALFCAST_ASSIGN_OR_RETURN(
        halfcast::ConvertReport converted,
        halfcast::ConvertFile(input_path, output_path,
                              options ? options->options : halfcast::ConvertOptions(),
                              save_options ? save_options->options : halfcast::SaveOptions()));
    if (out_report) {
      auto report = std::make_unique<halfcast_report>();
      report->report.conversion = std::move(converted);
      *out_report = report.release();
    }
    return absl::OkStatus();
  });
}

halfcast_status* halfcast_auto_convert_mixed_precision(
    const halfcast_model* model, const halfcast_feeds* feeds,
    const halfcast_mixed_precision_options* options, halfcast_model** out_model,
    halfcast_report** out_report) {
  HALFCAST_C_REQUIRE(model);
  HALFCAST_C_REQUIRE(feeds);
  HALFCAST_C_REQUIRE(out_model);
  return Guard([&]() -> absl::Status {
    halfcast::capi::CallbackEvaluator evaluator(options ? options->evaluator : nullptr,
                                                options ? options->evaluator_user_data : nullptr);
    HALFCAST_ASSIGN_OR_RETURN(
        halfcast::MixedPrecisionResult result,
        halfcast::AutoConvertMixedPrecision(model->proto, feeds->sets,
                                            halfcast::capi::ToMixedOptions(options, &evaluator)));
    auto converted = std::make_unique<halfcast_model>(halfcast_model{std::move(result.model)});
    std::unique_ptr<halfcast_report> report;
    if (out_report) {
      report = std::make_unique<halfcast_report>();
      report->report = std::move(result.report);
      report->mixed_precision = true;
    }
    *out_model = converted.release();
    if (out_report) *out_report = report.release();
    return absl::OkStatus();
  });
}

halfcast_status* halfcast_auto_convert_mixed_precision_file(
    const char* input_path, const char* output_path, const halfcast_feeds* feeds,
    const halfcast_mixed_precision_options* options, const halfcast_save_options* save_options,
    halfcast_report** out_report) {
  HALFCAST_C_REQUIRE(input_path);
  HALFCAST_C_REQUIRE(output_path);
  HALFCAST_C_REQUIRE(feeds);
  return Guard([&]() -> absl::Status {
    halfcast::capi::CallbackEvaluator evaluator(options ? options->evaluator : nullptr,
                                                options ? options->evaluator_user_data : nullptr);
    HALFCAST_ASSIGN_OR_RETURN(halfcast::MixedPrecisionReport mixed,
                              halfcast::AutoConvertMixedPrecisionFile(
                                  input_path, output_path, feeds->sets,
                                  halfcast::capi::ToMixedOptions(options, &evaluator),
                                  save_options ? save_options->options : halfcast::SaveOptions()));
    if (out_report) {
      auto report = std::make_unique<halfcast_report>();
      report->report = std::move(mixed);
      report->mixed_precision = true;
      *out_report = report.release();
    }
    return absl::OkStatus();
  });
}

}  // extern "C"
