// AutoConvertMixedPrecision: a session (reference run, candidates, judging) driven by a strategy.
#include "halfcast/mixed_precision.h"

#include <filesystem>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/json.h"
#include "common/status_macros.h"
#include "halfcast/model_io.h"
#include "io/atomic_file.h"
#include "search/session.h"
#include "search/strategy.h"

namespace halfcast {
namespace {

// Runs the search; `kept` receives the locations of the nodes it kept.
absl::StatusOr<MixedPrecisionResult> Search(const onnx::ModelProto& model,
                                            const std::vector<TensorMap>& feeds,
                                            const MixedPrecisionOptions& options,
                                            const ReferenceEvaluatorOptions& evaluator_options,
                                            std::vector<NodeLocation>* kept) {
  HALFCAST_ASSIGN_OR_RETURN(std::unique_ptr<search::Session> session,
                            search::Session::Create(model, feeds, options, evaluator_options));
  absl::StatusOr<std::vector<std::size_t>> blocked =
      options.strategy == SearchStrategy::kBisect ? search::RunBisect(*session)
                                                  : search::RunErrorGuided(*session);
  if (!blocked.ok()) {
    const absl::StatusCode code = blocked.status().code();
    if (options.keep_best && (code == absl::StatusCode::kResourceExhausted ||
                              code == absl::StatusCode::kDeadlineExceeded)) {
      std::vector<NodeLocation> locations;
      HALFCAST_ASSIGN_OR_RETURN(MixedPrecisionResult best,
                                session->TakeBestSoFar(blocked.status(), &locations));
      if (kept != nullptr) *kept = std::move(locations);
      return best;
    }
    return blocked.status();
  }
  if (kept != nullptr) *kept = session->Locations(*blocked);
  return session->TakeResult();
}

}  // namespace

std::string MixedPrecisionReportToJson(const MixedPrecisionReport& report) {
  std::string json =
      absl::StrCat("{\"conversion\":", ReportToJson(report.conversion),
                   ",\"evaluations\":", report.evaluations,
                   ",\"seconds\":", JsonNumber(report.seconds),
                   ",\"peak_retained_bytes\":", report.peak_retained_bytes, ",\"output_errors\":[");
  for (std::size_t i = 0; i < report.output_errors.size(); ++i) {
    const OutputError& error = report.output_errors[i];
    absl::StrAppend(&json, i == 0 ? "" : ",", "{\"name\":", JsonString(error.name),
                    ",\"max_abs_error\":", JsonNumber(error.max_abs_error),
                    ",\"max_rel_error\":", JsonNumber(error.max_rel_error), "}");
  }
  absl::StrAppend(&json, "],\"validated\":", report.validated ? "true" : "false",
                  ",\"stopped\":", report.stopped.empty() ? "null" : JsonString(report.stopped));
  return json + "}";
}

absl::StatusOr<MixedPrecisionResult> AutoConvertMixedPrecision(
    const onnx::ModelProto& model, const std::vector<TensorMap>& feeds,
    const MixedPrecisionOptions& options) {
  return Search(model, feeds, options, ReferenceEvaluatorOptions{}, nullptr);
}

absl::StatusOr<MixedPrecisionReport> AutoConvertMixedPrecisionFile(
    const std::string& input_path, const std::string& output_path,
    const std::vector<TensorMap>& feeds, const MixedPrecisionOptions& options,
    const SaveOptions& save_options) {
  // Refused before the search rather than by the final ConvertFile, after all its evaluations.
  if (io::SameFile(input_path, output_path)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the output '", output_path, "' is the input file; the input is never modified, so "
        "write to another path"));
  }
  // External tensors stay references: the evaluator reads them from the model's folder and the
  // final conversion streams them, so the whole model is never one message in memory.
  LoadOptions load_options;
  load_options.load_external_data = false;
  HALFCAST_ASSIGN_OR_RETURN(onnx::ModelProto model, LoadModel(input_path, load_options));
  ReferenceEvaluatorOptions evaluator_options;
  evaluator_options.external_data_dir =
      std::filesystem::path(input_path).parent_path().string();
  std::vector<NodeLocation> kept;
  HALFCAST_ASSIGN_OR_RETURN(MixedPrecisionResult result,
                            Search(model, feeds, options, evaluator_options, &kept));
  ConvertOptions convert_options = search::CandidateConvertOptions(options);
  search::BlockLocations(kept, &convert_options);
  convert_options.log = options.log;
  HALFCAST_ASSIGN_OR_RETURN(ConvertReport conversion,
                            ConvertFile(input_path, output_path, convert_options, save_options));
  search::MarkSearchKept(kept, &conversion);
  result.report.conversion = std::move(conversion);
  return std::move(result.report);
}

}  // namespace halfcast
