#include "convert/name_pattern.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace halfcast::convert {
namespace {

using ByteSet = std::bitset<256>;

// A parsed pattern.
struct Node {
  enum Kind { kEmpty, kSet, kConcat, kAlt, kRepeat } kind = kEmpty;
  ByteSet set;                 // kSet: the bytes it matches
  std::vector<Node> children;  // kConcat, kAlt; kRepeat: one
  int min = 0;
  int max = -1;  // kRepeat: -1 for no upper bound
};

// Bounds that keep a pattern's parse shallow and its program small.
constexpr int kMaxNesting = 100;
constexpr int kMaxCount = 1000;
constexpr std::size_t kMaxProgram = 20000;

Node SetNode(const ByteSet& set) {
  Node node;
  node.kind = Node::kSet;
  node.set = set;
  return node;
}

ByteSet Range(int from, int to) {
  ByteSet set;
  for (int c = from; c <= to; ++c) set.set(c);
  return set;
}

Node ConcatOf(std::vector<Node> children) {
  Node node;
  node.kind = Node::kConcat;
  node.children = std::move(children);
  return node;
}

// One character whose ASCII byte is in `ascii` (bytes above 0x7F ignored), or, if `multibyte`,
// any non-ASCII UTF-8 sequence: '.', a negated class and \D, \W, \S match whole characters.
Node CharNode(const ByteSet& ascii, bool multibyte) {
  const ByteSet low = ascii & Range(0, 0x7F);
  if (!multibyte) return SetNode(low);
  const ByteSet cont = Range(0x80, 0xBF);
  Node alt;
  alt.kind = Node::kAlt;
  alt.children.push_back(SetNode(low));
  alt.children.push_back(ConcatOf({SetNode(Range(0xC2, 0xDF)), SetNode(cont)}));
  alt.children.push_back(ConcatOf({SetNode(Range(0xE0, 0xEF)), SetNode(cont), SetNode(cont)}));
  alt.children.push_back(
      ConcatOf({SetNode(Range(0xF0, 0xF4)), SetNode(cont), SetNode(cont), SetNode(cont)}));
  return alt;
}

ByteSet Digits() { return Range('0', '9'); }
ByteSet WordChars() {
  ByteSet set = Range('a', 'z') | Range('A', 'Z') | Digits();
  set.set('_');
  return set;
}
ByteSet Spaces() {
  ByteSet set;
  for (char c : {' ', '\t', '\n', '\r', '\f', '\v'}) set.set(static_cast<unsigned char>(c));
  return set;
}

bool IsAsciiPunctuation(char c) {
  return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
         (c >= '{' && c <= '~');
}

}  // namespace

// Parses a pattern (recursive descent, depth bounded by kMaxNesting) and emits a Thompson NFA.
class PatternCompiler {
 public:
  explicit PatternCompiler(absl::string_view pattern) : p_(pattern) {}

  absl::StatusOr<NamePattern> Run() {
    if (p_.size() > NamePattern::kMaxLength) {
      return absl::InvalidArgumentError(
          absl::StrCat("longer than ", NamePattern::kMaxLength, " characters"));
    }
    absl::StatusOr<Node> root = ParseAlt(0);
    if (!root.ok()) return root.status();
    if (at_ < p_.size()) return Error("unmatched ')'");
    HALFCAST_RETURN_IF_ERROR(Emit(*root));
    Add({NamePattern::Op::kMatch});
    return std::move(out_);
  }

