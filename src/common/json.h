// The few JSON writing helpers the reports need (halfcast writes JSON, never reads it).
#ifndef HALFCAST_COMMON_JSON_H_
#define HALFCAST_COMMON_JSON_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace halfcast {

// Appends `text` as a quoted JSON string; control characters are escaped, UTF-8 passes through.
void AppendJsonString(std::string* out, absl::string_view text);
std::string JsonString(absl::string_view text);
// A finite number with enough digits to read back the same double; JSON has no inf or NaN, so
// those are null.
std::string JsonNumber(double value);

// Writes one JSON object member by member into a string, placing braces, quotes and commas, so
// a report's writer lists its fields and nothing else:
//   JsonObjectWriter(&out).String("name", name).Int("nodes", n);  // {"name":"...","nodes":3}
// The closing brace is written when the writer goes out of scope.
class JsonObjectWriter {
 public:
  explicit JsonObjectWriter(std::string* out) : out_(out) { out_->push_back('{'); }
  ~JsonObjectWriter() { out_->push_back('}'); }
  JsonObjectWriter(const JsonObjectWriter&) = delete;
  JsonObjectWriter& operator=(const JsonObjectWriter&) = delete;

  JsonObjectWriter& String(absl::string_view key, absl::string_view value);
  JsonObjectWriter& Int(absl::string_view key, int64_t value);
  // A member whose value the caller appends to the returned string right after the call (an
  // array or a nested object).
  std::string* Member(absl::string_view key);

 private:
  std::string* out_;
  bool first_ = true;
};

// Appends `items` as a JSON array, each element written by `append_item(out, item)`.
template <typename Items, typename AppendItem>
void AppendJsonArray(std::string* out, const Items& items, AppendItem append_item) {
  out->push_back('[');
  bool first = true;
  for (const auto& item : items) {
    if (!first) out->push_back(',');
    first = false;
    append_item(out, item);
  }
  out->push_back(']');
}

}  // namespace halfcast

#endif  // HALFCAST_COMMON_JSON_H_
