// libFuzzer target over the command line: the bytes are split at newlines into arguments, the
// first naming the subcommand ("convert", "run", ...). They are parsed with that subcommand's
// spec (ParseArgs), then handed to everything that interprets flags without running a model:
// the conversion, save, verbosity, output and evaluator options, --input/--shape/--seed feeds for
// a small in-memory model, and the value parsers. Whatever is refused goes through Main, which
// prints the usage error or help text. Crashes, sanitizer reports and escaping exceptions are
// bugs; errors are the expected outcome.
//
// --input files are read from a private folder holding a.npy and b.pb (the cwd is moved there);
// a value naming another folder is not read, nor --shape asking for more than 2^16 elements
// (generated inputs are as large as the user asks, up to 2^31 elements).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "cli/args.h"
#include "cli/command.h"
#include "cli/feeds.h"
#include "halfcast/tensor.h"
#include "onnx/onnx_pb.h"

namespace halfcast::cli {
namespace {

void AddInput(onnx::GraphProto* graph, const char* name, int elem_type,
              std::initializer_list<int64_t> dims, bool dynamic_first) {
  onnx::ValueInfoProto* input = graph->add_input();
  input->set_name(name);
  auto* tensor = input->mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(elem_type);
  bool first = true;
  for (int64_t d : dims) {
    auto* dim = tensor->mutable_shape()->add_dim();
    if (first && dynamic_first) {
      dim->set_dim_param("batch");
    } else {
      dim->set_dim_value(d);
    }
    first = false;
  }
}

// Inputs of each kind the feeds handle: dynamic float, fixed float16, int64, bool, an optional
// one (also an initializer) and a string.
const onnx::ModelProto& TheModel() {
  static const onnx::ModelProto* model = [] {
    auto* m = new onnx::ModelProto;
    onnx::GraphProto* graph = m->mutable_graph();
    AddInput(graph, "x", onnx::TensorProto::FLOAT, {1, 3}, true);
    AddInput(graph, "h", onnx::TensorProto::FLOAT16, {2, 2}, false);
    AddInput(graph, "n", onnx::TensorProto::INT64, {}, false);
    AddInput(graph, "mask", onnx::TensorProto::BOOL, {4}, false);
    AddInput(graph, "w", onnx::TensorProto::FLOAT, {2}, false);
    AddInput(graph, "s", onnx::TensorProto::STRING, {1}, false);
    onnx::TensorProto* w = graph->add_initializer();
    w->set_name("w");
    w->set_data_type(onnx::TensorProto::FLOAT);
    w->add_dims(2);
    w->add_float_data(1);
    w->add_float_data(2);
    return m;
  }();
  return *model;
}

// The private folder with a.npy (float32 [1, 3]) and b.pb (float16 [2, 2]); made the cwd.
void EnterFolder() {
  static const bool entered = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
    if (tmp != nullptr && *tmp != '\0') base = tmp;
    std::string root = base + "/halfcast-fuzz-args-XXXXXX";
    if (mkdtemp(root.data()) == nullptr || chdir(root.c_str()) != 0) std::abort();
    static std::string removed_at_exit = root;
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(removed_at_exit, ignored);
    });
    Tensor a = Tensor::Zeros(DataType::kFloat, {1, 3});
    if (!WriteNpy(a, "a.npy").ok()) std::abort();
    const std::string b = TensorToProto(Tensor::Zeros(DataType::kFloat16, {2, 2}), "b")
                              .SerializeAsString();
    std::FILE* f = std::fopen("b.pb", "wb");
    if (f == nullptr || std::fwrite(b.data(), 1, b.size(), f) != b.size()) std::abort();
    std::fclose(f);
    return true;
  }();
  (void)entered;
}

const Command* FindCommand(const std::string& name) {
  for (const Command& command : Commands()) {
    if (command.spec->name == name) return &command;
  }
  return nullptr;
}

// Only files of the private folder are read, and generated inputs stay small.
bool FeedsAreSafeToBuild(const ParsedArgs& args) {
  // Files and folders named by the input would be read: only names without a path are.
  if (args.Value("input-dir")) return false;
  for (const std::string& spec : args.Values("input-set")) {
    if (spec.find('/') != std::string::npos) return false;
  }
  for (const std::string& spec : args.Values("input")) {
    const std::size_t eq = spec.find('=');
    if (eq != std::string::npos && spec.find('/', eq) != std::string::npos) return false;
  }
  for (const std::string& spec : args.Values("shape")) {
    absl::StatusOr<std::pair<std::string, std::string>> assignment = ParseAssignment("shape", spec);
    if (!assignment.ok()) continue;
    absl::StatusOr<std::vector<int64_t>> dims = ParseDims("shape", assignment->second);
    if (dims.ok() && !CheckedElementCount(*dims, int64_t{1} << 16).ok()) return false;
  }
  return true;
}

// What the subcommands derive from their flags before touching a model.
void InterpretFlags(const ParsedArgs& args) {
  ConvertOptions conversion;
  (void)ApplyConversionFlags(args, &conversion);
  absl::StatusOr<SaveOptions> save = SaveOptionsFromFlags(args);
  (void)VerbosityFromFlags(args);
  if (!args.positionals().empty()) {
    (void)EvaluatorOptionsFromFlags(args, args.positionals()[0]);
    if (save.ok()) {
      absl::StatusOr<OutputTarget> output = OutputFromFlags(args, ".fp16.onnx", *save);
      if (output.ok()) (void)CheckOutputPaths(args, *output);
    }
  }
  if (FeedsAreSafeToBuild(args)) (void)FeedSetsFromFlags(args, TheModel());
  // The value parsers on every value given, whatever its flag.
  for (const char* flag : {"tolerance", "rtol", "atol", "min-positive-val", "max-finite-val",
                           "time-limit", "threads", "seed", "keep-io-types", "op-block-list"}) {
    if (std::optional<std::string> value = args.Value(flag)) {
      (void)ParseNumber(flag, *value);
      (void)ParseNonNegative(flag, *value);
      (void)ParseCount(flag, *value);
      (void)ParseList(flag, *value);
      (void)ParseDims(flag, *value);
      (void)ParseTarget(*value);
    }
  }
}

}  // namespace
}  // namespace halfcast::cli

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace halfcast::cli;  // NOLINT: the target's whole body is the CLI's.
  EnterFolder();
  std::vector<std::string> args =
      absl::StrSplit(absl::string_view(reinterpret_cast<const char*>(data), size), '\n');
  if (args.size() > 256) return 0;  // argv is bounded too; more says nothing new
  const Command* command = args.empty() ? nullptr : FindCommand(args[0]);
  if (command != nullptr) {
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    absl::StatusOr<ParsedArgs> parsed = ParseArgs(*command->spec, rest);
    if (parsed.ok() && !parsed->help()) {
      InterpretFlags(*parsed);
      return 0;  // Main would run the command on files
    }
  }
  std::ostringstream out;
  std::ostringstream err;
  (void)Main(args, out, err);
  return 0;
}
