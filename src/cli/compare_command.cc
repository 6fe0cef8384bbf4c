// halfcast compare REFERENCE CANDIDATE --input NAME=FILE ...: runs both models on the same feeds
// with the built-in evaluator and checks the candidate's outputs as numpy.allclose would.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/command.h"
#include "cli/compare.h"
#include "cli/feeds.h"
#include "cli/report_json.h"
#include "common/json.h"
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
  flags.push_back(MemoryLimitFlag());
  flags.push_back({"json", FlagKind::kSwitch, "", "print one JSON object (see docs/cli.md)"});
  return flags;
}

// The model's outputs on `feeds` (of every kind); the outputs compared must be tensors.
absl::StatusOr<TensorMap> RunModel(const std::string& path, const onnx::ModelProto& model,
                                   const ValueMap& feeds, const ParsedArgs& args) {
  HALFCAST_RETURN_IF_ERROR(CheckFeedNames(model, feeds));
  HALFCAST_ASSIGN_OR_RETURN(const ReferenceEvaluatorOptions options,
                            EvaluatorOptionsFromFlags(args, path));
  ReferenceEvaluator evaluator(options);
  absl::StatusOr<TensorMap> outputs;
  if (absl::StatusOr<ValueMap> values = evaluator.RunValues(model, MatchInputTypes(model, feeds));
      values.ok()) {
    outputs = ToTensorMap(*values);
  } else {
    outputs = values.status();
  }
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
    "Run two models on the same inputs (every input set); per output, print the largest errors "
    "and whether numpy.allclose holds (exit 1 if not).",
    CompareFlags(),
    2,
    2,
};

namespace {

// One output's comparison over every feed set: the largest errors, the failing elements summed.
struct OutputVerdict {
  std::string name;
  bool same_shape = true;
  double max_abs_error = 0;
  double max_rel_error = 0;
  int64_t not_close = 0;
  int64_t elements = 0;
  bool close() const { return same_shape && not_close == 0; }
};

std::string VerdictJson(const OutputVerdict& v) {
  return absl::StrCat("{\"name\":", JsonString(v.name),
                      ",\"same_shape\":", v.same_shape ? "true" : "false",
                      ",\"max_abs_error\":", v.same_shape ? JsonNumber(v.max_abs_error) : "null",
                      ",\"max_rel_error\":", v.same_shape ? JsonNumber(v.max_rel_error) : "null",
                      ",\"not_close\":", v.not_close, ",\"elements\":", v.elements,
                      ",\"close\":", v.close() ? "true" : "false", "}");
}

}  // namespace

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
  HALFCAST_ASSIGN_OR_RETURN(const std::vector<FeedSet> sets, FeedSetsFromFlags(args, reference));

  std::vector<OutputVerdict> verdicts;
  for (const onnx::ValueInfoProto& output : reference.graph().output()) {
    verdicts.push_back({output.name()});
  }
  for (const FeedSet& set : sets) {
    HALFCAST_ASSIGN_OR_RETURN(const TensorMap expected,
                              RunModel(reference_path, reference, set.feeds, args));
    HALFCAST_ASSIGN_OR_RETURN(const TensorMap actual,
                              RunModel(candidate_path, candidate, set.feeds, args));
    for (OutputVerdict& verdict : verdicts) {
      auto want = expected.find(verdict.name);
      auto got = actual.find(verdict.name);
      if (want == expected.end()) continue;
      if (got == actual.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("the candidate has no output '", verdict.name, "'"));
      }
      HALFCAST_ASSIGN_OR_RETURN(const TensorComparison comparison,
                                CompareTensors(want->second, got->second, rtol, atol));
      verdict.same_shape = verdict.same_shape && comparison.same_shape;
      verdict.max_abs_error = std::max(verdict.max_abs_error, comparison.max_abs_error);
      verdict.max_rel_error = std::max(verdict.max_rel_error, comparison.max_rel_error);
      verdict.not_close += comparison.not_close;
      verdict.elements += want->second.element_count();
    }
  }
  bool all_close = true;
  for (const OutputVerdict& verdict : verdicts) all_close = all_close && verdict.close();

  if (args.Has("json")) {
    std::vector<std::string> items;
    for (const OutputVerdict& verdict : verdicts) items.push_back(VerdictJson(verdict));
    out << JsonHeader("compare") << ",\"reference\":" << JsonString(reference_path)
        << ",\"candidate\":" << JsonString(candidate_path)
        << ",\"tolerances\":{\"rtol\":" << JsonNumber(rtol) << ",\"atol\":" << JsonNumber(atol)
        << "},\"feed_sets\":" << sets.size() << ",\"all_close\":" << (all_close ? "true" : "false")
        << ",\"outputs\":[" << absl::StrJoin(items, ",") << "]}\n";
    return all_close ? kExitOk : kExitNotClose;
  }
  std::string table = absl::StrFormat("%-24s %14s %14s  allclose(rtol=%g, atol=%g)", "output",
                                      "max_abs_error", "max_rel_error", rtol, atol);
  if (sets.size() > 1) absl::StrAppend(&table, " over ", sets.size(), " input sets");
  absl::StrAppend(&table, "\n");
  for (const OutputVerdict& verdict : verdicts) {
    if (!verdict.same_shape) {
      absl::StrAppendFormat(&table, "%-24s %14s %14s  no (shapes differ)\n", verdict.name, "-",
                            "-");
      continue;
    }
    absl::StrAppendFormat(&table, "%-24s %14.6g %14.6g  %s\n", verdict.name, verdict.max_abs_error,
                          verdict.max_rel_error,
                          verdict.close() ? std::string("yes")
                                          : absl::StrCat("no (", verdict.not_close, " of ",
                                                         verdict.elements, " elements)"));
  }
  out << table;
  return all_close ? kExitOk : kExitNotClose;
}

}  // namespace halfcast::cli