 private:
  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(what, " at offset ", at_));
  }
  bool AtEnd() const { return at_ >= p_.size(); }
  char Peek() const { return p_[at_]; }

  absl::StatusOr<Node> ParseAlt(int depth) {
    if (depth > kMaxNesting) return Error("groups nested too deeply");
    Node alt;
    alt.kind = Node::kAlt;
    while (true) {
      absl::StatusOr<Node> branch = ParseConcat(depth);
      if (!branch.ok()) return branch.status();
      alt.children.push_back(*std::move(branch));
      if (AtEnd() || Peek() != '|') break;
      ++at_;
    }
    if (alt.children.size() == 1) return std::move(alt.children[0]);
    return alt;
  }

  absl::StatusOr<Node> ParseConcat(int depth) {
    std::vector<Node> items;
    while (!AtEnd() && Peek() != '|' && Peek() != ')') {
      absl::StatusOr<Node> item = ParseRepeat(depth);
      if (!item.ok()) return item.status();
      if (item->kind != Node::kEmpty) items.push_back(*std::move(item));
    }
    if (items.size() == 1) return std::move(items[0]);
    return items.empty() ? Node{} : ConcatOf(std::move(items));
  }

  absl::StatusOr<Node> ParseRepeat(int depth) {
    if (Peek() == '*' || Peek() == '+' || Peek() == '?') return Error("nothing to repeat");
    const bool anchor = Peek() == '^' || Peek() == '$';
    absl::StatusOr<Node> atom = ParseAtom(depth);
    if (!atom.ok()) return atom.status();
    bool repeated = false;
    while (!AtEnd() && (Peek() == '*' || Peek() == '+' || Peek() == '?' || Peek() == '{')) {
      if (anchor) return Error("an anchor cannot be repeated");
      if (repeated) {
        // A lazy quantifier matches the same names as a greedy one when the whole name must match.
        if (Peek() == '?') {
          ++at_;
          continue;
        }
        return Error("a repetition of a repetition");
      }
      Node repeat;
      repeat.kind = Node::kRepeat;
      const char q = p_[at_++];
      if (q == '*') {
        repeat.min = 0;
      } else if (q == '+') {
        repeat.min = 1;
      } else if (q == '?') {
        repeat.max = 1;
      } else {
        HALFCAST_RETURN_IF_ERROR(ParseCount(&repeat.min, &repeat.max));
      }
      repeat.children.push_back(*std::move(atom));
      atom = std::move(repeat);
      repeated = true;
    }
    return atom;
  }

  // After '{': "n}", "n,}" or "n,m}".
  absl::Status ParseCount(int* min, int* max) {
    auto number = [&](int* value) {
      if (AtEnd() || Peek() < '0' || Peek() > '9') return false;
      *value = 0;
      while (!AtEnd() && Peek() >= '0' && Peek() <= '9') {
        *value = *value * 10 + (p_[at_++] - '0');
        if (*value > kMaxCount) return false;
      }
      return true;
    };
    const absl::Status bad =
        Error(absl::StrCat("'{' must begin a count {n}, {n,} or {n,m} with n <= m <= ", kMaxCount,
                           " (\\{ for the character)"));
    if (!number(min)) return bad;
    *max = *min;
    if (!AtEnd() && Peek() == ',') {
      ++at_;
      *max = -1;
      if (!AtEnd() && Peek() != '}' && (!number(max) || *max < *min)) return bad;
    }
    if (AtEnd() || Peek() != '}') return bad;
    ++at_;
    return absl::OkStatus();
  }

  absl::StatusOr<Node> ParseAtom(int depth) {
    const char c = p_[at_];
    switch (c) {
      case '(': {
        ++at_;
        if (!AtEnd() && Peek() == '?') {
          if (at_ + 1 < p_.size() && p_[at_ + 1] == ':') {
            at_ += 2;
          } else {
            return Error("'(?' flags, named groups and lookaround are not supported");
          }
        }
        absl::StatusOr<Node> inner = ParseAlt(depth + 1);
        if (!inner.ok()) return inner.status();
        if (AtEnd() || Peek() != ')') return Error("missing ')'");
        ++at_;
        return inner;
      }
      case '[':
        return ParseClass();
      case '.':
        ++at_;
        return CharNode(Range(0, 0x7F), true);
      case '^':
      case '$': {
        // The whole name is matched anyway: a leading ^ and a trailing $ say so and do nothing.
        const bool allowed = c == '^' ? at_ == 0 : at_ + 1 == p_.size();
        if (!allowed) {
          return Error(
              "only a leading '^' and a trailing '$' are allowed (the whole name is "
              "matched); \\^ and \\$ for the characters");
        }
        ++at_;
        return Node{};
      }
      case '\\':
        return ParseEscape(/*in_class=*/false, nullptr);
      case '{':
        return Error("'{' must follow something to repeat (\\{ for the character)");
      default: {
        ++at_;
        ByteSet set;
        set.set(static_cast<unsigned char>(c));
        return SetNode(set);
      }
    }
  }

  // After '\'. In a class, adds to `*set` and returns an empty node.
  absl::StatusOr<Node> ParseEscape(bool in_class, ByteSet* set) {
    ++at_;
    if (AtEnd()) return Error("a trailing '\\'");
    const char c = p_[at_++];
    ByteSet bytes;
    bool negated = false;
    switch (c) {
      case 'd':
      case 'D':
        bytes = Digits();
        negated = c == 'D';
        break;
      case 'w':
      case 'W':
        bytes = WordChars();
        negated = c == 'W';
        break;
      case 's':
      case 'S':
        bytes = Spaces();
        negated = c == 'S';
        break;
      case 't':
        bytes.set('\t');
        break;
      case 'n':
        bytes.set('\n');
        break;
      case 'r':
        bytes.set('\r');
        break;
      case 'f':
        bytes.set('\f');
        break;
      case 'v':
        bytes.set('\v');
        break;
      default:
        if (!IsAsciiPunctuation(c)) {
          --at_;
          return Error(absl::StrCat("'\\", std::string(1, c), "' is not supported"));
        }
        bytes.set(static_cast<unsigned char>(c));
    }
    if (in_class) {
      if (negated) return Error("\\D, \\W and \\S are not supported inside [...]");
      *set |= bytes;
      return Node{};
    }
    return negated ? CharNode(~bytes, true) : SetNode(bytes);
  }

  absl::StatusOr<Node> ParseClass() {
    ++at_;  // '['
    bool negated = false;
    if (!AtEnd() && Peek() == '^') {
      negated = true;
      ++at_;
    }
    ByteSet set;
    bool first = true;
    while (true) {
      if (AtEnd()) return Error("missing ']'");
      const char c = Peek();
      if (c == ']' && !first) break;
      first = false;
      if (static_cast<unsigned char>(c) >= 0x80) {
        return Error("non-ASCII characters inside [...] are not supported");
      }
      if (c == '\\') {
        const std::size_t before = at_;
        ByteSet escaped;
        absl::StatusOr<Node> ignored = ParseEscape(/*in_class=*/true, &escaped);
        if (!ignored.ok()) return ignored.status();
        // A single escaped character may start a range (\.-z); a class shorthand may not.
        const bool single = escaped.count() == 1 && p_[before + 1] != 'd' &&
                            p_[before + 1] != 'w' && p_[before + 1] != 's';
        if (!single || !RangeFollows()) {
          set |= escaped;
          continue;
        }
        int from = 0;
        while (!escaped.test(from)) ++from;
        HALFCAST_RETURN_IF_ERROR(ParseRangeEnd(from, &set));
        continue;
      }
      ++at_;
      if (RangeFollows()) {
        HALFCAST_RETURN_IF_ERROR(ParseRangeEnd(static_cast<unsigned char>(c), &set));
      } else {
        set.set(static_cast<unsigned char>(c));
      }
    }
    ++at_;  // ']'
    return negated ? CharNode(~set, true) : SetNode(set);
  }

  // A '-' that is not the class's last character.
  bool RangeFollows() const { return at_ + 1 < p_.size() && p_[at_] == '-' && p_[at_ + 1] != ']'; }

  // After the start of a range, at '-'.
  absl::Status ParseRangeEnd(int from, ByteSet* set) {
    ++at_;  // '-'
    int to = static_cast<unsigned char>(p_[at_]);
    if (p_[at_] == '\\') {
      ByteSet escaped;
      absl::StatusOr<Node> ignored = ParseEscape(/*in_class=*/true, &escaped);
      if (!ignored.ok()) return ignored.status();
      if (escaped.count() != 1) return Error("a range must end with one character");
      to = 0;
      while (!escaped.test(to)) ++to;
    } else {
      if (to >= 0x80) return Error("non-ASCII characters inside [...] are not supported");
      ++at_;
    }
    if (to < from) return Error("a range out of order");
    *set |= Range(from, to);
    return absl::OkStatus();
  }

  int Add(NamePattern::Inst inst) {
    out_.program_.push_back(inst);
    return static_cast<int>(out_.program_.size()) - 1;
  }

  absl::Status Emit(const Node& node) {
    if (out_.program_.size() > kMaxProgram) {
      return absl::InvalidArgumentError("too large once its counted repetitions are expanded");
    }
    using Op = NamePattern::Op;
    switch (node.kind) {
      case Node::kEmpty:
        return absl::OkStatus();
      case Node::kSet:
        out_.sets_.push_back(node.set);
        Add({Op::kByte, static_cast<int>(out_.sets_.size()) - 1});
        return absl::OkStatus();
      case Node::kConcat:
        for (const Node& child : node.children) HALFCAST_RETURN_IF_ERROR(Emit(child));
        return absl::OkStatus();
      case Node::kAlt: {
        std::vector<int> jumps;
        for (std::size_t i = 0; i < node.children.size(); ++i) {
          const bool last = i + 1 == node.children.size();
          const int split = last ? -1 : Add({Op::kSplit});
          if (!last) out_.program_[split].x = split + 1;
          HALFCAST_RETURN_IF_ERROR(Emit(node.children[i]));
          if (last) break;
          jumps.push_back(Add({Op::kJump}));
          out_.program_[split].y = static_cast<int>(out_.program_.size());
        }
        for (int jump : jumps) out_.program_[jump].x = static_cast<int>(out_.program_.size());
        return absl::OkStatus();
      }
      case Node::kRepeat: {
        const Node& child = node.children[0];
        for (int i = 0; i < node.min; ++i) HALFCAST_RETURN_IF_ERROR(Emit(child));
        if (node.max < 0) {  // child*: loop
          const int split = Add({Op::kSplit});
          out_.program_[split].x = split + 1;
          HALFCAST_RETURN_IF_ERROR(Emit(child));
          Add({Op::kJump, 0, split});
          out_.program_[split].y = static_cast<int>(out_.program_.size());
          return absl::OkStatus();
        }
        std::vector<int> splits;  // each optional copy may be skipped to the end
        for (int i = node.min; i < node.max; ++i) {
          const int split = Add({Op::kSplit});
          out_.program_[split].x = split + 1;
          splits.push_back(split);
          HALFCAST_RETURN_IF_ERROR(Emit(child));
        }
        for (int split : splits) out_.program_[split].y = static_cast<int>(out_.program_.size());
        return absl::OkStatus();
      }
    }
    return absl::OkStatus();
  }

  absl::string_view p_;
  std::size_t at_ = 0;
  NamePattern out_;
};

