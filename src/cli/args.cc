#include "cli/args.h"

#include <cmath>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"

namespace halfcast::cli {
namespace {

const FlagSpec* FindFlag(const CommandSpec& spec, absl::string_view name) {
  for (const FlagSpec& flag : spec.flags) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

const FlagSpec* FindShortFlag(const CommandSpec& spec, char name) {
  for (const FlagSpec& flag : spec.flags) {
    if (flag.short_name != 0 && flag.short_name == name) return &flag;
  }
  return nullptr;
}

absl::Status UsageError(const CommandSpec& spec, absl::string_view message) {
  return absl::InvalidArgumentError(
      absl::StrCat(message, " (see 'halfcast ", spec.name, " --help')"));
}

}  // namespace

bool ParsedArgs::Has(absl::string_view name) const { return flags_.find(name) != flags_.end(); }

std::optional<std::string> ParsedArgs::Value(absl::string_view name) const {
  auto it = flags_.find(name);
  if (it == flags_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> ParsedArgs::Values(absl::string_view name) const {
  std::vector<std::string> values;
  auto it = flags_.find(name);
  if (it == flags_.end()) return values;
  for (const std::optional<std::string>& value : it->second) {
    if (value.has_value()) values.push_back(*value);
  }
  return values;
}

int ParsedArgs::Count(absl::string_view name) const {
  auto it = flags_.find(name);
  return it == flags_.end() ? 0 : static_cast<int>(it->second.size());
}

absl::StatusOr<ParsedArgs> ParseArgs(const CommandSpec& spec,
                                     const std::vector<std::string>& args) {
  ParsedArgs parsed;
  for (const std::string& arg : args) {
    if (arg == "--") break;
    if (arg == "--help" || arg == "-h") {
      parsed.help_ = true;
      return parsed;
    }
  }
  bool flags_ended = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (flags_ended || arg.size() < 2 || arg[0] != '-' || arg == "-") {
      parsed.positionals_.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_ended = true;
      continue;
    }
    if (arg[1] != '-') {
      // Short flags: switches and counted flags bundle (-vv); a valued one takes the rest of
      // the word (-oOUT) or the next argument (-o OUT).
      for (std::size_t c = 1; c < arg.size(); ++c) {
        const FlagSpec* flag = FindShortFlag(spec, arg[c]);
        if (flag == nullptr) {
          return UsageError(spec, absl::StrCat("unknown option '-", std::string(1, arg[c]), "'",
                                               c > 1 ? absl::StrCat(" in '", arg, "'") : "",
                                               ": long flags are --name"));
        }
        std::optional<std::string> value;
        if (flag->kind == FlagKind::kValue || flag->kind == FlagKind::kRepeated) {
          if (c + 1 < arg.size()) {
            value = arg.substr(c + 1);
          } else if (i + 1 < args.size()) {
            value = args[++i];
          } else {
            return UsageError(spec, absl::StrCat("flag '-", std::string(1, flag->short_name),
                                                 "' needs a value (", flag->value_name, ")"));
          }
          c = arg.size();
        }
        std::vector<std::optional<std::string>>& slot = parsed.flags_[flag->name];
        if (flag->kind != FlagKind::kRepeated && flag->kind != FlagKind::kCounted &&
            !slot.empty()) {
          return UsageError(spec, absl::StrCat("flag '--", flag->name, "' given more than once"));
        }
        slot.push_back(std::move(value));
      }
      continue;
    }
    absl::string_view body = absl::string_view(arg).substr(2);
    std::optional<std::string> value;
    const std::size_t eq = body.find('=');
    absl::string_view name = body.substr(0, eq);
    if (eq != absl::string_view::npos) value = std::string(body.substr(eq + 1));
    const FlagSpec* flag = FindFlag(spec, name);
    if (flag == nullptr) {
      return UsageError(spec,
                        absl::StrCat("unknown flag '--", name, "' for 'halfcast ", spec.name, "'"));
    }
    switch (flag->kind) {
      case FlagKind::kSwitch:
      case FlagKind::kCounted:
        if (value.has_value()) {
          return UsageError(spec, absl::StrCat("flag '--", name, "' takes no value"));
        }
        break;
      case FlagKind::kValue:
      case FlagKind::kRepeated:
        if (!value.has_value()) {
          if (i + 1 >= args.size()) {
            return UsageError(
                spec, absl::StrCat("flag '--", name, "' needs a value (", flag->value_name, ")"));
          }
          value = args[++i];
        }
        break;
      case FlagKind::kOptionalValue:
        break;
    }
    std::vector<std::optional<std::string>>& slot = parsed.flags_[std::string(name)];
    if (flag->kind != FlagKind::kRepeated && flag->kind != FlagKind::kCounted && !slot.empty()) {
      return UsageError(spec, absl::StrCat("flag '--", name, "' given more than once"));
    }
    slot.push_back(std::move(value));
  }
  const std::size_t count = parsed.positionals_.size();
  if (count < spec.min_positionals || count > spec.max_positionals) {
    return UsageError(spec, absl::StrCat("expected ",
                                         spec.positionals.empty() ? std::string("no arguments")
                                                                  : spec.positionals,
                                         ", got ", count, " argument", count == 1 ? "" : "s"));
  }
  return parsed;
}

std::string Usage(const CommandSpec& spec) {
  std::string text = absl::StrCat("usage: halfcast ", spec.name);
  if (!spec.positionals.empty()) absl::StrAppend(&text, " ", spec.positionals);
  absl::StrAppend(&text, " [flags]\n\n", spec.summary, "\n\nflags:\n");
  for (const FlagSpec& flag : spec.flags) {
    std::string left = flag.short_name != 0
                           ? absl::StrCat("  -", std::string(1, flag.short_name), ", --", flag.name)
                           : absl::StrCat("  --", flag.name);
    switch (flag.kind) {
      case FlagKind::kSwitch:
      case FlagKind::kCounted:
        break;
      case FlagKind::kOptionalValue:
        absl::StrAppend(&left, "[=", flag.value_name, "]");
        break;
      case FlagKind::kValue:
      case FlagKind::kRepeated:
        absl::StrAppend(&left, " ", flag.value_name);
        break;
    }
    if (left.size() < 30)
      left.resize(30, ' ');
    else
      absl::StrAppend(&left, "\n", std::string(30, ' '));
    absl::StrAppend(&text, left, flag.help, "\n");
  }
  absl::StrAppend(&text, "  -h, --help                  show this text\n");
  return text;
}

absl::StatusOr<double> ParseNumber(absl::string_view flag, absl::string_view text) {
  double value = 0;
  if (!absl::SimpleAtod(text, &value) || !std::isfinite(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": '", text, "' is not a finite number"));
  }
  return value;
}

absl::StatusOr<double> ParseNonNegative(absl::string_view flag, absl::string_view text) {
  absl::StatusOr<double> value = ParseNumber(flag, text);
  if (value.ok() && *value < 0) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", text, " is negative"));
  }
  return value;
}

absl::StatusOr<int64_t> ParseCount(absl::string_view flag, absl::string_view text) {
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value) || value < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": '", text, "' is not an integer >= 0"));
  }
  return value;
}

