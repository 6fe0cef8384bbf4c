// halfcast run MODEL --input NAME=FILE ... [--output-dir DIR]: the built-in evaluator on the
// command line.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/command.h"
#include "cli/compare.h"
#include "cli/feeds.h"
#include "common/json.h"
#include "common/status_macros.h"
#include "halfcast/evaluator.h"
#include "halfcast/model_io.h"
#include "halfcast/version.h"

namespace halfcast::cli {
namespace {

std::vector<FlagSpec> RunFlags() {
  std::vector<FlagSpec> flags = FeedFlags();
  flags.push_back({"output-dir", FlagKind::kValue, "DIR",
                   "write each output to DIR/<output name>.npy (created if missing)"});
  flags.push_back(ThreadsFlag());
  flags.push_back(TimeLimitFlag());
  flags.push_back({"json", FlagKind::kSwitch, "", "print one JSON object (see docs/cli.md)"});
  return flags;
}

// {"name", "type", "shape", "min", "max", "mean", "file"}: the statistics are null for an empty
// or non-numeric tensor (and a non-finite one, which JSON cannot hold); "file" only with
// --output-dir.
std::string OutputJson(const std::string& name, const Tensor& tensor,
                       const std::optional<std::string>& file) {
  std::string json = absl::StrCat("{\"name\":", JsonString(name),
                                  ",\"type\":", JsonString(DataTypeName(tensor.type())),
                                  ",\"shape\":[", absl::StrJoin(tensor.shape(), ","), "]");
  absl::StatusOr<std::vector<double>> values = ToDoubles(tensor);
  if (values.ok() && !values->empty()) {
    double sum = 0;
    for (double v : *values) sum += v;
    const auto [min, max] = std::minmax_element(values->begin(), values->end());
    absl::StrAppend(&json, ",\"min\":", JsonNumber(*min), ",\"max\":", JsonNumber(*max),
                    ",\"mean\":", JsonNumber(sum / static_cast<double>(values->size())));
  } else {
    absl::StrAppend(&json, ",\"min\":null,\"max\":null,\"mean\":null");
  }
  if (file.has_value()) absl::StrAppend(&json, ",\"file\":", JsonString(*file));
  absl::StrAppend(&json, "}");
  return json;
}

// "float32[1,2] min -0.25 max 0.75 mean 0.1".
std::string Describe(const Tensor& tensor) {
  std::string text =
      absl::StrCat(DataTypeName(tensor.type()), "[", absl::StrJoin(tensor.shape(), ","), "]");
  absl::StatusOr<std::vector<double>> values = ToDoubles(tensor);
  if (values.ok() && !values->empty()) {
    double sum = 0;
    for (double v : *values) sum += v;
    const auto [min, max] = std::minmax_element(values->begin(), values->end());
    absl::StrAppendFormat(&text, " min %g max %g mean %g", *min, *max,
                          sum / static_cast<double>(values->size()));
  }
  return text;
}

// Writes every output or none: file names are checked for clashes first, and files already
// written are removed when a later one fails.
absl::Status WriteOutputs(const TensorMap& outputs, const std::string& dir) {
  std::map<std::string, std::string> files;  // file -> output name
  for (const auto& [name, tensor] : outputs) {
    const std::string file = absl::StrCat(dir, "/", SanitizeFileName(name), ".npy");
    auto [it, inserted] = files.emplace(file, name);
    if (!inserted) {
      return absl::InvalidArgumentError(absl::StrCat("outputs '", it->second, "' and '", name,
                                                     "' would both be written to ", file));
    }
  }
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create --output-dir '", dir, "': ", error.message()));
  }
  std::vector<std::string> written;
  for (const auto& [file, name] : files) {
    absl::Status status = WriteNpy(outputs.at(name), file);
    if (!status.ok()) {
      for (const std::string& done : written) std::remove(done.c_str());
      return status;
    }
    written.push_back(file);
  }
  return absl::OkStatus();
}

}  // namespace

FlagSpec TimeLimitFlag() {
  return {"time-limit", FlagKind::kValue, "SECONDS",
          "stop with an error after SECONDS of wall-clock time (default no limit)"};
}

FlagSpec ThreadsFlag() {
  return {"threads", FlagKind::kValue, "N",
          "threads of the evaluator's matrix kernels (default 1, 0 = all cores)"};
}

absl::StatusOr<ReferenceEvaluatorOptions> EvaluatorOptionsFromFlags(const ParsedArgs& args,
                                                                    const std::string& model) {
  ReferenceEvaluatorOptions options;
  if (std::optional<std::string> threads = args.Value("threads")) {
    HALFCAST_ASSIGN_OR_RETURN(const int64_t count, ParseCount("threads", *threads));
    options.intra_op_threads = static_cast<int>(std::min<int64_t>(count, 1024));
  }
  options.external_data_dir = std::filesystem::path(model).parent_path().string();
  return options;
}

const CommandSpec kRunSpec = {
    "run",      "MODEL", "Run a model with the built-in evaluator and print or save its outputs.",
    RunFlags(), 1,       1,
};

absl::StatusOr<int> RunModelCommand(const ParsedArgs& args, std::ostream& out, std::ostream& err) {
  const std::string& path = args.positionals()[0];
  HALFCAST_ASSIGN_OR_RETURN(const onnx::ModelProto model, LoadModel(path));
  HALFCAST_ASSIGN_OR_RETURN(const TensorMap feeds, FeedsFromFlags(args, model));
  HALFCAST_ASSIGN_OR_RETURN(const ReferenceEvaluatorOptions options,
                            EvaluatorOptionsFromFlags(args, path));
  ReferenceEvaluator evaluator(options);
  RunOptions run_options;
  if (std::optional<std::string> text = args.Value("time-limit")) {
    HALFCAST_ASSIGN_OR_RETURN(const double seconds, ParseNonNegative("time-limit", *text));
    // Limits beyond a few decades mean none (and would overflow the clock's duration).
    if (seconds < 1e9) {
      run_options.deadline =
          std::chrono::steady_clock::now() +
          std::chrono::duration_cast<std::chrono::steady_clock::duration>(
              std::chrono::duration<double>(seconds));
    }
  }
  HALFCAST_ASSIGN_OR_RETURN(const TensorMap outputs,
                            evaluator.Run(model, MatchInputTypes(model, feeds), run_options));
  std::optional<std::string> dir = args.Value("output-dir");
  if (dir.has_value()) HALFCAST_RETURN_IF_ERROR(WriteOutputs(outputs, *dir));
  if (args.Has("json")) {
    std::vector<std::string> items;
    for (const onnx::ValueInfoProto& output : model.graph().output()) {
      auto it = outputs.find(output.name());
      if (it == outputs.end()) continue;
      std::optional<std::string> file;
      if (dir.has_value()) file = absl::StrCat(*dir, "/", SanitizeFileName(output.name()), ".npy");
      items.push_back(OutputJson(output.name(), it->second, file));
    }
    out << "{\"command\":\"run\",\"halfcast_version\":" << JsonString(Version())
        << ",\"model\":" << JsonString(path) << ",\"outputs\":[" << absl::StrJoin(items, ",")
        << "]}\n";
    return kExitOk;
  }
  for (const onnx::ValueInfoProto& output : model.graph().output()) {
    auto it = outputs.find(output.name());
    if (it == outputs.end()) continue;
    out << output.name() << ": " << Describe(it->second);
    if (dir.has_value()) {
      out << " -> " << *dir << "/" << SanitizeFileName(output.name()) << ".npy";
    }
    out << "\n";
  }
  return kExitOk;
}

}  // namespace halfcast::cli
