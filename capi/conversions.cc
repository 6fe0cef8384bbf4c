// The C ABI: whole and mixed-precision conversions, in memory and file to file.
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
#include "halfcast/convert.h"
#include "halfcast/mixed_precision.h"

extern "C" {

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