absl::StatusOr<NamePattern> NamePattern::Compile(absl::string_view pattern) {
  return PatternCompiler(pattern).Run();
}

bool NamePattern::HasMetacharacters(absl::string_view text) {
  return text.find_first_of("\\^$.|?*+()[]{}") != absl::string_view::npos;
}

bool NamePattern::Matches(absl::string_view name) const {
  // The states reached after each byte, without duplicates (marked by generation); epsilon moves
  // follow an explicit stack, so nothing recurses.
  std::vector<int> current;
  std::vector<int> next;
  std::vector<int> stack;
  std::vector<uint32_t> mark(program_.size(), 0);
  uint32_t generation = 1;
  auto add = [&](std::vector<int>& list, int start) {
    stack.push_back(start);
    while (!stack.empty()) {
      const int pc = stack.back();
      stack.pop_back();
      if (mark[pc] == generation) continue;
      mark[pc] = generation;
      const Inst& inst = program_[pc];
      if (inst.op == Op::kJump) {
        stack.push_back(inst.x);
      } else if (inst.op == Op::kSplit) {
        stack.push_back(inst.y);
        stack.push_back(inst.x);
      } else {
        list.push_back(pc);
      }
    }
  };
  add(current, 0);
  for (const char ch : name) {
    const unsigned char c = static_cast<unsigned char>(ch);
    ++generation;
    next.clear();
    for (int pc : current) {
      const Inst& inst = program_[pc];
      if (inst.op == Op::kByte && sets_[inst.set].test(c)) add(next, pc + 1);
    }
    current.swap(next);
    if (current.empty()) return false;
  }
  for (int pc : current) {
    if (program_[pc].op == Op::kMatch) return true;
  }
  return false;
}

