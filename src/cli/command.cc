#include "cli/command.h"

#include <cstdio>
#include <filesystem>
#include <memory>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "halfcast/version.h"
#include "io/atomic_file.h"

namespace halfcast::cli {

const std::vector<Command>& Commands() {
  static const std::vector<Command>* commands = new std::vector<Command>{
      {&kConvertSpec, &ConvertCommand}, {&kAutoSpec, &AutoCommand},
      {&kRunSpec, &RunModelCommand},    {&kCompareSpec, &CompareCommand},
      {&kInspectSpec, &InspectCommand},
  };
  return *commands;
}

int RunCommand(const Command& command, const std::vector<std::string>& args, std::ostream& out,
               std::ostream& err) {
  const CommandSpec& spec = *command.spec;
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(spec, args);
  if (!parsed.ok()) {
    err << "halfcast " << spec.name << ": " << parsed.status().message() << "\n";
    return kExitError;
  }
  if (parsed->help()) {
    out << Usage(spec);
    return kExitOk;
  }
  absl::StatusOr<int> code = command.body(*parsed, out, err);
  if (!code.ok()) {
    err << "halfcast " << spec.name << ": error: " << code.status().message() << "\n";
    return kExitError;
  }
  return *code;
}

namespace {

std::string MainUsage() {
  std::string text =
      "usage: halfcast COMMAND [arguments] [flags]\n\n"
      "Converts ONNX models from float32 to float16 / bfloat16, whole or as mixed precision.\n\n"
      "commands:\n";
  for (const Command& command : Commands()) {
    absl::StrAppendFormat(&text, "  %-10s%s\n", command.spec->name, command.spec->summary);
  }
  absl::StrAppend(&text,
                  "\n'halfcast COMMAND --help' describes a command's flags; 'halfcast --version' "
                  "prints the version.\nExit status: 0 success, 1 compare found outputs not "
                  "close, 2 error.\n");
  return text;
}

bool AsksForVersion(const std::vector<std::string>& args) {
  for (const std::string& arg : args) {
    if (arg == "--") return false;
    if (arg == "--version") return true;
  }
  return false;
}

}  // namespace

int Main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (AsksForVersion(args)) {
    out << "halfcast " << Version() << "\n";
    return kExitOk;
  }
  if (args.empty()) {
    err << MainUsage();
    return kExitError;
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    out << MainUsage();
    return kExitOk;
  }
  for (const Command& command : Commands()) {
    if (command.spec->name == args[0]) {
      return RunCommand(command, std::vector<std::string>(args.begin() + 1, args.end()), out, err);
    }
  }
  err << "halfcast: unknown command '" << args[0] << "'\n\n" << MainUsage();
  return kExitError;
}

std::vector<FlagSpec> ConversionFlags() {
  return {
      {"target", FlagKind::kValue, "TYPE", "float16 (default) or bfloat16"},
      {"op-block-list", FlagKind::kValue, "OPS",
       "op types kept in float32, replacing the default list ('' for none)"},
      {"fp16-ops", FlagKind::kValue, "OPS",
       "custom ops declared 16-bit capable, as domain:Op,... (e.g. com.example:MyGelu)"},
      {"min-positive-val", FlagKind::kValue, "X",
       "smallest magnitude of a non-zero constant (default 1e-7)"},
      {"max-finite-val", FlagKind::kValue, "X",
       "largest magnitude of a finite constant (default 1e4)"},
  };
}

