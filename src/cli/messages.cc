#include "cli/messages.h"

#include <cctype>

#include "absl/strings/str_cat.h"

namespace halfcast::cli {
namespace {

bool IsWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}
// Characters that make a neighbouring word part of a path or a qualified name.
bool IsPathChar(char c) { return c == '/' || c == '\\' || c == '.' || c == ':'; }

// Whether text[begin, end) is a whole word of prose: not inside a longer identifier, a flag
// ("--rtol"), a path ("dir/rtol.npy") or a qualified name ("com.rtol:Op"). A '.' or ':' after the
// word ends a sentence or labels it ("fp16_ops: ...") unless a word character follows.
bool IsWholeWord(absl::string_view text, std::size_t begin, std::size_t end) {
  if (begin > 0 && (IsWordChar(text[begin - 1]) || IsPathChar(text[begin - 1]))) return false;
  if (end < text.size()) {
    const char next = text[end];
    if (IsWordChar(next) || next == '/' || next == '\\') return false;
    if ((next == '.' || next == ':') && end + 1 < text.size() && IsWordChar(text[end + 1])) {
      return false;
    }
  }
  return true;
}

// A quote opens a quoted name when it does not follow a letter (so "graph's" is prose) and
// closes it when no letter follows.
std::vector<bool> QuotedMask(absl::string_view text) {
  std::vector<bool> quoted(text.size(), false);
  bool inside = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\'') {
      if (!inside && (i == 0 || !std::isalnum(static_cast<unsigned char>(text[i - 1])))) {
        inside = true;
      } else if (inside &&
                 (i + 1 == text.size() || !std::isalnum(static_cast<unsigned char>(text[i + 1])))) {
        inside = false;
        quoted[i] = true;
        continue;
      }
    }
    quoted[i] = inside;
  }
  return quoted;
}

std::string ReplaceWord(absl::string_view text, absl::string_view from, absl::string_view to) {
  const std::vector<bool> quoted = QuotedMask(text);
  std::string result;
  std::size_t done = 0;
  for (std::size_t at = text.find(from); at != absl::string_view::npos;
       at = text.find(from, at + 1)) {
    if (at < done || quoted[at] || !IsWholeWord(text, at, at + from.size())) continue;
    absl::StrAppend(&result, text.substr(done, at - done), to);
    done = at + from.size();
  }
  absl::StrAppend(&result, text.substr(done));
  return result;
}

}  // namespace

const std::vector<OptionFlag>& OptionFlags() {
  static const std::vector<OptionFlag>* table = new std::vector<OptionFlag>{
      // Phrases: advice that reads wrong with a flag dropped into it.
      {"set check_fp16_ready to false", "give --no-check-fp16-ready"},
      {"declare it in fp16_ops", "declare it with --fp16-ops=DOMAIN:OP"},
      {"needs rtol, atol or a validate_fn", "needs --rtol and/or --atol"},
      {"is in node_index_block_list", "is kept in float32 by the search"},
      // Option names.
      {"check_fp16_ready", "--no-check-fp16-ready"},
      {"keep_io_names", "--keep-io-types=NAMES"},
      {"keep_io_types", "--keep-io-types"},
      {"node_index_block_list", "the search's node positions"},
      {"node_block_list", "--node-block-list"},
      {"op_block_list", "--op-block-list"},
      {"node_include_list", "--node-include-list"},
      {"op_include_list", "--op-include-list"},
      {"strict_lists", "--strict"},
      {"keep_best", "--keep-best"},
      {"min_positive_val", "--min-positive-val"},
      {"max_finite_val", "--max-finite-val"},
      {"fp16_ops", "--fp16-ops"},
      {"disable_shape_infer", "--disable-shape-infer"},
      {"max_evaluations", "--max-evaluations"},
      {"time_limit_seconds", "--time-limit"},
      {"external_data_threshold", "--external-data=BYTES"},
      {"intra_op_threads", "--threads"},
      {"rtol", "--rtol"},
      {"atol", "--atol"},
  };
  return *table;
}

std::string FlagNamesInMessage(absl::string_view message) {
  std::string text(message);
  for (const OptionFlag& row : OptionFlags()) text = ReplaceWord(text, row.text, row.flag);
  return text;
}

}  // namespace halfcast::cli
