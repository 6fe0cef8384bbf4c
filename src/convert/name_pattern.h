// Node-name and op-type patterns for the selection lists (op/node block and include lists):
// full-match regular expressions, matched in time linear in the name (a Thompson NFA run
// breadth-first, as RE2 does), never by backtracking or recursion over the name.
//
//   absl::StatusOr<NamePattern> p = NamePattern::Compile("conv2d_[0-9]+");
//   p->Matches("conv2d_12");   // true
//   p->Matches("conv2d_12/y");  // false: the whole name must match
//
// Why not std::regex: libstdc++ matches by recursion per character, so a long node name (20,000
// characters on an 8 MB stack, far fewer on a 1 MB thread of a Go, Rust or C# host) overflows
// the stack, and some patterns take exponential time. RE2 would be safe but adds a shared
// library to libhalfcast_c.so for every C, Python, Rust and Go user, for matching a few short
// names. The syntax is the subset RE2, ECMAScript and Python's `re` share (docs/op-policy.md).
#ifndef HALFCAST_CONVERT_NAME_PATTERN_H_
#define HALFCAST_CONVERT_NAME_PATTERN_H_

#include <bitset>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace halfcast::convert {

class NamePattern {
 public:
  // Patterns longer than this are refused (they bound the parser's recursion and the program).
  static constexpr std::size_t kMaxLength = 1000;

  // InvalidArgument naming the position and the fault for a malformed or unsupported pattern.
  static absl::StatusOr<NamePattern> Compile(absl::string_view pattern);

  // Whether the whole of `name` matches. Thread-compatible (const, no shared state).
  bool Matches(absl::string_view name) const;

  // Whether `text` holds a pattern metacharacter; text without one matches only itself.
  static bool HasMetacharacters(absl::string_view text);

 private:
  enum class Op : uint8_t { kByte, kSplit, kJump, kMatch };
  struct Inst {
    Op op;
    int set = 0;  // kByte: index into sets_
    int x = 0;    // kSplit, kJump: target; kSplit: preferred branch
    int y = 0;    // kSplit: other branch
  };
  friend class PatternCompiler;

  std::vector<Inst> program_;
  std::vector<std::bitset<256>> sets_;
};

// The entries of one selection list, each a name or a pattern (an entry matches a name equal to
// it, or one its pattern matches in full), remembering which entries matched something.
class NameList {
 public:
  NameList() = default;
  // `option` names the list in errors ("node_block_list: 'conv[' is not a valid pattern: ...").
  static absl::StatusOr<NameList> Create(const std::vector<std::string>& entries,
                                         absl::string_view option);

  bool empty() const { return entries_.empty(); }
  // Whether some entry matches `name`; every entry that does is marked matched.
  bool Match(absl::string_view name) const;
  // Entries that matched nothing so far, in list order.
  std::vector<std::string> Unmatched() const;

 private:
  struct CompiledEntry {
    int entry;
    NamePattern pattern;
  };
  std::vector<std::string> entries_;
  absl::flat_hash_map<std::string, std::vector<int>> literal_;  // name -> entries
  std::vector<CompiledEntry> patterns_;
  mutable std::vector<bool> matched_;
};

}  // namespace halfcast::convert

#endif  // HALFCAST_CONVERT_NAME_PATTERN_H_
