// halfcast auto IN [OUT] --input NAME=FILE ... --rtol R --atol A: mixed precision, keeping the
// fewest nodes in float32 that keep the outputs within tolerance.
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cli/command.h"
#include "cli/feeds.h"
#include "cli/report_json.h"
#include "common/status_macros.h"
#include "halfcast/mixed_precision.h"
#include "halfcast/model_io.h"

namespace halfcast::cli {
namespace {

std::vector<FlagSpec> AutoFlags() {
  std::vector<FlagSpec> flags = FeedFlags();
  const std::vector<FlagSpec> own = {
      {"rtol", FlagKind::kValue, "R", "relative tolerance, as numpy.allclose"},
      {"atol", FlagKind::kValue, "A", "absolute tolerance, as numpy.allclose"},
      {"keep-io-types", FlagKind::kSwitch, "", "keep float32 graph inputs and outputs"},
      {"strategy", FlagKind::kValue, "NAME",
       "error-guided (default, fewer evaluations) or bisect (the Python tool's search)"},
      {"max-evaluations", FlagKind::kValue, "N", "give up after N evaluations (default no limit)"},
      TimeLimitFlag(),
      {"keep-best", FlagKind::kSwitch, "",
       "when --max-evaluations or --time-limit stop the search, write the best model so far "
       "(exit 1 if it does not validate) instead of failing"},
      {"safety-margin", FlagKind::kValue, "F",
       "judge candidates against rtol and atol scaled by 1 - F, in [0, 1) (default 0.2), so the "
       "answer is not at the edge of the bound where another runtime's rounding fails it"},
      {"no-onnx-runtime-cpu-check", FlagKind::kSwitch, "",
       "do not also require each candidate to validate as ONNX Runtime's CPU provider runs "
       "float16 (for a model served only where every op runs in 16 bits)"},
      {"max-retained-bytes", FlagKind::kValue, "BYTES",
       "bound on the values the search keeps between evaluations (default 2 GiB, 0 = none); "
       "past it the search is slower, never wrong"},
      {"report-json", FlagKind::kValue, "FILE", "also write the report as JSON (docs/cli.md)"},
      {"json", FlagKind::kSwitch, "", "print the JSON report on stdout instead of the text"},
      {"progress", FlagKind::kValue, "MODE",
       "bar (drawn in place), lines (one per attempt) or none; default bar on a terminal, "
       "else lines"},
  };
  const std::vector<FlagSpec> output = OutputFlags();
  flags.insert(flags.begin(), output.begin(), output.end());
  flags.insert(flags.end(), own.begin(), own.end());
  const std::vector<FlagSpec> log = LogFlags();
  flags.insert(flags.end(), log.begin(), log.end());
  const std::vector<FlagSpec> conversion = ConversionFlags();
  flags.insert(flags.end(), conversion.begin(), conversion.end());
  flags.push_back(ExternalDataFlag());
  flags.push_back(ThreadsFlag());
  flags.push_back(MemoryLimitFlag());
  return flags;
}

absl::StatusOr<MixedPrecisionOptions> OptionsFromFlags(const ParsedArgs& args) {
  MixedPrecisionOptions options;
  if (std::optional<std::string> text = args.Value("rtol")) {
    HALFCAST_ASSIGN_OR_RETURN(options.rtol, ParseNonNegative("rtol", *text));
  }
  if (std::optional<std::string> text = args.Value("atol")) {
    HALFCAST_ASSIGN_OR_RETURN(options.atol, ParseNonNegative("atol", *text));
  }
  if (!options.rtol.has_value() && !options.atol.has_value()) {
    return absl::InvalidArgumentError("give the accuracy bound: --rtol R and/or --atol A");
  }
  options.keep_io_types = args.Has("keep-io-types");
  if (std::optional<std::string> strategy = args.Value("strategy")) {
    if (*strategy == "bisect") {
      options.strategy = SearchStrategy::kBisect;
    } else if (*strategy != "error-guided") {
      return absl::InvalidArgumentError(
          absl::StrCat("--strategy: '", *strategy, "' is not error-guided or bisect"));
    }
  }
  ConvertOptions conversion;
  HALFCAST_RETURN_IF_ERROR(ApplyConversionFlags(args, &conversion));
  options.target = conversion.target;
  options.op_block_list = conversion.op_block_list;
  options.node_block_list = conversion.node_block_list;
  options.op_include_list = conversion.op_include_list;
  options.node_include_list = conversion.node_include_list;
  options.strict_lists = conversion.strict_lists;
  options.fp16_ops = conversion.fp16_ops;
  options.min_positive_val = conversion.min_positive_val;
  options.max_finite_val = conversion.max_finite_val;
  if (std::optional<std::string> text = args.Value("max-evaluations")) {
    HALFCAST_ASSIGN_OR_RETURN(options.max_evaluations, ParseCount("max-evaluations", *text));
  }
  if (std::optional<std::string> text = args.Value("time-limit")) {
    HALFCAST_ASSIGN_OR_RETURN(options.time_limit_seconds, ParseNonNegative("time-limit", *text));
  }
  options.keep_best = args.Has("keep-best");
  if (std::optional<std::string> text = args.Value("safety-margin")) {
    HALFCAST_ASSIGN_OR_RETURN(options.safety_margin, ParseNonNegative("safety-margin", *text));
    if (options.safety_margin >= 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("--safety-margin must be in [0, 1), got ", *text));
    }
  }
  options.check_onnx_runtime_cpu = !args.Has("no-onnx-runtime-cpu-check");
  if (std::optional<std::string> text = args.Value("max-retained-bytes")) {
    HALFCAST_ASSIGN_OR_RETURN(options.max_retained_bytes,
                              ParseCount("max-retained-bytes", *text));
  }
  return options;
}

enum class ProgressMode { kNone, kBar, kLines };

absl::StatusOr<ProgressMode> ProgressModeFromFlags(const ParsedArgs& args, bool quiet) {
  const std::optional<std::string> mode = args.Value("progress");
  if (!mode.has_value()) {
    if (quiet) return ProgressMode::kNone;
    // \r only redraws on a terminal; in a file or a pipe each update would pile up on one line.
    return StderrIsTerminal() ? ProgressMode::kBar : ProgressMode::kLines;
  }
  if (*mode == "none") return ProgressMode::kNone;
  if (*mode == "bar") return ProgressMode::kBar;
  if (*mode == "lines") return ProgressMode::kLines;
  return absl::InvalidArgumentError(
      absl::StrCat("--progress: '", *mode, "' is not none, bar or lines"));
}

// An upper bound on the evaluations the search makes, 0 when none can be told. Bisect tries
// each segment of a binary splitting of the candidates at most once (2n - 1 segments for n
// candidates), plus the float32 reference and the final check; the error-guided search has no
// bound of its own below the user's --max-evaluations.
int64_t EvaluationBound(const onnx::ModelProto& model, const MixedPrecisionOptions& options) {
  int64_t bound = 0;
  if (options.strategy == SearchStrategy::kBisect) {
    int64_t candidates = 0;
    for (const onnx::NodeProto& node : model.graph().node()) {
      const std::string& op = node.op_type();
      if (op != "Loop" && op != "If" && op != "Scan") ++candidates;
    }
    bound = 2 * candidates + 1;
  }
  if (options.max_evaluations > 0 && (bound == 0 || options.max_evaluations < bound)) {
    bound = options.max_evaluations;
  }
  return bound;
}

// The search's state after each attempt: "attempt 12 (13 of at most 41 evaluations), 3.4 s:
// [*12*, (1), 3]",
// drawn in place (bar) or one line per attempt (lines).
class Progress {
 public:
  Progress(Console& console, ProgressMode mode, int64_t bound)
      : console_(console), mode_(mode), bound_(bound) {
    const char* columns = std::getenv("COLUMNS");
    if (columns != nullptr && std::atoi(columns) > 20) width_ = std::atoi(columns) - 1;
  }

