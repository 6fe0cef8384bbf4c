#include "ops/op_table.h"

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/onnx_adapter.h"
#include "common/status_macros.h"
#include "onnx/defs/data_type_utils.h"

namespace halfcast::ops {
namespace {

// Element type names a table may use (onnx's spelling); onnx 1.12 interns only some of them.
const absl::flat_hash_set<absl::string_view>& ElementTypeNames() {
  static const auto* const kNames = new absl::flat_hash_set<absl::string_view>{
      "float",        "double",         "float16",    "bfloat16",       "int8",     "int16",
      "int32",        "int64",          "uint8",      "uint16",         "uint32",   "uint64",
      "bool",         "string",         "complex64",  "complex128",     "float8e4m3fn",
      "float8e4m3fnuz", "float8e5m2",   "float8e5m2fnuz", "uint4",      "int4",     "float4e2m1",     "float8e8m0"};
  return *kNames;
}

// Whether `type` is a well-formed type string: tensor(E), sparse_tensor(E), seq(T), optional(T)
// or map(K,V) with E an element type name.
bool WellFormedType(absl::string_view type) {
  for (absl::string_view wrapper : {"tensor(", "sparse_tensor("}) {
    if (absl::StartsWith(type, wrapper) && absl::EndsWith(type, ")")) {
      return ElementTypeNames().contains(
          type.substr(wrapper.size(), type.size() - wrapper.size() - 1));
    }
  }
  for (absl::string_view wrapper : {"seq(", "optional("}) {
    if (absl::StartsWith(type, wrapper) && absl::EndsWith(type, ")")) {
      return WellFormedType(type.substr(wrapper.size(), type.size() - wrapper.size() - 1));
    }
  }
  if (absl::StartsWith(type, "map(") && absl::EndsWith(type, ")")) {
    const absl::string_view inner = type.substr(4, type.size() - 5);
    const size_t comma = inner.find(',');
    return comma != absl::string_view::npos &&
           ElementTypeNames().contains(inner.substr(0, comma)) &&
           WellFormedType(inner.substr(comma + 1));
  }
  return false;
}

// Whether the linked onnx can intern `type` (1.12 knows no float8 or 4-bit types).
bool OnnxKnows(const std::string& type) {
  try {
    onnx::Utils::DataTypeUtils::ToType(type);
    return true;
  } catch (...) {
    return false;
  }
}

onnx::AttributeProto::AttributeType AttrKind(absl::string_view kind, bool* ok) {
  static const auto* const kKinds =
      new absl::flat_hash_map<absl::string_view, onnx::AttributeProto::AttributeType>{
          {"int", onnx::AttributeProto::INT},         {"float", onnx::AttributeProto::FLOAT},
          {"string", onnx::AttributeProto::STRING},   {"ints", onnx::AttributeProto::INTS},
          {"floats", onnx::AttributeProto::FLOATS},   {"strings", onnx::AttributeProto::STRINGS},
          {"tensor", onnx::AttributeProto::TENSOR},   {"graph", onnx::AttributeProto::GRAPH},
          {"graphs", onnx::AttributeProto::GRAPHS}};
  auto it = kKinds->find(kind);
  *ok = it != kKinds->end();
  return *ok ? it->second : onnx::AttributeProto::UNDEFINED;
}

struct Formal {
  std::string name;
  std::string type;  // a type parameter or a concrete type string
  onnx::OpSchema::FormalParameterOption option = onnx::OpSchema::Single;
};

struct Attr {
  std::string name;
  onnx::AttributeProto::AttributeType kind;
  std::string default_value;  // as written; empty: none
};

struct Record {
  bool kernel = false;  // a `kernel` record: cpu lines only
  std::string name;
  int since = 0;
  int line = 0;
  std::vector<Formal> inputs, outputs;
  std::vector<std::pair<std::string, std::vector<std::string>>> params;  // in declaration order
  std::vector<std::pair<std::string, std::vector<std::string>>> cpu;
  std::vector<Attr> attrs;
  std::vector<std::string> notes;
};

class Parser {
 public:
  Parser(absl::string_view file, std::vector<TableKernel>* kernels)
      : file_(file), kernels_(kernels) {}

