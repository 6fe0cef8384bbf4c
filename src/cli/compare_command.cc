// halfcast compare REFERENCE CANDIDATE --input NAME=FILE ...: runs both models on the same feeds
// with the built-in evaluator and checks the candidate's outputs as numpy.allclose would.
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/command.h"
#include "cli/compare.h"
#include "cli/feeds.h"
#include "common/status_macros.h"
#include "halfcast/evaluator.h"
#include "halfcast/model_io.h"

namespace halfcast::cli {
namespace {

std::vector<FlagSpec> CompareFlags() {
  std::vector<FlagSpec> flags = FeedFlags();
  flags.push_back({"rtol", FlagKind::kValue, "R", "relative tolerance (default 1e-5, as numpy)"});
  flags.push_back({"atol", FlagKind::kValue, "A", "absolute tolerance (default 1e-8, as numpy)"});
  flags.push_back(ThreadsFlag());
  return flags;
}

absl::StatusOr<TensorMap> RunModel(const std::string& path, const onnx::ModelProto& model,
                                   const TensorMap& feeds, const ParsedArgs& args) {
  HALFCAST_RETURN_IF_ERROR(CheckFeedNames(model, feeds));
  HALFCAST_ASSIGN_OR_RETURN(const ReferenceEvaluatorOptions options,
                            EvaluatorOptionsFromFlags(args, path));
  ReferenceEvaluator evaluator(options);
  absl::StatusOr<TensorMap> outputs = evaluator.Run(model, MatchInputTypes(model, feeds));
  if (!outputs.ok()) {
    return absl::Status(outputs.status().code(),
                        absl::StrCat("running ", path, ": ", outputs.status().message()));
  }
  return outputs;
}

}  // namespace

const CommandSpec kCompareSpec = {
    "compare",
    "REFERENCE CANDIDATE",
    "Run two models on the same inputs; per output, print the largest errors and whether "
    "numpy.allclose holds (exit 1 if not).",
    CompareFlags(),
    2,
    2,
};

absl::StatusOr<int> CompareCommand(const ParsedArgs& args, std::ostream& out, std::ostream& err) {
  const std::string& reference_path = args.positionals()[0];
  const std::string& candidate_path = args.positionals()[1];
  double rtol = 1e-5;
  double atol = 1e-8;
  if (std::optional<std::string> text = args.Value("rtol")) {
    HALFCAST_ASSIGN_OR_RETURN(rtol, ParseNonNegative("rtol", *text));
  }
  if (std::optional<std::string> text = args.Value("atol")) {
    HALFCAST_ASSIGN_OR_RETURN(atol, ParseNonNegative("atol", *text));
  }
  HALFCAST_ASSIGN_OR_RETURN(const onnx::ModelProto reference, LoadModel(reference_path));
  HALFCAST_ASSIGN_OR_RETURN(const onnx::ModelProto candidate, LoadModel(candidate_path));
  HALFCAST_ASSIGN_OR_RETURN(const TensorMap feeds, FeedsFromFlags(args, reference));
  HALFCAST_ASSIGN_OR_RETURN(const TensorMap expected,
                            RunModel(reference_path, reference, feeds, args));
  HALFCAST_ASSIGN_OR_RETURN(const TensorMap actual,
                            RunModel(candidate_path, candidate, feeds, args));

  std::string table = absl::StrFormat("%-24s %14s %14s  allclose(rtol=%g, atol=%g)\n", "output",
                                      "max_abs_error", "max_rel_error", rtol, atol);
  bool all_close = true;
  for (const onnx::ValueInfoProto& output : reference.graph().output()) {
    auto want = expected.find(output.name());
    auto got = actual.find(output.name());
    if (want == expected.end()) continue;
    if (got == actual.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("the candidate has no output '", output.name(), "'"));
    }
    HALFCAST_ASSIGN_OR_RETURN(const TensorComparison comparison,
                              CompareTensors(want->second, got->second, rtol, atol));
    all_close = all_close && comparison.close();
    if (!comparison.same_shape) {
      absl::StrAppendFormat(&table, "%-24s %14s %14s  no (shapes differ)\n", output.name(), "-",
                            "-");
      continue;
    }
    absl::StrAppendFormat(&table, "%-24s %14.6g %14.6g  %s\n", output.name(),
                          comparison.max_abs_error, comparison.max_rel_error,
                          comparison.close()
                              ? std::string("yes")
                              : absl::StrCat("no (", comparison.not_close, " of ",
                                             want->second.element_count(), " elements)"));
  }
  out << table;
  return all_close ? kExitOk : kExitNotClose;
}

}  // namespace halfcast::cli
