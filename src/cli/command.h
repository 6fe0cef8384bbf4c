// The halfcast subcommands and what they share: argument handling, exit codes, output helpers.
//
// Exit codes (as diff and cmp use them): 0 success; 1 `compare` found outputs that are not close,
// or `auto --keep-best` wrote a model that does not validate; 2 any error (bad flags, unreadable
// files, a failed conversion). Errors go to stderr; on error no output file is left behind.
#ifndef HALFCAST_CLI_COMMAND_H_
#define HALFCAST_CLI_COMMAND_H_

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cli/args.h"
#include "halfcast/convert.h"
#include "halfcast/evaluator.h"
#include "halfcast/model_io.h"
#include "halfcast/options.h"

namespace halfcast::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitNotClose = 1;
inline constexpr int kExitError = 2;

// A subcommand's body: returns the exit code, or an error printed by RunCommand.
using CommandBody = absl::StatusOr<int> (*)(const ParsedArgs& args, std::ostream& out,
                                            std::ostream& err);

struct Command {
  const CommandSpec* spec;
  CommandBody body;
};

// The subcommands, in the order `halfcast --help` lists them.
const std::vector<Command>& Commands();

// Parses `args` for `command`, prints help or usage errors, runs the body and prints its error.
int RunCommand(const Command& command, const std::vector<std::string>& args, std::ostream& out,
               std::ostream& err);

// The command line as a whole (args without the program name).
int Main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// Each subcommand's spec and body (one file each: <name>_command.cc).
extern const CommandSpec kConvertSpec;
absl::StatusOr<int> ConvertCommand(const ParsedArgs& args, std::ostream& out, std::ostream& err);
extern const CommandSpec kRunSpec;
absl::StatusOr<int> RunModelCommand(const ParsedArgs& args, std::ostream& out, std::ostream& err);
extern const CommandSpec kCompareSpec;
absl::StatusOr<int> CompareCommand(const ParsedArgs& args, std::ostream& out, std::ostream& err);
extern const CommandSpec kAutoSpec;
absl::StatusOr<int> AutoCommand(const ParsedArgs& args, std::ostream& out, std::ostream& err);
extern const CommandSpec kInspectSpec;
absl::StatusOr<int> InspectCommand(const ParsedArgs& args, std::ostream& out, std::ostream& err);

// The human-readable conversion report (stdout of `convert`, part of `auto`'s), indented.
std::string FormatConvertReport(const ConvertReport& report);

// --target, the selection lists (--op-block-list, --node-block-list, --op-include-list,
// --node-include-list, --strict), --fp16-ops, --min-positive-val, --max-finite-val (convert and
// auto).
std::vector<FlagSpec> ConversionFlags();
absl::Status ApplyConversionFlags(const ParsedArgs& args, ConvertOptions* options);

// --external-data[=BYTES] and the save options it gives.
FlagSpec ExternalDataFlag();
absl::StatusOr<SaveOptions> SaveOptionsFromFlags(const ParsedArgs& args);

// -q/--quiet, -v/--verbose (repeatable), --log-level=error|warning|info|debug.
std::vector<FlagSpec> LogFlags();
struct Verbosity {
  bool quiet = false;                   // no report, no progress; only errors
  LogLevel level = LogLevel::kWarning;  // the library's messages at or above it go to stderr
};
// Quiet, verbose and --log-level are alternatives: two of them is an error.
absl::StatusOr<Verbosity> VerbosityFromFlags(const ParsedArgs& args);

// stderr for one command: the library's log lines at or above a level (option names rewritten to
// flags, see messages.h), and a status line drawn in place with \r that log lines do not tear.
class Console {
 public:
  Console(std::ostream& err, std::string command, LogLevel level);
  ~Console();  // ends a drawn status line
  Console(const Console&) = delete;
  Console& operator=(const Console&) = delete;

  // A LogCallback writing through Log; valid while the Console lives.
  LogCallback Callback();
  void Log(LogLevel level, absl::string_view message);
  // Rewrites the status line in place (for a terminal).
  void Draw(std::string line);
  // Prints a line of its own (for a file or a pipe).
  void Line(absl::string_view line);
  // Ends a drawn status line (it stays on screen), so what follows starts on a new line.
  void EndDraw();

 private:
  void Erase();
  std::ostream& err_;
  std::string command_;
  LogLevel level_;
  std::string drawn_;  // the status line on screen, "" when none
};

// Whether the process's stderr (where `err` goes in the binary) is a terminal.
bool StderrIsTerminal();

// OUT of convert and auto: the second positional or -o/--output, "-" for stdout; absent, the
// default `<stem><suffix>` beside IN (stem: IN's file name without ".onnx"), which must not
// exist unless --force.
std::vector<FlagSpec> OutputFlags();
struct OutputTarget {
  std::string path;  // "-" for stdout
  bool to_stdout = false;
};
std::string DefaultOutputPath(const std::string& input, absl::string_view suffix);
absl::StatusOr<OutputTarget> OutputFromFlags(const ParsedArgs& args, absl::string_view suffix,
                                             const SaveOptions& save);

// Where the library writes the model: OUT itself, or for stdout a temporary file that Finish
// copies to `out` (the library writes files; streaming it keeps one code path). The temporary
// file is removed on destruction.
class ModelDestination {
 public:
  static absl::StatusOr<std::unique_ptr<ModelDestination>> Create(const OutputTarget& target);
  ~ModelDestination();
  const std::string& path() const { return path_; }
  absl::Status Finish(std::ostream& out);

 private:
  ModelDestination() = default;
  std::string path_;
  bool temporary_ = false;
};

// For IN OUT commands: IN, OUT and --report-json (if given) must be distinct files.
absl::Status CheckOutputPaths(const ParsedArgs& args, const OutputTarget& output);

// --json prints the report on stdout, which then cannot also carry the model (OUT '-').
absl::Status CheckJsonOutput(const ParsedArgs& args, const OutputTarget& output);

// Writes a --report-json file after `output` was saved with `save`; when that fails, removes the
// output (and its external data file) so that an error leaves no output behind.
absl::Status WriteReportOrRemoveOutput(const std::string& report_path, absl::string_view json,
                                       const std::string& output, const SaveOptions& save);

// --threads N, and the evaluator options it and the model's folder (external data) give.
FlagSpec ThreadsFlag();
// --memory-limit BYTES (run, auto, compare): ReferenceEvaluatorOptions::memory_limit_bytes.
FlagSpec MemoryLimitFlag();
absl::StatusOr<ReferenceEvaluatorOptions> EvaluatorOptionsFromFlags(const ParsedArgs& args,
                                                                    const std::string& model);
// --time-limit SECONDS (run, auto).
FlagSpec TimeLimitFlag();

// --target float16|bfloat16 (fp16 and bf16 are aliases).
absl::StatusOr<TargetType> ParseTarget(absl::string_view text);
// "1.5 MB" style sizes (powers of 1000, as disk tools report).
std::string FormatBytes(uint64_t bytes);
// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so `path`
// is either untouched or complete.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view bytes);
// Fails with InvalidArgument when `input` and `output` name the same file (writing over a model
// being read would destroy it; two outputs in one file would lose one).
absl::Status CheckDistinctFiles(const std::string& input, const std::string& output);

}  // namespace halfcast::cli

#endif  // HALFCAST_CLI_COMMAND_H_
