#include "cli/command.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/messages.h"
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
    err << "halfcast " << spec.name << ": error: " << FlagNamesInMessage(code.status().message())
        << "\n";
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
                  "close (or auto --keep-best wrote a model that does not validate), 2 error.\n");
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
      {"target", FlagKind::kValue, "TYPE", "float16 (default; alias fp16) or bfloat16 (bf16)"},
      {"op-block-list", FlagKind::kValue, "OPS",
       "op types kept in float32, replacing the default list ('' for none); names or patterns"},
      {"node-block-list", FlagKind::kValue, "NAMES",
       "node names kept in float32; names or patterns (conv2d_.*)"},
      {"op-include-list", FlagKind::kValue, "OPS",
       "op types forced to 16 bits, over --op-block-list and its defaults"},
      {"node-include-list", FlagKind::kValue, "NAMES",
       "node names forced to 16 bits, over every block list"},
      {"strict", FlagKind::kSwitch, "",
       "a list entry that matches nothing is an error, not a warning"},
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
  const std::pair<const char*, std::vector<std::string>*> lists[] = {
      {"op-block-list", &options->op_block_list},
      {"node-block-list", &options->node_block_list},
      {"op-include-list", &options->op_include_list},
      {"node-include-list", &options->node_include_list},
  };
  for (const auto& [flag, list] : lists) {
    if (std::optional<std::string> text = args.Value(flag)) {
      HALFCAST_ASSIGN_OR_RETURN(*list, ParsePatternList(flag, *text));
    }
  }
  options->strict_lists = args.Has("strict");
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

std::vector<FlagSpec> LogFlags() {
  return {
      {"quiet", FlagKind::kSwitch, "", "print only errors: no report, no progress", 'q'},
      {"verbose", FlagKind::kCounted, "", "also the library's info lines (-vv: and debug)", 'v'},
      {"log-level", FlagKind::kValue, "LEVEL",
       "error, warning (default), info or debug: the library's messages shown"},
  };
}

absl::StatusOr<Verbosity> VerbosityFromFlags(const ParsedArgs& args) {
  const int given =
      (args.Has("quiet") ? 1 : 0) + (args.Has("verbose") ? 1 : 0) + (args.Has("log-level") ? 1 : 0);
  if (given > 1) {
    return absl::InvalidArgumentError(
        "give one of -q/--quiet, -v/--verbose and --log-level, not several");
  }
  Verbosity verbosity;
  if (args.Has("quiet")) {
    verbosity.quiet = true;
    verbosity.level = LogLevel::kError;
  } else if (args.Has("verbose")) {
    verbosity.level = args.Count("verbose") >= 2 ? LogLevel::kDebug : LogLevel::kInfo;
  } else if (std::optional<std::string> level = args.Value("log-level")) {
    static const std::pair<const char*, LogLevel> kLevels[] = {{"error", LogLevel::kError},
                                                               {"warning", LogLevel::kWarning},
                                                               {"info", LogLevel::kInfo},
                                                               {"debug", LogLevel::kDebug}};
    bool known = false;
    for (const auto& [name, value] : kLevels) {
      if (*level == name) {
        verbosity.level = value;
        known = true;
      }
    }
    if (!known) {
      return absl::InvalidArgumentError(
          absl::StrCat("--log-level: '", *level, "' is not error, warning, info or debug"));
    }
  }
  return verbosity;
}

Console::Console(std::ostream& err, std::string command, LogLevel level)
    : err_(err), command_(std::move(command)), level_(level) {}

Console::~Console() { EndDraw(); }

void Console::EndDraw() {
  if (drawn_.empty()) return;
  err_ << "\n" << std::flush;
  drawn_.clear();
}

LogCallback Console::Callback() {
  return [this](LogLevel level, std::string_view message) {
    Log(level, absl::string_view(message.data(), message.size()));
  };
}

void Console::Log(LogLevel level, absl::string_view message) {
  if (level < level_) return;
  static const char* const kNames[] = {"debug", "info", "warning", "error"};
  const std::string saved = drawn_;
  Erase();
  err_ << "halfcast " << command_ << ": " << kNames[static_cast<int>(level)] << ": "
       << FlagNamesInMessage(message) << "\n";
  if (!saved.empty()) Draw(saved);
  err_ << std::flush;
}

void Console::Draw(std::string line) {
  const std::size_t length = line.size();
  // Blank what is left of a longer previous line.
  if (length < drawn_.size()) line.append(drawn_.size() - length, ' ');
  err_ << "\r" << line << std::flush;
  drawn_ = line.substr(0, length);
  if (drawn_.empty()) drawn_ = " ";
}

void Console::Line(absl::string_view line) { err_ << line << "\n" << std::flush; }

void Console::Erase() {
  if (drawn_.empty()) return;
  err_ << "\r" << std::string(drawn_.size(), ' ') << "\r";
  drawn_.clear();
}

