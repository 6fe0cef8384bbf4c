// A small command-line parser for the halfcast subcommands (absl flags would make every flag
// global to the binary; each subcommand here has its own set).
//
//   const CommandSpec spec = {"convert", "IN OUT", "Convert a model", {
//       {"keep-io-types", FlagKind::kOptionalValue, "NAMES", "keep float32 inputs/outputs"},
//       {"target", FlagKind::kValue, "TYPE", "float16 or bfloat16"}}};
//   absl::StatusOr<ParsedArgs> args = ParseArgs(spec, {"a.onnx", "b.onnx", "--target=bfloat16"});
//
// Accepted forms: `--name` (switch, or optional-value flag without a value), `--name=value`
// (any flag taking a value), `--name value` (value and repeated flags only: an optional value is
// only taken from `=` so that `--keep-io-types in.onnx out.onnx` is unambiguous). A flag with a
// short name also reads `-x` (switch or counted), `-x VALUE` or `-xVALUE` (valued), and short
// switches bundle (`-vv`, `-qf`). A lone `-` is a positional (stdout, for OUT). `--` ends the
// flags; `-h` and `--help` ask for the usage text. Any error is InvalidArgument naming the flag.
#ifndef HALFCAST_CLI_ARGS_H_
#define HALFCAST_CLI_ARGS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace halfcast::cli {

enum class FlagKind {
  kSwitch,         // --name; no value allowed
  kValue,          // --name=V or --name V; at most once
  kOptionalValue,  // --name or --name=V; at most once
  kRepeated,       // --name=V or --name V; any number of times, in order
  kCounted,        // --name (or -x); no value; any number of times, counted (-vv is 2)
};

struct FlagSpec {
  std::string name;  // without the leading "--"
  FlagKind kind;
  std::string value_name;  // shown in the usage text, e.g. "FILE"
  std::string help;
  char short_name = 0;  // 'o' for -o; 0 for none
};

struct CommandSpec {
  std::string name;         // the subcommand, e.g. "convert"
  std::string positionals;  // usage of the positional arguments, e.g. "IN OUT"
  std::string summary;      // one line
  std::vector<FlagSpec> flags;
  std::size_t min_positionals = 0;
  std::size_t max_positionals = 0;
};

class ParsedArgs {
 public:
  bool help() const { return help_; }
  const std::vector<std::string>& positionals() const { return positionals_; }
  // Whether the flag was given at all.
  bool Has(absl::string_view name) const;
  // The value of a kValue / kOptionalValue flag; nullopt when absent or (optional-value flag)
  // given without a value.
  std::optional<std::string> Value(absl::string_view name) const;
  // Every value of a kRepeated flag, in command-line order.
  std::vector<std::string> Values(absl::string_view name) const;
  // How many times the flag was given (any kind; -vv counts 2).
  int Count(absl::string_view name) const;

 private:
  friend absl::StatusOr<ParsedArgs> ParseArgs(const CommandSpec& spec,
                                              const std::vector<std::string>& args);
  bool help_ = false;
  std::vector<std::string> positionals_;
  // name -> values ("" entries are kept only for valued forms; a bare flag has no entry value).
  std::map<std::string, std::vector<std::optional<std::string>>, std::less<>> flags_;
};

// Parses the arguments that follow the subcommand name. When help is asked for, nothing else is
// checked (so `halfcast convert --help` works without IN and OUT).
absl::StatusOr<ParsedArgs> ParseArgs(const CommandSpec& spec, const std::vector<std::string>& args);

// The usage text of a subcommand (for --help and after a usage error).
std::string Usage(const CommandSpec& spec);

// Value parsers; errors are InvalidArgument naming `flag` and the bad text.
// A finite number.
absl::StatusOr<double> ParseNumber(absl::string_view flag, absl::string_view text);
// A finite number >= 0.
absl::StatusOr<double> ParseNonNegative(absl::string_view flag, absl::string_view text);
// An integer >= 0.
absl::StatusOr<int64_t> ParseCount(absl::string_view flag, absl::string_view text);
// "a,b,c" -> {"a","b","c"}; "" -> {}; empty items ("a,,b") are an error.
absl::StatusOr<std::vector<std::string>> ParseList(absl::string_view flag, absl::string_view text);
// As ParseList, for lists of names or patterns: a ',' inside (), [] or {} or after '\\' belongs to
// the pattern ("x{1,2},y" is two items).
absl::StatusOr<std::vector<std::string>> ParsePatternList(absl::string_view flag,
                                                          absl::string_view text);
// "NAME=VALUE" with a non-empty NAME and VALUE (the first '=' splits, names cannot contain '=').
absl::StatusOr<std::pair<std::string, std::string>> ParseAssignment(absl::string_view flag,
                                                                    absl::string_view text);
// "d1,d2,..." -> dims, each an integer >= 0; "" is a scalar (no dims).
absl::StatusOr<std::vector<int64_t>> ParseDims(absl::string_view flag, absl::string_view text);

}  // namespace halfcast::cli

#endif  // HALFCAST_CLI_ARGS_H_