absl::Status ApplyConversionFlags(const ParsedArgs& args, ConvertOptions* options) {
  if (std::optional<std::string> target = args.Value("target")) {
    HALFCAST_ASSIGN_OR_RETURN(options->target, ParseTarget(*target));
  }
  if (std::optional<std::string> ops = args.Value("op-block-list")) {
    HALFCAST_ASSIGN_OR_RETURN(options->op_block_list, ParseList("op-block-list", *ops));
  }
  if (std::optional<std::string> ops = args.Value("fp16-ops")) {
    HALFCAST_ASSIGN_OR_RETURN(options->fp16_ops, ParseList("fp16-ops", *ops));
  }
  // Range checks (negative, above the target's largest value) are the library's.
  if (std::optional<std::string> text = args.Value("min-positive-val")) {
    HALFCAST_ASSIGN_OR_RETURN(const double value, ParseNumber("min-positive-val", *text));
    options->min_positive_val = static_cast<float>(value);
  }
  if (std::optional<std::string> text = args.Value("max-finite-val")) {
    HALFCAST_ASSIGN_OR_RETURN(const double value, ParseNumber("max-finite-val", *text));
    options->max_finite_val = static_cast<float>(value);
  }
  return absl::OkStatus();
}

FlagSpec ExternalDataFlag() {
  return {"external-data", FlagKind::kOptionalValue, "BYTES",
          "save tensors of at least BYTES (default 1024) to OUT.data"};
}

absl::StatusOr<SaveOptions> SaveOptionsFromFlags(const ParsedArgs& args) {
  SaveOptions save;
  if (args.Has("external-data")) {
    save.external_data = true;
    if (std::optional<std::string> threshold = args.Value("external-data")) {
      HALFCAST_ASSIGN_OR_RETURN(save.external_data_threshold,
                                ParseCount("external-data", *threshold));
    }
  }
  return save;
}

absl::Status CheckOutputPaths(const ParsedArgs& args) {
  const std::string& input = args.positionals()[0];
  const std::string& output = args.positionals()[1];
  HALFCAST_RETURN_IF_ERROR(CheckDistinctFiles(input, output));
  if (std::optional<std::string> report = args.Value("report-json")) {
    HALFCAST_RETURN_IF_ERROR(CheckDistinctFiles(input, *report));
    HALFCAST_RETURN_IF_ERROR(CheckDistinctFiles(output, *report));
  }
  return absl::OkStatus();
}

absl::Status WriteReportOrRemoveOutput(const std::string& report_path, absl::string_view json,
                                       const std::string& output, const SaveOptions& save) {
  absl::Status written = WriteFileAtomically(report_path, json);
  if (!written.ok()) {
    std::remove(output.c_str());
    // SaveOptions' default side file: "<model file name>.data" next to the model.
    if (save.external_data) std::remove((output + ".data").c_str());
  }
  return written;
}

absl::StatusOr<TargetType> ParseTarget(absl::string_view text) {
  if (text == "float16") return TargetType::kFloat16;
  if (text == "bfloat16") return TargetType::kBFloat16;
  return absl::InvalidArgumentError(
      absl::StrCat("--target: '", text, "' is not float16 or bfloat16"));
}

std::string FormatBytes(uint64_t bytes) {
  if (bytes < 1000) return absl::StrCat(bytes, " B");
  static const char* const kUnits[] = {"kB", "MB", "GB", "TB"};
  double value = static_cast<double>(bytes) / 1000;
  int unit = 0;
  while (value >= 1000 && unit < 3) {
    value /= 1000;
    ++unit;
  }
  return absl::StrFormat("%.1f %s", value, kUnits[unit]);
}

absl::Status WriteFileAtomically(const std::string& path, absl::string_view bytes) {
  HALFCAST_ASSIGN_OR_RETURN(std::unique_ptr<io::AtomicFile> file, io::AtomicFile::Create(path));
  HALFCAST_RETURN_IF_ERROR(file->Write(bytes.data(), bytes.size()));
  return file->Commit();
}

absl::Status CheckDistinctFiles(const std::string& input, const std::string& output) {
  std::error_code error;
  const bool same = input == output || std::filesystem::equivalent(input, output, error);
  if (same) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", input, "' and '", output, "' are the same file; write to another path"));
  }
  return absl::OkStatus();
}

}  // namespace halfcast::cli
