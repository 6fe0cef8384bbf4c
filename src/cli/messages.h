// Library messages in the words of the command line: halfcast's errors, warnings and notes name
// its C++ options (`set check_fp16_ready to false`, `keep_io_names: 'q' is not ...`), while the
// user of `halfcast` typed flags. FlagNamesInMessage rewrites the one into the other with a
// single table (kOptionFlags in messages.cc), so a new option is one new row.
//
//   FlagNamesInMessage("min_positive_val must be >= 0, got -1")
//     == "--min-positive-val must be >= 0, got -1"
//
// Names are replaced only as whole words outside single quotes, so a quoted node, input or file
// name that happens to read `rtol` stays as the user wrote it, and text already naming a flag
// (`--rtol`) or a path (`dir/rtol.npy`) is left alone.
#ifndef HALFCAST_CLI_MESSAGES_H_
#define HALFCAST_CLI_MESSAGES_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace halfcast::cli {

struct OptionFlag {
  std::string text;  // as the library writes it: an option name, or a phrase around one
  std::string flag;  // as the user types it
};

// The table, phrases before the bare names they contain (applied in this order).
const std::vector<OptionFlag>& OptionFlags();

// `message` with every library option name (and the phrases of OptionFlags) replaced.
std::string FlagNamesInMessage(absl::string_view message);

}  // namespace halfcast::cli

#endif  // HALFCAST_CLI_MESSAGES_H_