absl::StatusOr<NameList> NameList::Create(const std::vector<std::string>& entries,
                                          absl::string_view option) {
  NameList list;
  list.entries_ = entries;
  list.matched_.assign(entries.size(), false);
  for (int i = 0; i < static_cast<int>(entries.size()); ++i) {
    const std::string& entry = entries[i];
    if (!NamePattern::HasMetacharacters(entry)) {
      list.literal_[entry].push_back(i);
      continue;
    }
    absl::StatusOr<NamePattern> pattern = NamePattern::Compile(entry);
    if (!pattern.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          option, ": '", entry, "' is not a valid pattern: ", pattern.status().message(),
          " (patterns are full-match regular expressions, docs/op-policy.md; escape a "
          "character with '\\' to match it literally)"));
    }
    list.patterns_.push_back({i, *std::move(pattern)});
  }
  return list;
}

bool NameList::Match(absl::string_view name) const {
  bool any = false;
  if (auto it = literal_.find(name); it != literal_.end()) {
    for (int entry : it->second) matched_[entry] = true;
    any = true;
  }
  for (const CompiledEntry& p : patterns_) {
    // Once the name is known to match, only entries not yet seen matching are worth a run.
    if (any && matched_[p.entry]) continue;
    if (name == entries_[p.entry] || p.pattern.Matches(name)) {
      matched_[p.entry] = true;
      any = true;
    }
  }
  return any;
}

std::vector<std::string> NameList::Unmatched() const {
  std::vector<std::string> unmatched;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (!matched_[i]) unmatched.push_back(entries_[i]);
  }
  return unmatched;
}

}  // namespace halfcast::convert