  absl::StatusOr<std::vector<TableOp>> Parse(absl::string_view text) {
    int line_no = 0;
    for (absl::string_view raw : absl::StrSplit(text, '\n')) {
      ++line_no;
      line_ = line_no;
      const absl::string_view line = absl::StripAsciiWhitespace(raw.substr(0, raw.find('#')));
      if (line.empty()) continue;
      std::vector<absl::string_view> words = absl::StrSplit(line, ' ', absl::SkipWhitespace());
      absl::Status status = Statement(words, line);
      if (!status.ok()) return status;
    }
    line_ = line_no;
    if (!domain_set_) return Error("the table has no `domain` statement");
    absl::Status status = Close();
    if (!status.ok()) return status;
    return std::move(ops_);
  }

 private:
  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(file_, ":", line_, ": ", what));
  }

  absl::Status Statement(const std::vector<absl::string_view>& words, absl::string_view line) {
    const absl::string_view keyword = words[0];
    if (keyword == "domain") {
      if (domain_set_) return Error("a second `domain` statement");
      if (words.size() != 2) return Error("expected `domain NAME`");
      domain_ = words[1] == "ai.onnx" ? "" : std::string(words[1]);
      domain_set_ = true;
      return absl::OkStatus();
    }
    if (!domain_set_) return Error("the first statement must be `domain NAME`");
    if (keyword == "let") {
      std::vector<std::string> types;
      HALFCAST_RETURN_IF_ERROR(TypeList(words, &types));
      lets_[std::string(words[1])] = std::move(types);
      return absl::OkStatus();
    }
    if (keyword == "op" || keyword == "kernel") {
      HALFCAST_RETURN_IF_ERROR(Close());
      int since = 0;
      if (words.size() != 3 || !absl::SimpleAtoi(words[2], &since) || since < 1) {
        return Error(absl::StrCat("expected `", keyword, " NAME SINCE_VERSION`"));
      }
      const std::string key =
          absl::StrCat(keyword == "kernel" ? "kernel " : "", words[1], "-", since);
      if (!seen_.insert(key).second) return Error(absl::StrCat("a second record of ", key));
      record_ = Record{};
      record_.kernel = keyword == "kernel";
      record_.name = std::string(words[1]);
      record_.since = since;
      record_.line = line_;
      open_ = true;
      return absl::OkStatus();
    }
    if (!open_) return Error(absl::StrCat("`", keyword, "` outside an `op` record"));
    if (record_.kernel && keyword != "cpu" && keyword != "note") {
      return Error(absl::StrCat("`", keyword, "` in a `kernel` record (only cpu and note)"));
    }
    if (keyword == "in" || keyword == "out") {
      if (words.size() < 3 || words.size() > 4) {
        return Error(absl::StrCat("expected `", keyword, " NAME TYPE [optional|variadic]`"));
      }
      Formal formal{std::string(words[1]), std::string(words[2])};
      if (words.size() == 4) {
        if (words[3] == "optional") {
          formal.option = onnx::OpSchema::Optional;
        } else if (words[3] == "variadic") {
          formal.option = onnx::OpSchema::Variadic;
        } else {
          return Error(absl::StrCat("unknown flag '", words[3], "' (optional or variadic)"));
        }
      }
      std::vector<Formal>& list = keyword == "in" ? record_.inputs : record_.outputs;
      if (!list.empty() && list.back().option == onnx::OpSchema::Variadic) {
        return Error(absl::StrCat("formal '", formal.name, "' follows a variadic one"));
      }
      list.push_back(std::move(formal));
      return absl::OkStatus();
    }
    if (keyword == "type" || keyword == "cpu") {
      std::vector<std::string> types;
      HALFCAST_RETURN_IF_ERROR(TypeList(words, &types));
      auto& list = keyword == "type" ? record_.params : record_.cpu;
      for (const auto& [param, unused] : list) {
        if (param == words[1]) return Error(absl::StrCat("`", keyword, " ", param, "` twice"));
      }
      list.emplace_back(std::string(words[1]), std::move(types));
      return absl::OkStatus();
    }
    if (keyword == "attr") {
      if (words.size() < 3 || words.size() > 4) return Error("expected `attr NAME KIND [DEFAULT]`");
      bool ok = false;
      Attr attr{std::string(words[1]), AttrKind(words[2], &ok), ""};
      if (!ok) return Error(absl::StrCat("unknown attribute kind '", words[2], "'"));
      if (words.size() == 4) {
        attr.default_value = std::string(words[3]);
        int64_t i = 0;
        float f = 0;
        const bool valid = attr.kind == onnx::AttributeProto::INT
                               ? absl::SimpleAtoi(attr.default_value, &i)
                           : attr.kind == onnx::AttributeProto::FLOAT
                               ? absl::SimpleAtof(attr.default_value, &f)
                               : attr.kind == onnx::AttributeProto::STRING;
        if (!valid) return Error(absl::StrCat("bad default '", words[3], "' for ", words[2]));
      }
      record_.attrs.push_back(std::move(attr));
      return absl::OkStatus();
    }
    if (keyword == "note") {
      record_.notes.emplace_back(absl::StripAsciiWhitespace(line.substr(4)));
      return absl::OkStatus();
    }
    return Error(absl::StrCat("unknown statement '", keyword, "'"));
  }

