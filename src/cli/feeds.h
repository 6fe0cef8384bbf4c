// Model inputs for `run`, `compare` and `auto`: read from --input NAME=FILE, generated with
// --random-inputs, matched to the model's declared input types.
#ifndef HALFCAST_CLI_FEEDS_H_
#define HALFCAST_CLI_FEEDS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/args.h"
#include "halfcast/tensor.h"
#include "onnx/onnx_pb.h"

namespace halfcast::cli {

// The flags that give a model its inputs: --input NAME=FILE (repeated), --random-inputs,
// --shape NAME=d1,d2,... (repeated), --seed N.
std::vector<FlagSpec> FeedFlags();

// The feeds those flags describe for `model`, checked against its inputs (every input fed, no
// unknown name).
absl::StatusOr<TensorMap> FeedsFromFlags(const ParsedArgs& args, const onnx::ModelProto& model);

// Reads each "NAME=FILE" (.npy or .pb). Errors name the flag value at fault: a malformed spec,
// a name given twice, a file that cannot be read.
absl::StatusOr<TensorMap> ReadInputs(const std::vector<std::string>& specs);

// The graph inputs a caller must feed (inputs that are also initializers are optional and left
// out), in graph order.
std::vector<const onnx::ValueInfoProto*> FeedableInputs(const onnx::ModelProto& model);

// Every feed must name a graph input; every feedable input must have a feed.
absl::Status CheckFeedNames(const onnx::ModelProto& model, const TensorMap& feeds);

// Feeds for every feedable input missing from `given` (which are copied through): float inputs
// uniform in [-1, 1] from a fixed seed, integers 0, bools false. A shape comes from `shapes`
// (input name -> dims, from --shape) or, when all its dimensions are fixed, from the model; an
// input with a dynamic dimension and no --shape is an error naming it.
absl::StatusOr<TensorMap> CompleteWithRandomFeeds(
    const onnx::ModelProto& model, const TensorMap& given,
    const std::map<std::string, std::vector<int64_t>>& shapes, uint64_t seed);

// float32 feeds for inputs declared float16 or bfloat16 are rounded to that type (nearest even),
// so the same .npy files feed a float32 model and its converted version.
TensorMap MatchInputTypes(const onnx::ModelProto& model, const TensorMap& feeds);

// "file name" for an output: every character outside [A-Za-z0-9_.-] replaced by '_'.
std::string SanitizeFileName(const std::string& name);

}  // namespace halfcast::cli

#endif  // HALFCAST_CLI_FEEDS_H_