  void Show(const SearchProgress& progress) {
    // The search reports its final state again after the last check, which may need no new
    // evaluation: an update with no new attempt says nothing new.
    if (progress.evaluations == shown_evaluations_) return;
    shown_evaluations_ = progress.evaluations;
    // Attempts are numbered as the library's log lines number them: the float32 reference
    // (the first evaluation) is not one. The bound counts evaluations, as --max-evaluations.
    std::string line =
        absl::StrCat("attempt ", progress.evaluations - 1, " (", progress.evaluations);
    if (bound_ > 0) absl::StrAppend(&line, " of at most ", bound_);
    absl::StrAppendFormat(&line, " evaluations), %.1f s: %s", progress.elapsed_seconds,
                          FormatSegments(progress.segments));
    if (mode_ == ProgressMode::kLines) {
      console_.Line(line);
      return;
    }
    // A line longer than the terminal wraps, and \r then only rewrites its last part.
    if (line.size() > width_) line = line.substr(0, width_ - 3) + "...";
    console_.Draw(std::move(line));
  }

 private:
  Console& console_;
  ProgressMode mode_;
  int64_t bound_;
  std::size_t width_ = 100;
  int64_t shown_evaluations_ = -1;
};

}  // namespace

const CommandSpec kAutoSpec = {
    "auto",
    "IN [OUT]",
    "Mixed precision: convert to float16 keeping the fewest nodes in float32 that keep the "
    "outputs within --rtol/--atol on every given input set. OUT defaults to <stem>.mixed.onnx "
    "beside IN; '-' writes the model to stdout.",
    AutoFlags(),
    1,
    2,
};

