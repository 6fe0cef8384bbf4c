// halfcast auto IN OUT --input NAME=FILE ... --rtol R --atol A: mixed precision, keeping the
// fewest nodes in float32 that keep the outputs within tolerance.
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/command.h"
#include "cli/feeds.h"
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
      {"report-json", FlagKind::kValue, "FILE", "also write the report as JSON"},
      {"quiet", FlagKind::kSwitch, "", "no progress line, no report on stdout"},
  };
  flags.insert(flags.end(), own.begin(), own.end());
  const std::vector<FlagSpec> conversion = ConversionFlags();
  flags.insert(flags.end(), conversion.begin(), conversion.end());
  flags.push_back(ExternalDataFlag());
  flags.push_back(ThreadsFlag());
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
  options.fp16_ops = conversion.fp16_ops;
  options.min_positive_val = conversion.min_positive_val;
  options.max_finite_val = conversion.max_finite_val;
  if (std::optional<std::string> text = args.Value("max-evaluations")) {
    HALFCAST_ASSIGN_OR_RETURN(options.max_evaluations, ParseCount("max-evaluations", *text));
  }
  return options;
}

// The search's state on one line of the terminal, rewritten in place after each attempt.
class ProgressLine {
 public:
  explicit ProgressLine(std::ostream& err) : err_(err) {
    const char* columns = std::getenv("COLUMNS");
    if (columns != nullptr && std::atoi(columns) > 20) width_ = std::atoi(columns) - 1;
  }
  ~ProgressLine() {
    if (shown_ > 0) err_ << "\n" << std::flush;
  }

  void Show(const SearchProgress& progress) {
    std::string line = absl::StrFormat("attempt %d, %.1f s: %s", progress.evaluations,
                                       progress.elapsed_seconds, FormatSegments(progress.segments));
    // A line longer than the terminal wraps, and \r then only rewrites its last part.
    if (line.size() > width_) line = line.substr(0, width_ - 3) + "...";
    const std::size_t length = line.size();
    if (length < shown_) line.append(shown_ - length, ' ');
    err_ << "\r" << line << std::flush;
    shown_ = length;
  }

 private:
  std::ostream& err_;
  std::size_t width_ = 100;
  std::size_t shown_ = 0;
};

}  // namespace

const CommandSpec kAutoSpec = {
    "auto",
    "IN OUT",
    "Mixed precision: convert to float16 keeping the fewest nodes in float32 that keep the "
    "outputs within --rtol/--atol on the given inputs.",
    AutoFlags(),
    2,
    2,
};

absl::StatusOr<int> AutoCommand(const ParsedArgs& args, std::ostream& out, std::ostream& err) {
  const std::string& input = args.positionals()[0];
  const std::string& output = args.positionals()[1];
  HALFCAST_ASSIGN_OR_RETURN(MixedPrecisionOptions options, OptionsFromFlags(args));
  HALFCAST_ASSIGN_OR_RETURN(const SaveOptions save, SaveOptionsFromFlags(args));
  HALFCAST_RETURN_IF_ERROR(CheckOutputPaths(args));
  const std::optional<std::string> report_path = args.Value("report-json");
  // The graph's inputs are all the feeds need; its weights stay on disk.
  LoadOptions load;
  load.load_external_data = false;
  HALFCAST_ASSIGN_OR_RETURN(const onnx::ModelProto model, LoadModel(input, load));
  HALFCAST_ASSIGN_OR_RETURN(const TensorMap feeds, FeedsFromFlags(args, model));
  HALFCAST_ASSIGN_OR_RETURN(const ReferenceEvaluatorOptions evaluator_options,
                            EvaluatorOptionsFromFlags(args, input));
  ReferenceEvaluator evaluator(evaluator_options);
  options.evaluator = &evaluator;

  const bool quiet = args.Has("quiet");
  absl::StatusOr<MixedPrecisionReport> report;
  {
    ProgressLine line(err);
    if (!quiet) {
      options.progress = [&line](const SearchProgress& progress) {
        line.Show(progress);
        return true;
      };
      options.log = [&err](LogLevel level, std::string_view message) {
        if (level >= LogLevel::kWarning) err << "\nhalfcast auto: " << message << "\n";
      };
    }
    report = AutoConvertMixedPrecisionFile(input, output, {feeds}, options, save);
  }
  HALFCAST_RETURN_IF_ERROR(report.status());
  if (report_path.has_value()) {
    HALFCAST_RETURN_IF_ERROR(
        WriteReportOrRemoveOutput(*report_path, MixedPrecisionReportToJson(*report) + "\n",
                                  output, save));
  }
  if (!quiet) {
    int64_t searched = 0;
    for (const KeptNode& node : report->conversion.kept_nodes) {
      if (node.reason == KeepReason::kSearch) ++searched;
    }
    out << "converted " << input << " -> " << output << " in " << report->evaluations
        << " evaluations, " << absl::StrFormat("%.1f", report->seconds) << " s; " << searched
        << " nodes kept in float32 by the search\n"
        << FormatConvertReport(report->conversion);
    for (const OutputError& error : report->output_errors) {
      out << absl::StrFormat("  output %s: max abs error %g, max rel error %g\n", error.name,
                             error.max_abs_error, error.max_rel_error);
    }
  }
  return kExitOk;
}

}  // namespace halfcast::cli