absl::StatusOr<std::vector<std::string>> ParsePatternList(absl::string_view flag,
                                                          absl::string_view text) {
  std::vector<std::string> items;
  if (text.empty()) return items;
  int depth = 0;
  bool escaped = false;
  std::string item;
  auto finish = [&]() -> absl::Status {
    if (item.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, ": empty item in the list '", text, "'"));
    }
    items.push_back(std::move(item));
    item.clear();
    return absl::OkStatus();
  };
  for (const char c : text) {
    if (c == ',' && depth == 0 && !escaped) {
      HALFCAST_RETURN_IF_ERROR(finish());
      continue;
    }
    if (!escaped && (c == '(' || c == '[' || c == '{')) ++depth;
    if (!escaped && (c == ')' || c == ']' || c == '}') && depth > 0) --depth;
    escaped = !escaped && c == '\\';
    item.push_back(c);
  }
  HALFCAST_RETURN_IF_ERROR(finish());
  return items;
}

absl::StatusOr<std::vector<std::string>> ParseList(absl::string_view flag, absl::string_view text) {
  std::vector<std::string> items;
  if (text.empty()) return items;
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    if (item.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, ": empty item in the list '", text, "'"));
    }
    items.emplace_back(item);
  }
  return items;
}

absl::StatusOr<std::pair<std::string, std::string>> ParseAssignment(absl::string_view flag,
                                                                    absl::string_view text) {
  const std::size_t eq = text.find('=');
  if (eq == absl::string_view::npos || eq == 0 || eq + 1 == text.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": expected NAME=VALUE, got '", text, "'"));
  }
  return std::make_pair(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
}

absl::StatusOr<std::vector<int64_t>> ParseDims(absl::string_view flag, absl::string_view text) {
  std::vector<int64_t> dims;
  if (text.empty()) return dims;
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    int64_t dim = 0;
    if (!absl::SimpleAtoi(item, &dim) || dim < 0) {
      return absl::InvalidArgumentError(absl::StrCat("--", flag, ": dimension '", item, "' in '",
                                                     text, "' is not an integer >= 0"));
    }
    dims.push_back(dim);
  }
  return dims;
}

}  // namespace halfcast::cli
