#include "cli/report_json.h"

#include "absl/strings/str_cat.h"
#include "common/json.h"
#include "halfcast/version.h"

namespace halfcast::cli {
namespace {

const char* Bool(bool value) { return value ? "true" : "false"; }

const char* TargetName(TargetType target) {
  return target == TargetType::kBFloat16 ? "bfloat16" : "float16";
}

// The members the library's JSON object holds, without its braces.
absl::string_view Members(absl::string_view object) {
  if (object.size() < 2) return "";
  return object.substr(1, object.size() - 2);
}

// The options both commands share: selection lists, clipping bounds, external data.
template <typename Options>
std::string SharedOptions(const Options& options, const SaveOptions& save) {
  return absl::StrCat("\"op_block_list\":", JsonStringArray(options.op_block_list),
                      ",\"node_block_list\":", JsonStringArray(options.node_block_list),
                      ",\"op_include_list\":", JsonStringArray(options.op_include_list),
                      ",\"node_include_list\":", JsonStringArray(options.node_include_list),
                      ",\"fp16_ops\":", JsonStringArray(options.fp16_ops),
                      ",\"strict_lists\":", Bool(options.strict_lists),
                      ",\"min_positive_val\":", JsonNumber(options.min_positive_val),
                      ",\"max_finite_val\":", JsonNumber(options.max_finite_val),
                      ",\"external_data_threshold\":",
                      save.external_data ? absl::StrCat(save.external_data_threshold) : "null");
}

std::string RunMembers(absl::string_view command, const RunInfo& run, TargetType target) {
  return absl::StrCat(JsonHeader(command), ",\"input\":", JsonString(run.input),
                      ",\"output\":", JsonString(run.output),
                      ",\"target\":", JsonString(TargetName(target)));
}

}  // namespace

std::string JsonHeader(absl::string_view command) {
  return absl::StrCat("{\"command\":", JsonString(command),
                      ",\"halfcast_version\":", JsonString(Version()));
}

std::string JsonStringArray(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendJsonString(&out, items[i]);
  }
  return out + "]";
}

std::string ConvertJson(const RunInfo& run, const ConvertOptions& options, const SaveOptions& save,
                        const ConvertReport& report) {
  const std::string keep_io = options.keep_io_names.empty()
                                  ? Bool(options.keep_io_types)
                                  : JsonStringArray(options.keep_io_names);
  // No accuracy bound applies to a plain conversion: tolerances and the verdict are null.
  return absl::StrCat(RunMembers("convert", run, options.target), ",\"options\":{",
                      "\"keep_io_types\":", keep_io,
                      ",\"disable_shape_infer\":", Bool(options.disable_shape_infer),
                      ",\"check_fp16_ready\":", Bool(options.check_fp16_ready), ",",
                      SharedOptions(options, save), "},\"tolerances\":null,\"validated\":null",
                      ",\"timings\":{\"total_seconds\":", JsonNumber(run.total_seconds), "},",
                      Members(ReportToJson(report)), "}");
}

std::string AutoJson(const RunInfo& run, const MixedPrecisionOptions& options, double rtol,
                     double atol, std::size_t feed_sets, const SaveOptions& save,
                     const MixedPrecisionReport& report) {
  return absl::StrCat(
      RunMembers("auto", run, options.target), ",\"options\":{",
      "\"keep_io_types\":", Bool(options.keep_io_types), ",\"strategy\":",
      JsonString(options.strategy == SearchStrategy::kBisect ? "bisect" : "error-guided"),
      ",\"max_evaluations\":", options.max_evaluations,
      ",\"time_limit_seconds\":", JsonNumber(options.time_limit_seconds),
      ",\"keep_best\":", Bool(options.keep_best),
      ",\"safety_margin\":", JsonNumber(options.safety_margin),
      ",\"check_onnx_runtime_cpu\":", Bool(options.check_onnx_runtime_cpu),
      ",\"max_retained_bytes\":", options.max_retained_bytes, ",", SharedOptions(options, save),
      "},\"tolerances\":{\"rtol\":", JsonNumber(rtol), ",\"atol\":", JsonNumber(atol),
      "},\"feed_sets\":", feed_sets,
      ",\"timings\":{\"total_seconds\":", JsonNumber(run.total_seconds),
      ",\"search_seconds\":", JsonNumber(report.seconds), "},",
      Members(MixedPrecisionReportToJson(report)), "}");
}

}  // namespace halfcast::cli
