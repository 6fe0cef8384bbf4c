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
                   "write each output to DIR/<output name>.npy, a sequence or optional to .pb "
                   "(created if missing; with several input sets DIR/test_data_set_<i>/...)"});
  flags.push_back(ThreadsFlag());
  flags.push_back(MemoryLimitFlag());
  flags.push_back(TimeLimitFlag());
  flags.push_back({"json", FlagKind::kSwitch, "", "print one JSON object (see docs/cli.md)"});
  return flags;
}

// Minimum, maximum and mean of every element of the tensors a value holds; none for a value
// without numeric elements.
struct Statistics {
  double min = 0;
  double max = 0;
  double mean = 0;
};

std::optional<Statistics> ValueStatistics(const Value& value) {
  std::vector<const Tensor*> tensors;
  if (value.is_tensor()) tensors.push_back(&value.tensor());
  for (const Tensor& t : value.elements()) tensors.push_back(&t);
  if (value.is_optional() && value.has_element()) return ValueStatistics(value.element());
  double sum = 0;
  int64_t count = 0;
  Statistics s;
  for (const Tensor* t : tensors) {
    absl::StatusOr<std::vector<double>> values = ToDoubles(*t);
    if (!values.ok()) return std::nullopt;
    for (double v : *values) {
      s.min = count == 0 ? v : std::min(s.min, v);
      s.max = count == 0 ? v : std::max(s.max, v);
      sum += v;
      ++count;
    }
  }
  if (count == 0) return std::nullopt;
  s.mean = sum / static_cast<double>(count);
  return s;
}

// The type as JSON and text show it: "float32" for a tensor, ONNX's "seq(tensor(float))" and
// "optional(...)" for the other kinds.
std::string TypeName(const Value& value) {
  return value.is_tensor() ? DataTypeName(value.tensor().type()) : value.TypeString();
}

// {"name", "type", "shape", "min", "max", "mean", "elements", "has_element", "file"}: the
// statistics are over every element the value holds, null when none is numeric (or one is not
// finite, which JSON cannot hold); "shape" is a tensor's (a sequence's is [], an optional's its
// content's); "elements" only for a sequence, "has_element" only for an optional, "file" only
// with --output-dir.
std::string OutputJson(const std::string& name, const Value& value,
                       const std::optional<std::string>& file) {
  const Value& shaped = value.is_optional() && value.has_element() ? value.element() : value;
  const std::string shape = shaped.is_tensor() ? absl::StrJoin(shaped.tensor().shape(), ",") : "";
  std::string json = absl::StrCat("{\"name\":", JsonString(name), ",\"type\":",
                                  JsonString(TypeName(value)), ",\"shape\":[", shape, "]");
  if (std::optional<Statistics> s = ValueStatistics(value)) {
    absl::StrAppend(&json, ",\"min\":", JsonNumber(s->min), ",\"max\":", JsonNumber(s->max),
                    ",\"mean\":", JsonNumber(s->mean));
  } else {
    absl::StrAppend(&json, ",\"min\":null,\"max\":null,\"mean\":null");
  }
  if (shaped.is_sequence()) absl::StrAppend(&json, ",\"elements\":", shaped.elements().size());
  if (value.is_optional()) {
    absl::StrAppend(&json, ",\"has_element\":", value.has_element() ? "true" : "false");
  }
  if (file.has_value()) absl::StrAppend(&json, ",\"file\":", JsonString(*file));
  absl::StrAppend(&json, "}");
  return json;
}

// "float[1,2] min -0.25 max 0.75 mean 0.1"; "seq(tensor(float)) of 3: float32[2], ..." for a
// sequence (statistics over every element); "optional(tensor(float)): float[2] ..." or
// "optional(tensor(float)) empty".
std::string Describe(const Value& value) {
  std::string text;
  if (value.is_tensor()) {
    const Tensor& tensor = value.tensor();
    text = absl::StrCat(DataTypeName(tensor.type()), "[", absl::StrJoin(tensor.shape(), ","), "]");
  } else if (value.is_sequence()) {
    std::vector<std::string> shapes;
    for (const Tensor& t : value.elements()) {
      shapes.push_back(absl::StrCat("[", absl::StrJoin(t.shape(), ","), "]"));
    }
    text = absl::StrCat(value.TypeString(), " of ", value.elements().size(),
                        shapes.empty() ? "" : ": ", absl::StrJoin(shapes, ", "));
  } else {
    return value.has_element() ? absl::StrCat(value.TypeString(), ": ", Describe(value.element()))
                               : absl::StrCat(value.TypeString(), " empty");
  }
  if (std::optional<Statistics> s = ValueStatistics(value)) {
    absl::StrAppendFormat(&text, " min %g max %g mean %g", s->min, s->max, s->mean);
  }
  return text;
}

// The file --output-dir writes `value` to: .npy for a tensor, .pb (its onnx proto) otherwise.
std::string OutputFile(const std::string& dir, const std::string& name, const Value& value) {
  return absl::StrCat(dir, "/", SanitizeFileName(name), value.is_tensor() ? ".npy" : ".pb");
}

// Writes every output or none: file names are checked for clashes first, and files already
// written are removed when a later one fails.
absl::Status WriteOutputs(const ValueMap& outputs, const std::string& dir) {
  std::map<std::string, std::string> files;  // file -> output name
  for (const auto& [name, value] : outputs) {
    const std::string file = OutputFile(dir, name, value);
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
    const Value& value = outputs.at(name);
    absl::Status status = value.is_tensor() ? WriteNpy(value.tensor(), file)
                                            : WriteValueProtoFile(value, name, file);
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
    absl::StatusOr<ValueMap> outputs =
        evaluator.RunValues(model, MatchInputTypes(model, sets[i].feeds), run_options);
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
      if (dir.has_value()) file = OutputFile(set_dir(i), output.name(), it->second);
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