absl::StatusOr<int> AutoCommand(const ParsedArgs& args, std::ostream& out, std::ostream& err) {
  const absl::Time start = absl::Now();
  const std::string& input = args.positionals()[0];
  HALFCAST_ASSIGN_OR_RETURN(MixedPrecisionOptions options, OptionsFromFlags(args));
  HALFCAST_ASSIGN_OR_RETURN(const Verbosity verbosity, VerbosityFromFlags(args));
  HALFCAST_ASSIGN_OR_RETURN(const ProgressMode mode, ProgressModeFromFlags(args, verbosity.quiet));
  HALFCAST_ASSIGN_OR_RETURN(const SaveOptions save, SaveOptionsFromFlags(args));
  HALFCAST_ASSIGN_OR_RETURN(const OutputTarget output, OutputFromFlags(args, ".mixed.onnx", save));
  HALFCAST_RETURN_IF_ERROR(CheckOutputPaths(args, output));
  HALFCAST_RETURN_IF_ERROR(CheckJsonOutput(args, output));
  const std::optional<std::string> report_path = args.Value("report-json");
  // The graph's inputs are all the feeds need; its weights stay on disk.
  LoadOptions load;
  load.load_external_data = false;
  HALFCAST_ASSIGN_OR_RETURN(const onnx::ModelProto model, LoadModel(input, load));
  HALFCAST_ASSIGN_OR_RETURN(const std::vector<FeedSet> sets, FeedSetsFromFlags(args, model));
  HALFCAST_ASSIGN_OR_RETURN(const std::vector<TensorMap> feeds, TensorFeedsOf(sets, "auto"));
  HALFCAST_ASSIGN_OR_RETURN(const ReferenceEvaluatorOptions evaluator_options,
                            EvaluatorOptionsFromFlags(args, input));
  ReferenceEvaluator evaluator(evaluator_options);
  options.evaluator = &evaluator;
  HALFCAST_ASSIGN_OR_RETURN(std::unique_ptr<ModelDestination> destination,
                            ModelDestination::Create(output));

  Console console(err, "auto", verbosity.level);
  Progress progress(console, mode, EvaluationBound(model, options));
  if (mode != ProgressMode::kNone) {
    options.progress = [&progress](const SearchProgress& state) {
      progress.Show(state);
      return true;
    };
  }
  options.log = console.Callback();
  absl::StatusOr<MixedPrecisionReport> report =
      AutoConvertMixedPrecisionFile(input, destination->path(), feeds, options, save);
  console.EndDraw();
  HALFCAST_RETURN_IF_ERROR(report.status());
  // numpy.allclose's defaults for the tolerance not given, as the search applied them.
  const double rtol = options.rtol.value_or(1e-5);
  const double atol = options.atol.value_or(1e-8);
  const RunInfo run{input, output.path, absl::ToDoubleSeconds(absl::Now() - start)};
  const std::string json = AutoJson(run, options, rtol, atol, sets.size(), save, *report) + "\n";
  if (report_path.has_value()) {
    HALFCAST_RETURN_IF_ERROR(
        WriteReportOrRemoveOutput(*report_path, json, destination->path(), save));
  }
  HALFCAST_RETURN_IF_ERROR(destination->Finish(out));
  if (!report->stopped.empty()) {
    console.Log(LogLevel::kWarning,
                absl::StrCat(report->stopped, "; --keep-best wrote the best model found so far",
                             report->validated
                                 ? " (it validates, but the search might have kept fewer nodes "
                                   "in float32)"
                                 : ", which does NOT validate"));
  }
  const int code = report->validated ? kExitOk : kExitNotClose;
  if (args.Has("json")) {
    out << json;
  } else if (!verbosity.quiet) {
    std::ostream& text = output.to_stdout ? err : out;
    int64_t searched = 0;
    for (const KeptNode& node : report->conversion.kept_nodes) {
      if (node.reason == KeepReason::kSearch) ++searched;
    }
    const std::string on_sets =
        sets.size() > 1 ? absl::StrCat(" on ", sets.size(), " input sets") : "";
    text << "converted " << input << " -> " << (output.to_stdout ? "stdout" : output.path) << " in "
         << report->evaluations << " evaluations" << on_sets << ", "
         << absl::StrFormat("%.1f", report->seconds) << " s; " << searched
         << " nodes kept in float32 by the search\n"
         << FormatConvertReport(report->conversion);
    for (const OutputError& error : report->output_errors) {
      text << absl::StrFormat("  output %s: max abs error %g, max rel error %g\n", error.name,
                              error.max_abs_error, error.max_rel_error);
    }
  }
  return code;
}

}  // namespace halfcast::cli
