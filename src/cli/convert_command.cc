// halfcast convert IN [OUT]: float32 -> float16 / bfloat16, every option of
// convert_float_to_float16 as a flag.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cli/command.h"
#include "cli/messages.h"
#include "cli/report_json.h"
#include "common/status_macros.h"
#include "halfcast/convert.h"
#include "halfcast/model_io.h"

namespace halfcast::cli {

namespace {

std::vector<FlagSpec> ConvertFlags() {
  std::vector<FlagSpec> flags = {
      {"keep-io-types", FlagKind::kOptionalValue, "NAMES",
       "keep float32 graph inputs/outputs (all, or only those named, comma-separated)"},
      {"disable-shape-infer", FlagKind::kSwitch, "", "skip onnx shape inference"},
      {"no-check-fp16-ready", FlagKind::kSwitch, "",
       "convert even if the model already holds 16-bit floats"},
      ExternalDataFlag(),
      {"report-json", FlagKind::kValue, "FILE", "also write the report as JSON (docs/cli.md)"},
      {"json", FlagKind::kSwitch, "", "print the JSON report on stdout instead of the text"},
  };
  const std::vector<FlagSpec> conversion = ConversionFlags();
  flags.insert(flags.begin() + 1, conversion.begin(), conversion.end());
  const std::vector<FlagSpec> output = OutputFlags();
  flags.insert(flags.begin(), output.begin(), output.end());
  const std::vector<FlagSpec> log = LogFlags();
  flags.insert(flags.end(), log.begin(), log.end());
  return flags;
}

absl::StatusOr<ConvertOptions> OptionsFromFlags(const ParsedArgs& args) {
  ConvertOptions options;
  if (args.Has("keep-io-types")) {
    if (std::optional<std::string> names = args.Value("keep-io-types")) {
      HALFCAST_ASSIGN_OR_RETURN(options.keep_io_names, ParseList("keep-io-types", *names));
      if (options.keep_io_names.empty()) {
        return absl::InvalidArgumentError(
            "--keep-io-types=: give input/output names, or --keep-io-types alone for all");
      }
    } else {
      options.keep_io_types = true;
    }
  }
  HALFCAST_RETURN_IF_ERROR(ApplyConversionFlags(args, &options));
  options.disable_shape_infer = args.Has("disable-shape-infer");
  options.check_fp16_ready = !args.Has("no-check-fp16-ready");
  return options;
}

// Node kept in float32, grouped by reason then op type: "schema: Resize x4, Range x1".
std::string KeptSummary(const ConvertReport& report) {
  std::map<std::string, std::map<std::string, int>> by_reason;
  for (const KeptNode& node : report.kept_nodes) {
    ++by_reason[KeepReasonName(node.reason)][node.op_type];
  }
  std::string text;
  for (const auto& [reason, ops] : by_reason) {
    absl::StrAppend(
        &text, "    ", reason, ": ",
        absl::StrJoin(ops, ", ",
                      [](std::string* out, const std::pair<const std::string, int>& op) {
                        absl::StrAppend(out, op.first, " x", op.second);
                      }),
        "\n");
  }
  return text;
}

}  // namespace

const CommandSpec kConvertSpec = {
    "convert",
    "IN [OUT]",
    "Convert a float32 model to float16 or bfloat16 and print what was done. OUT defaults to "
    "<stem>.fp16.onnx (.bf16.onnx) beside IN; '-' writes the model to stdout.",
    ConvertFlags(),
    1,
    2,
};

std::string FormatConvertReport(const ConvertReport& report) {
  std::string text =
      absl::StrCat("  nodes converted: ", report.nodes_converted,
                   ", kept in float32: ", report.kept_nodes.size(), "\n", KeptSummary(report));
  if (!report.float32_inputs.empty()) {
    absl::StrAppend(&text, "  inputs of converted nodes kept float32 by their schema: ",
                    report.float32_inputs.size(), "\n");
  }
  absl::StrAppend(&text, "  casts inserted: ", report.casts_inserted,
                  ", removed: ", report.casts_removed, "\n");
  absl::StrAppend(&text, "  initializers converted: ", report.initializers_converted);
  if (!report.shared_initializers.empty()) {
    absl::StrAppend(&text, " (", report.shared_initializers.size(),
                    " also used in float32, stored once with a Cast)");
  }
  absl::StrAppend(&text, "\n");
  if (!report.clipped.empty()) {
    int64_t below = 0;
    int64_t above = 0;
    for (const ClippedTensor& tensor : report.clipped) {
      below += tensor.below_min;
      above += tensor.above_max;
    }
    absl::StrAppend(&text, "  values clipped in ", report.clipped.size(), " tensors: ", below,
                    " raised to min-positive-val, ", above, " lowered to max-finite-val\n");
  }
  absl::StrAppend(&text, "  tensor bytes: ", FormatBytes(report.bytes_before), " -> ",
                  FormatBytes(report.bytes_after), "\n");
  const MatMulFlops& flops = report.matmul_flops;
  if (flops.total > 0) {
    absl::StrAppend(&text, "  matrix-product work in 16 bits: ",
                    absl::StrFormat("%.1f%%", 100.0 * static_cast<double>(flops.in_16bit) /
                                                  static_cast<double>(flops.total)));
    if (flops.nodes_unknown_shape > 0) {
      absl::StrAppend(&text, " (", flops.nodes_unknown_shape, " nodes of unknown size left out)");
    }
    absl::StrAppend(&text, "\n");
  }
  std::map<std::string, std::vector<std::string>> by_source;
  for (const OpSourceCount& op : report.op_sources) {
    if (op.source == "onnx") continue;  // the usual case; only the others are news
    by_source[op.source].push_back(
        op.domain.empty() ? absl::StrCat(op.op_type, "-", op.since_version)
                          : absl::StrCat(op.domain, ":", op.op_type));
  }
  for (const auto& [source, ops] : by_source) {
    absl::StrAppend(&text, "  ops typed by ", source, ": ", absl::StrJoin(ops, ", "), "\n");
  }
  for (const std::string& note : report.notes) {
    absl::StrAppend(&text, "  note: ", FlagNamesInMessage(note), "\n");
  }
  return text;
}

absl::StatusOr<int> ConvertCommand(const ParsedArgs& args, std::ostream& out, std::ostream& err) {
  const absl::Time start = absl::Now();
  const std::string& input = args.positionals()[0];
  HALFCAST_ASSIGN_OR_RETURN(ConvertOptions options, OptionsFromFlags(args));
  HALFCAST_ASSIGN_OR_RETURN(const Verbosity verbosity, VerbosityFromFlags(args));
  HALFCAST_ASSIGN_OR_RETURN(const SaveOptions save, SaveOptionsFromFlags(args));
  HALFCAST_ASSIGN_OR_RETURN(
      const OutputTarget output,
      OutputFromFlags(args, options.target == TargetType::kFloat16 ? ".fp16.onnx" : ".bf16.onnx",
                      save));
  HALFCAST_RETURN_IF_ERROR(CheckOutputPaths(args, output));
  HALFCAST_RETURN_IF_ERROR(CheckJsonOutput(args, output));
  const std::optional<std::string> report_path = args.Value("report-json");
  Console console(err, "convert", verbosity.level);
  options.log = console.Callback();
  HALFCAST_ASSIGN_OR_RETURN(std::unique_ptr<ModelDestination> destination,
                            ModelDestination::Create(output));

  // ConvertFile serves every model: one parse (on an arena, the fastest for large graphs); a
  // complete model converts in memory, one with external data streams its tensors.
  HALFCAST_ASSIGN_OR_RETURN(const ConvertReport report,
                            ConvertFile(input, destination->path(), options, save));
  const RunInfo run{input, output.path, absl::ToDoubleSeconds(absl::Now() - start)};
  const std::string json = ConvertJson(run, options, save, report) + "\n";
  if (report_path.has_value()) {
    HALFCAST_RETURN_IF_ERROR(
        WriteReportOrRemoveOutput(*report_path, json, destination->path(), save));
  }
  HALFCAST_RETURN_IF_ERROR(destination->Finish(out));
  if (args.Has("json")) {
    out << json;
  } else if (!verbosity.quiet) {
    // With the model on stdout, the report goes to stderr.
    std::ostream& text = output.to_stdout ? err : out;
    text << "converted " << input << " -> " << (output.to_stdout ? "stdout" : output.path) << " ("
         << (options.target == TargetType::kFloat16 ? "float16" : "bfloat16") << ")\n"
         << FormatConvertReport(report);
  }
  return kExitOk;
}

}  // namespace halfcast::cli
