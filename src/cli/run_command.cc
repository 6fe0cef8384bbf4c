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
#include "cli/report_json.h"
#include "common/json.h"
#include "common/status_macros.h"
#include "halfcast/evaluator.h"
#include "halfcast/model_io.h"

namespace halfcast::cli {
namespace {

std::vector<FlagSpec> RunFlags() {
  std::vector<FlagSpec> flags = FeedFlags();
  flags.push_back({"output-dir", FlagKind::kValue, "DIR",
                   "write each output to DIR/<output name>.npy (created if missing; with "
                   "several input sets DIR/test_data_set_<i>/<output name>.npy)"});
  flags.push_back(ThreadsFlag());
  flags.push_back(MemoryLimitFlag());
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

FlagSpec MemoryLimitFlag() {
  return {"memory-limit", FlagKind::kValue, "BYTES",
          "fail when the evaluator's intermediate tensors need more than BYTES at once (default "
          "8 GiB)"};
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
  if (std::optional<std::string> limit = args.Value("memory-limit")) {
    HALFCAST_ASSIGN_OR_RETURN(options.memory_limit_bytes, ParseCount("memory-limit", *limit));
    if (options.memory_limit_bytes <= 0) {
      return absl::InvalidArgumentError(absl::StrCat("--memory-limit must be > 0, got ", *limit));
    }
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
  HALFCAST_ASSIGN_OR_RETURN(const std::vector<FeedSet> sets, FeedSetsFromFlags(args, model));
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
  const std::optional<std::string> dir = args.Value("output-dir");
  // One set writes DIR/<output>.npy as ever; several write DIR/test_data_set_<i>/<output>.npy.
  auto set_dir = [&](std::size_t i) {
    return sets.size() == 1 ? *dir : absl::StrCat(*dir, "/test_data_set_", i);
  };
  std::vector<std::string> json_sets;
  std::string first_outputs;
  for (std::size_t i = 0; i < sets.size(); ++i) {
    absl::StatusOr<TensorMap> outputs =
        evaluator.Run(model, MatchInputTypes(model, sets[i].feeds), run_options);
    if (!outputs.ok() && !sets[i].label.empty()) {
      return absl::Status(outputs.status().code(),
                          absl::StrCat(sets[i].label, ": ", outputs.status().message()));
    }
    HALFCAST_RETURN_IF_ERROR(outputs.status());
    if (dir.has_value()) HALFCAST_RETURN_IF_ERROR(WriteOutputs(*outputs, set_dir(i)));
    std::vector<std::string> items;
    if (sets.size() > 1 && !args.Has("json")) out << "input set " << sets[i].label << ":\n";
    for (const onnx::ValueInfoProto& output : model.graph().output()) {
      auto it = outputs->find(output.name());
      if (it == outputs->end()) continue;
      std::optional<std::string> file;
      if (dir.has_value()) {
        file = absl::StrCat(set_dir(i), "/", SanitizeFileName(output.name()), ".npy");
      }
      if (args.Has("json")) {
        items.push_back(OutputJson(output.name(), it->second, file));
        continue;
      }
      out << (sets.size() > 1 ? "  " : "") << output.name() << ": " << Describe(it->second);
      if (file.has_value()) out << " -> " << *file;
      out << "\n";
    }
    const std::string outputs_json = absl::StrCat("[", absl::StrJoin(items, ","), "]");
    if (i == 0) first_outputs = outputs_json;
    json_sets.push_back(
        absl::StrCat("{\"label\":", JsonString(sets[i].label), ",\"outputs\":", outputs_json, "}"));
  }
  if (args.Has("json")) {
    out << JsonHeader("run") << ",\"model\":" << JsonString(path)
        << ",\"outputs\":" << first_outputs << ",\"sets\":[" << absl::StrJoin(json_sets, ",")
        << "]}\n";
  }
  return kExitOk;
}

}  // namespace halfcast::cli