  // `KEYWORD NAME = TYPE ...`: the types, bare element types as tensors, $lists expanded.
  absl::Status TypeList(const std::vector<absl::string_view>& words,
                        std::vector<std::string>* types) const {
    if (words.size() < 4 || words[2] != "=") {
      return Error(absl::StrCat("expected `", words[0], " NAME = TYPE ...`"));
    }
    for (size_t i = 3; i < words.size(); ++i) {
      const absl::string_view word = words[i];
      if (absl::StartsWith(word, "$")) {
        auto it = lets_.find(word.substr(1));
        if (it == lets_.end()) return Error(absl::StrCat("unknown list '", word, "'"));
        types->insert(types->end(), it->second.begin(), it->second.end());
        continue;
      }
      std::string type = ElementTypeNames().contains(word) ? absl::StrCat("tensor(", word, ")")
                                                           : std::string(word);
      if (!WellFormedType(type)) return Error(absl::StrCat("unknown type '", word, "'"));
      types->push_back(std::move(type));
    }
    return absl::OkStatus();
  }

  // Builds the open record's schema.
  absl::Status Close() {
    if (!open_) return absl::OkStatus();
    open_ = false;
    const int saved_line = line_;
    line_ = record_.line;
    absl::Status status = Build();
    line_ = saved_line;
    return status;
  }

