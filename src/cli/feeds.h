// Model inputs for `run`, `compare` and `auto`: read from --input NAME=FILE, --input-set
// NAME=FILE,... (one set of inputs per flag) or --input-dir DIR (ONNX test_data_set_N folders or
// .npy files), generated with --random-inputs, matched to the model's declared input types.
#ifndef HALFCAST_CLI_FEEDS_H_
#define HALFCAST_CLI_FEEDS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cli/args.h"
#include "halfcast/tensor.h"
#include "halfcast/value.h"
#include "onnx/onnx_pb.h"

namespace halfcast::cli {

// The flags that give a model its inputs: --input NAME=FILE (repeated), --input-set
// NAME=FILE,... (repeated), --input-dir DIR, --random-inputs, --shape NAME=d1,d2,... (repeated),
// --seed N.
std::vector<FlagSpec> FeedFlags();

// One run's inputs and where they came from, for messages: "" when they come from --input alone,
// "--input-set 2", or the folder of a test data set.
struct FeedSet {
  std::string label;
  ValueMap feeds;  // tensors, and sequences and optionals for inputs declared so
};

// The feed sets those flags describe for `model`, each checked against its inputs (every input
// fed, no unknown name): one per --input-set, then one per test data set of --input-dir; without
// either, one set from --input. --input values are shared by every set (a name given both ways
// is an error); --random-inputs completes set i with seed + i.
absl::StatusOr<std::vector<FeedSet>> FeedSetsFromFlags(const ParsedArgs& args,
                                                       const onnx::ModelProto& model);

// The sets' feeds alone, in order, for the commands that feed tensors only (`compare`, `auto`):
// InvalidArgument naming `command` and the first input that is a sequence or optional.
absl::StatusOr<std::vector<TensorMap>> TensorFeedsOf(const std::vector<FeedSet>& sets,
                                                     absl::string_view command);

// Reads each "NAME=FILE" (.npy or .pb). A .pb file for an input `model` declares a sequence or
// optional holds an onnx.SequenceProto or OptionalProto; every other file holds a tensor. Errors
// name the flag (`flag`, without "--") and the value at fault: a malformed spec, a name given
// twice, a file that cannot be read.
absl::StatusOr<ValueMap> ReadInputs(const std::vector<std::string>& specs,
                                    absl::string_view flag = "input",
                                    const onnx::ModelProto* model = nullptr);

// The sets of --input-dir `dir` for `model`: each test_data_set_N subfolder (in N order) is a
// set; without any, `dir` itself is one. In a set folder, input_K.pb (an onnx.TensorProto, or
// a SequenceProto or OptionalProto when the K-th input the caller must feed is declared so, as
// ONNX's test data stores them) feeds the input its name field names, or when it has none that
// K-th input; NAME.npy feeds input NAME (or the input whose
// SanitizeFileName is NAME, as `run --output-dir` writes them). Other files are ignored; a set
// with no input file, two files for one input, or an unknown name is InvalidArgument.
absl::StatusOr<std::vector<FeedSet>> ReadInputDir(const std::string& dir,
                                                  const onnx::ModelProto& model);

// The graph inputs a caller must feed (inputs that are also initializers are optional and left
// out), in graph order.
std::vector<const onnx::ValueInfoProto*> FeedableInputs(const onnx::ModelProto& model);

// Every feed must name a graph input; every feedable input must have a feed.
absl::Status CheckFeedNames(const onnx::ModelProto& model, const ValueMap& feeds);

// Feeds for every feedable input missing from `given` (which are copied through): float inputs
// uniform in [-1, 1] from a fixed seed, integers 0, bools false. A shape comes from `shapes`
// (input name -> dims, from --shape) or, when all its dimensions are fixed, from the model; an
// input with a dynamic dimension and no --shape, or one declared a sequence or optional, is an
// error naming it.
absl::StatusOr<ValueMap> CompleteWithRandomFeeds(
    const onnx::ModelProto& model, const ValueMap& given,
    const std::map<std::string, std::vector<int64_t>>& shapes, uint64_t seed);

// float32 feeds for inputs declared float16 or bfloat16 are rounded to that type (nearest even),
// so the same .npy files feed a float32 model and its converted version; so are the float32
// tensors of sequences and optionals declared to hold 16-bit ones.
ValueMap MatchInputTypes(const onnx::ModelProto& model, const ValueMap& feeds);

// "file name" for an output: every character outside [A-Za-z0-9_.-] replaced by '_'.
std::string SanitizeFileName(const std::string& name);

}  // namespace halfcast::cli

#endif  // HALFCAST_CLI_FEEDS_H_
