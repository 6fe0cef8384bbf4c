// The JSON objects of the command line (docs/cli.md "JSON output"; their schema is
// docs/cli-output.schema.json): every object starts with "command" and "halfcast_version";
// `convert` and `auto` (--json, --report-json FILE) add what the run was - paths, target, options,
// tolerances, timings - to the library's report, whose members follow unchanged.
#ifndef HALFCAST_CLI_REPORT_JSON_H_
#define HALFCAST_CLI_REPORT_JSON_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "halfcast/convert.h"
#include "halfcast/mixed_precision.h"
#include "halfcast/model_io.h"

namespace halfcast::cli {

// `{"command":"<command>","halfcast_version":"<version>"` - the object is left open.
std::string JsonHeader(absl::string_view command);
// ["a","b"]
std::string JsonStringArray(const std::vector<std::string>& items);

// What a convert or auto run was, besides its options.
struct RunInfo {
  std::string input;
  std::string output;        // "-" for stdout
  double total_seconds = 0;  // the whole command: load, convert or search, save
};

std::string ConvertJson(const RunInfo& run, const ConvertOptions& options, const SaveOptions& save,
                        const ConvertReport& report);
// `rtol`/`atol` are the tolerances the search applied (after numpy's defaults); `feed_sets` how
// many input sets every candidate was judged on.
std::string AutoJson(const RunInfo& run, const MixedPrecisionOptions& options, double rtol,
                     double atol, std::size_t feed_sets, const SaveOptions& save,
                     const MixedPrecisionReport& report);

}  // namespace halfcast::cli

#endif  // HALFCAST_CLI_REPORT_JSON_H_