  absl::Status Build() {
    if (record_.kernel) {
      if (record_.cpu.empty()) return Error(absl::StrCat("kernel ", record_.name, " has no cpu line"));
      if (kernels_ != nullptr) {
        kernels_->push_back(TableKernel{domain_, record_.name, record_.since, record_.cpu,
                                        absl::StrJoin(record_.notes, " "), record_.line});
      }
      return absl::OkStatus();
    }
    if (record_.outputs.empty()) return Error(absl::StrCat(record_.name, " has no outputs"));
    absl::flat_hash_set<std::string> params;
    for (const auto& [param, unused] : record_.params) params.insert(param);
    for (const auto& [param, unused] : record_.cpu) {
      if (!params.contains(param)) {
        return Error(absl::StrCat("`cpu ", param, "` names no type parameter of ", record_.name));
      }
    }
    auto schema = std::make_unique<onnx::OpSchema>(record_.name, file_, record_.line);
    schema->SetDomain(domain_).SinceVersion(record_.since);
    // A record lists only the attributes that decide types; the others pass unchecked.
    schema->AllowUncheckedAttributes();
    // A fixed type onnx cannot intern becomes a parameter allowing nothing onnx knows.
    std::vector<std::pair<std::string, std::vector<std::string>>> constraints = record_.params;
    auto formal_type = [&](const Formal& formal) -> absl::StatusOr<std::string> {
      if (params.contains(formal.type)) return formal.type;
      std::string type = ElementTypeNames().contains(formal.type)
                             ? absl::StrCat("tensor(", formal.type, ")")
                             : formal.type;
      if (!WellFormedType(type)) {
        return Error(absl::StrCat("formal '", formal.name, "' of ", record_.name, " has type '",
                                  formal.type, "', neither a declared type parameter nor a type"));
      }
      if (OnnxKnows(type)) return type;
      const std::string param = absl::StrCat("fixed_", constraints.size());
      constraints.emplace_back(param, std::vector<std::string>{type});
      return param;
    };
    for (int i = 0; i < static_cast<int>(record_.inputs.size()); ++i) {
      const Formal& f = record_.inputs[i];
      absl::StatusOr<std::string> type = formal_type(f);
      if (!type.ok()) return type.status();
      schema->Input(i, f.name, "", *type, f.option, /*is_homogeneous=*/true,
                    f.option == onnx::OpSchema::Variadic ? 0 : 1);
    }
    for (int i = 0; i < static_cast<int>(record_.outputs.size()); ++i) {
      const Formal& f = record_.outputs[i];
      absl::StatusOr<std::string> type = formal_type(f);
      if (!type.ok()) return type.status();
      schema->Output(i, f.name, "", *type, f.option, /*is_homogeneous=*/true,
                     f.option == onnx::OpSchema::Variadic ? 0 : 1);
    }
    for (const auto& [param, types] : constraints) {
      std::vector<std::string> known;
      for (const std::string& t : types) {
        if (OnnxKnows(t)) known.push_back(t);
      }
      schema->TypeConstraint(param, known, "");
    }
    for (const Attr& attr : record_.attrs) {
      if (attr.default_value.empty()) {
        schema->Attr(attr.name, "", attr.kind, /*required=*/false);
      } else if (attr.kind == onnx::AttributeProto::INT) {
        int64_t value = 0;
        (void)absl::SimpleAtoi(attr.default_value, &value);
        schema->Attr(attr.name, "", attr.kind, value);
      } else if (attr.kind == onnx::AttributeProto::FLOAT) {
        float value = 0;
        (void)absl::SimpleAtof(attr.default_value, &value);
        schema->Attr(attr.name, "", attr.kind, value);
      } else {
        schema->Attr(attr.name, "", attr.kind, attr.default_value);
      }
    }
    absl::Status finalized = CallOnnx(
        absl::StrCat(record_.name, "-", record_.since), [&] { schema->Finalize(); });
    if (!finalized.ok()) return Error(finalized.message());
    TableOp op;
    op.schema = std::move(schema);
    op.line = record_.line;
    op.note = absl::StrJoin(record_.notes, " ");
    for (const auto& [param, types] : record_.cpu) op.cpu_types.emplace_back(param, types);
    ops_.push_back(std::move(op));
    return absl::OkStatus();
  }

  std::string file_;
  std::vector<TableKernel>* kernels_;
  int line_ = 0;
  bool domain_set_ = false;
  std::string domain_;
  absl::flat_hash_map<std::string, std::vector<std::string>> lets_;
  absl::flat_hash_set<std::string> seen_;
  bool open_ = false;
  Record record_;
  std::vector<TableOp> ops_;
};

}  // namespace

absl::StatusOr<std::vector<TableOp>> ParseOpTable(absl::string_view text, absl::string_view file) {
  return Parser(file, nullptr).Parse(text);
}

absl::StatusOr<std::vector<TableOp>> ParseOpTable(absl::string_view text, absl::string_view file,
                                                  std::vector<TableKernel>* kernels) {
  std::vector<TableKernel> parsed;
  absl::StatusOr<std::vector<TableOp>> ops = Parser(file, &parsed).Parse(text);
  if (ops.ok()) {
    for (TableKernel& k : parsed) kernels->push_back(std::move(k));
  }
  return ops;
}

}  // namespace halfcast::ops