bool StderrIsTerminal() { return isatty(STDERR_FILENO) == 1; }

std::vector<FlagSpec> OutputFlags() {
  return {
      {"output", FlagKind::kValue, "OUT", "the output model, as the OUT argument ('-': stdout)",
       'o'},
      {"force", FlagKind::kSwitch, "", "overwrite the default output file if it exists", 'f'},
  };
}

std::string DefaultOutputPath(const std::string& input, absl::string_view suffix) {
  const std::filesystem::path path(input);
  std::string stem = path.filename().string();
  if (absl::EndsWithIgnoreCase(stem, ".onnx") && stem.size() > 5) {
    stem.resize(stem.size() - 5);
  }
  return (path.parent_path() / absl::StrCat(stem, suffix)).string();
}

absl::StatusOr<OutputTarget> OutputFromFlags(const ParsedArgs& args, absl::string_view suffix,
                                             const SaveOptions& save) {
  OutputTarget target;
  const std::optional<std::string> flag = args.Value("output");
  if (args.positionals().size() > 1) {
    if (flag.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("OUT given twice: '", args.positionals()[1], "' and -o '", *flag, "'"));
    }
    target.path = args.positionals()[1];
  } else if (flag.has_value()) {
    target.path = *flag;
  } else {
    target.path = DefaultOutputPath(args.positionals()[0], suffix);
    std::error_code error;
    if (std::filesystem::exists(target.path, error) && !args.Has("force")) {
      return absl::AlreadyExistsError(
          absl::StrCat("'", target.path,
                       "' exists (the default output name); give --force to overwrite it, or "
                       "name the output: OUT or -o OUT"));
    }
  }
  if (target.path.empty()) return absl::InvalidArgumentError("the output path is empty");
  if (target.path == "-") {
    target.to_stdout = true;
    if (save.external_data) {
      return absl::InvalidArgumentError(
          "--external-data writes two files (OUT and OUT.data); it cannot go to stdout ('-')");
    }
    // As gzip does: binary bytes on a terminal help nobody and can upset it.
    if (isatty(STDOUT_FILENO) == 1) {
      return absl::InvalidArgumentError(
          "not writing a binary model to a terminal: redirect stdout ('- > out.onnx') or name OUT");
    }
  }
  return target;
}

absl::StatusOr<std::unique_ptr<ModelDestination>> ModelDestination::Create(
    const OutputTarget& target) {
  std::unique_ptr<ModelDestination> destination(new ModelDestination());
  if (!target.to_stdout) {
    destination->path_ = target.path;
    return destination;
  }
  std::error_code error;
  std::filesystem::path dir = std::filesystem::temp_directory_path(error);
  if (error) dir = "/tmp";
  std::string name = (dir / "halfcast-stdout-XXXXXX").string();
  const int fd = mkstemp(name.data());
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot create a temporary file in ", dir.string(), " for stdout"));
  }
  close(fd);
  destination->path_ = name;
  destination->temporary_ = true;
  return destination;
}

ModelDestination::~ModelDestination() {
  if (temporary_) std::remove(path_.c_str());
}

absl::Status ModelDestination::Finish(std::ostream& out) {
  if (!temporary_) return absl::OkStatus();
  std::ifstream file(path_, std::ios::binary);
  if (!file) return absl::InternalError(absl::StrCat("cannot reopen ", path_));
  out << file.rdbuf();
  out.flush();
  if (!out) return absl::DataLossError("writing the model to stdout failed");
  return absl::OkStatus();
}

absl::Status CheckOutputPaths(const ParsedArgs& args, const OutputTarget& output) {
  const std::string& input = args.positionals()[0];
  if (!output.to_stdout) HALFCAST_RETURN_IF_ERROR(CheckDistinctFiles(input, output.path));
  if (std::optional<std::string> report = args.Value("report-json")) {
    HALFCAST_RETURN_IF_ERROR(CheckDistinctFiles(input, *report));
    if (!output.to_stdout) HALFCAST_RETURN_IF_ERROR(CheckDistinctFiles(output.path, *report));
  }
  return absl::OkStatus();
}

absl::Status CheckJsonOutput(const ParsedArgs& args, const OutputTarget& output) {
  if (args.Has("json") && output.to_stdout) {
    return absl::InvalidArgumentError(
        "--json prints the report on stdout, where OUT '-' writes the model: use --report-json "
        "FILE, or name OUT");
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
  if (text == "float16" || text == "fp16") return TargetType::kFloat16;
  if (text == "bfloat16" || text == "bf16") return TargetType::kBFloat16;
  return absl::InvalidArgumentError(
      absl::StrCat("--target: '", text, "' is not float16 (fp16) or bfloat16 (bf16)"));
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
  if (io::SameFile(input, output)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", input, "' and '", output, "' are the same file; write to another path"));
  }
  return absl::OkStatus();
}

}  // namespace halfcast::cli
