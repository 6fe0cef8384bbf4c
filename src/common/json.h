// The few JSON writing helpers the reports need (halfcast writes JSON, never reads it).
#ifndef HALFCAST_COMMON_JSON_H_
#define HALFCAST_COMMON_JSON_H_

#include <string>

#include "absl/strings/string_view.h"

namespace halfcast {

// Appends `text` as a quoted JSON string; control characters are escaped, UTF-8 passes through.
void AppendJsonString(std::string* out, absl::string_view text);
std::string JsonString(absl::string_view text);
// A finite number with enough digits to read back the same double; JSON has no inf or NaN, so
// those are null.
std::string JsonNumber(double value);

}  // namespace halfcast

#endif  // HALFCAST_COMMON_JSON_H_
