#include "common/json.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace halfcast {

void AppendJsonString(std::string* out, absl::string_view text) {
  out->push_back('"');
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\r':
        out->append("\\r");
        break;
      default:
        if (c < 0x20) {
          absl::StrAppendFormat(out, "\\u%04x", c);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

std::string JsonString(absl::string_view text) {
  std::string out;
  AppendJsonString(&out, text);
  return out;
}

JsonObjectWriter& JsonObjectWriter::String(absl::string_view key, absl::string_view value) {
  AppendJsonString(Member(key), value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Int(absl::string_view key, int64_t value) {
  absl::StrAppend(Member(key), value);
  return *this;
}

std::string* JsonObjectWriter::Member(absl::string_view key) {
  if (!first_) out_->push_back(',');
  first_ = false;
  AppendJsonString(out_, key);
  out_->push_back(':');
  return out_;
}

std::string JsonNumber(double value) {
  return std::isfinite(value) ? absl::StrFormat("%.17g", value) : std::string("null");
}

}  // namespace halfcast
