// The C ABI: conversion and mixed-precision options, set by key through typed setters.
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
#include "capi/callbacks.h"
#include "halfcast/options.h"

namespace halfcast::capi {
namespace {

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
    {"node_block_list", ValueKind::kStrings, true, true},
    {"node_index_block_list", ValueKind::kInts, true, false},
    {"check_fp16_ready", ValueKind::kBool, true, false},
    {"target", ValueKind::kInt, true, true},
    {"rtol", ValueKind::kDouble, false, true},
    {"atol", ValueKind::kDouble, false, true},
    {"strategy", ValueKind::kInt, false, true},
    {"max_evaluations", ValueKind::kInt, false, true},
    {"fp16_ops", ValueKind::kStrings, true, true},
    {"time_limit", ValueKind::kDouble, false, true},
    {"safety_margin", ValueKind::kDouble, false, true},
    {"max_retained_bytes", ValueKind::kInt, false, true},
    {"op_include_list", ValueKind::kStrings, true, true},
    {"node_include_list", ValueKind::kStrings, true, true},
    {"strict_lists", ValueKind::kBool, true, true},
    {"keep_best", ValueKind::kBool, false, true},
    {"check_onnx_runtime_cpu", ValueKind::kBool, false, true},
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

// The string-list options both kinds share.
template <typename Options>
std::vector<std::string>& SharedStrings(Options& options, halfcast_option option) {
  switch (option) {
    case HALFCAST_OPTION_OP_BLOCK_LIST:
      return options.op_block_list;
    case HALFCAST_OPTION_NODE_BLOCK_LIST:
      return options.node_block_list;
    case HALFCAST_OPTION_OP_INCLUDE_LIST:
      return options.op_include_list;
    case HALFCAST_OPTION_NODE_INCLUDE_LIST:
      return options.node_include_list;
    default:
      return options.fp16_ops;
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

}  // namespace
}  // namespace halfcast::capi

extern "C" {

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
     : option == HALFCAST_OPTION_STRICT_LISTS        ? o.strict_lists
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
    (option == HALFCAST_OPTION_KEEP_IO_NAMES ? o.keep_io_names
                                             : halfcast::capi::SharedStrings(o, option)) =
        std::move(strings);
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
    halfcast::MixedPrecisionOptions& o = options->options;
    (option == HALFCAST_OPTION_KEEP_IO_TYPES    ? o.keep_io_types
     : option == HALFCAST_OPTION_STRICT_LISTS   ? o.strict_lists
     : option == HALFCAST_OPTION_CHECK_ORT_CPU  ? o.check_onnx_runtime_cpu
                                                : o.keep_best) = value != 0;
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
      case HALFCAST_OPTION_MAX_RETAINED_BYTES:
        if (value < 0) {
          return halfcast::capi::OutOfRange(option, absl::StrCat("must be >= 0, not ", value));
        }
        o.max_retained_bytes = value;
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
    const bool own = option == HALFCAST_OPTION_RTOL || option == HALFCAST_OPTION_ATOL ||
                     option == HALFCAST_OPTION_TIME_LIMIT ||
                     option == HALFCAST_OPTION_SAFETY_MARGIN;
    if (!own) return halfcast::capi::SetSharedDouble(options->options, option, value);
    if (option == HALFCAST_OPTION_SAFETY_MARGIN) {
      if (!(value >= 0 && value < 1)) {
        return halfcast::capi::OutOfRange(option, absl::StrCat("must be in [0, 1), not ", value));
      }
      options->options.safety_margin = value;
      return absl::OkStatus();
    }
    if (!std::isfinite(value) || value < 0) {
      return halfcast::capi::OutOfRange(option,
                                        absl::StrCat("must be finite and >= 0, not ", value));
    }
    if (option == HALFCAST_OPTION_TIME_LIMIT) {
      options->options.time_limit_seconds = value;
    } else {
      (option == HALFCAST_OPTION_RTOL ? options->options.rtol : options->options.atol) = value;
    }
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
    halfcast::capi::SharedStrings(options->options, option) = std::move(strings);
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

}  // extern "C"
