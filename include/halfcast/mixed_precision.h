// Mixed precision: the fewest float32 nodes that keep a converted model accurate.
//
//   halfcast::MixedPrecisionOptions options;
//   options.rtol = 0.01;
//   options.atol = 0.001;
//   options.keep_io_types = true;
//   std::vector<halfcast::TensorMap> feeds = {{{"x", x}}};
//   absl::StatusOr<halfcast::MixedPrecisionResult> result =
//       halfcast::AutoConvertMixedPrecision(model, feeds, options);
//
// Semantics follow onnxconverter-common's auto_mixed_precision.auto_convert_mixed_precision
// (SPEC.md section 2), evaluated by halfcast's built-in CPU evaluator unless another Evaluator
// is given.
//
// Threading: reentrant; callbacks run on the calling thread.
#ifndef HALFCAST_MIXED_PRECISION_H_
#define HALFCAST_MIXED_PRECISION_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "halfcast/convert.h"
#include "halfcast/evaluator.h"
#include "halfcast/options.h"
#include "halfcast/tensor.h"

namespace halfcast {

// Decides whether candidate outputs are acceptable against the float32 reference outputs (both
// keyed by graph output name). May return an error status (reported, search stops); must not
// throw.
using ValidateFn =
    std::function<absl::StatusOr<bool>(const TensorMap& reference, const TensorMap& candidate)>;

enum class SegmentState { kUntried, kGood, kBad };
struct Segment {
  std::size_t begin;  // first top-level node position
  std::size_t size;
  SegmentState state;
};

// Segments index the candidate list: the top-level nodes other than Loop/If/Scan, in graph
// order. kBisect reports its segments as the Python tool keeps them; kErrorGuided reports the
// attempt just made: blocked runs kBad, converted runs kGood if it validated, else kUntried.
struct SearchProgress {
  std::vector<Segment> segments;  // in graph order
  int64_t evaluations = 0;        // so far, the float32 reference included
  double elapsed_seconds = 0;
};

// Called after each attempt; return false to cancel (the search then fails with Cancelled).
using ProgressFn = std::function<bool(const SearchProgress& progress)>;

// The Python tool's visualisation: good sizes in *stars*, bad in (parentheses), untried plain,
// as a Python list: "[*12*, (1), 3]".
std::string FormatSegments(const std::vector<Segment>& segments);

enum class SearchStrategy {
  kErrorGuided,  // default: error-ordered, incremental evaluation; fewest evaluations
  kBisect,       // the Python tool's algorithm, reproduced exactly
};

struct MixedPrecisionOptions {
  // numpy.allclose tolerances; see SPEC.md section 2 for the defaults when only one is given.
  std::optional<double> rtol;
  std::optional<double> atol;
  ValidateFn validate_fn;  // used instead of, or together with, rtol/atol
  // Every candidate must meet rtol and atol scaled by (1 - safety_margin), so the model returned
  // is not one at the edge of the bound, where a runtime whose float16 arithmetic rounds a
  // little differently than the built-in evaluator's (ONNX Runtime's CPU kernels sum in another
  // order, say) can fail it. Applies to rtol/atol only, not to validate_fn. 0 judges at the
  // bound itself. Must be in [0, 1).
  double safety_margin = 0.2;
  // With the built-in evaluator (evaluator == nullptr): a candidate that validates must also
  // validate when evaluated the way ONNX Runtime's CPU provider runs float16
  // (Float16Model::kOnnxRuntimeCpu: its own Casts around ops without float16 kernels, its
  // Conv+BatchNormalization fusion in float16), so the answer holds in both kinds of runtime:
  // one that stores every op's result in 16 bits, and ONNX Runtime on CPU.
  bool check_onnx_runtime_cpu = true;
  bool keep_io_types = false;
  TargetType target = TargetType::kFloat16;
  // Selection lists and strict_lists, as ConvertOptions' (names or full-match patterns). A node
  // node_include_list forces to 16 bits is never kept float32 by the search; node_block_list and
  // op_block_list nodes stay float32 in every candidate.
  std::vector<std::string> op_block_list = DefaultOpBlockList();
  std::vector<std::string> node_block_list;
  std::vector<std::string> op_include_list;
  std::vector<std::string> node_include_list;
  bool strict_lists = false;
  // Custom ops declared 16-bit capable, as ConvertOptions::fp16_ops.
  std::vector<std::string> fp16_ops;
  float min_positive_val = 1e-7f;
  float max_finite_val = 1e4f;
  SearchStrategy strategy = SearchStrategy::kErrorGuided;
  // Not owned; must outlive the call. nullptr = a built-in ReferenceEvaluator. Any evaluator
  // works; one that ignores RunOptions (all values, precomputed) only makes kErrorGuided's
  // ranking less informed and its trials slower.
  Evaluator* evaluator = nullptr;
  ProgressFn progress;
  LogCallback log;  // one kInfo line per attempt
  // An evaluation is one model run on every feed set; the float32 reference counts as one.
  // 0 = no limit; needing more is ResourceExhausted.
  int64_t max_evaluations = 0;
  // Wall-clock bound on the whole search, in seconds; 0 = none. Each evaluation gets what is
  // left (RunOptions::deadline), so one long run cannot overshoot it; reaching it is
  // DeadlineExceeded. Must be >= 0.
  double time_limit_seconds = 0;
  // Bound on the bytes the search keeps between evaluations: the float32 reference's float
  // values (to rank nodes by their float16 error) and the latest runs' values (to re-evaluate
  // only what a change can affect). Past it the search keeps fewer runs, then none, then drops
  // the reference values (ranking nodes in graph order): slower, never wrong. 0 = no bound.
  // Must be >= 0.
  int64_t max_retained_bytes = int64_t{2} << 30;
  // When max_evaluations or time_limit_seconds stop the search before its end: false (default)
  // fails with ResourceExhausted / DeadlineExceeded; true returns the best candidate found so
  // far instead, with MixedPrecisionReport::stopped saying why and ::validated whether it passed.
  // The best is the latest candidate that validated (on every feed set) or, when none did, the
  // one with the smallest error seen. The search must have tried at least one candidate.
  bool keep_best = false;
};

struct OutputError {
  std::string name;
  double max_abs_error = 0;
  double max_rel_error = 0;  // over elements whose float32 value is not 0
};

struct MixedPrecisionReport {
  ConvertReport conversion;          // of the final model; kept_nodes include reason kSearch
  int64_t evaluations = 0;
  double seconds = 0;
  std::vector<OutputError> output_errors;  // final model vs float32, worst over the feeds
  // The most bytes of tensor values the search kept between evaluations (see
  // max_retained_bytes); the evaluator's own working memory comes on top.
  int64_t peak_retained_bytes = 0;
  // Whether the model validated on every feed set; false only for a keep_best candidate that
  // did not.
  bool validated = true;
  // Empty when the search ran to its end; else why it stopped early (keep_best), e.g.
  // "mixed-precision search reached max_evaluations (20) before finishing": the model is the best
  // found so far, not necessarily the fewest float32 nodes.
  std::string stopped;
};

struct MixedPrecisionResult {
  onnx::ModelProto model;
  MixedPrecisionReport report;
};

// The report as a JSON object: {"conversion": ReportToJson(...), "evaluations", "seconds",
// "peak_retained_bytes", "output_errors": [{"name", "max_abs_error", "max_rel_error"}],
// "validated", "stopped"}; a non-finite error is null, "stopped" is null when the search ran to
// its end.
std::string MixedPrecisionReportToJson(const MixedPrecisionReport& report);

// `feeds`: one or more input sets (graph input name -> tensor); every set must validate. With
// keep_io_types false, float32 feeds are rounded to the target type for candidates.
// Errors: InvalidArgument (no tolerance and no validate_fn, a negative tolerance, a
// safety_margin outside [0, 1), a negative max_retained_bytes, feeds missing
// an input, naming an unknown one or with a wrong type/shape), FailedPrecondition (the float32
// model does not validate against itself, or nothing validates: the message gives the smallest
// error seen), Cancelled (progress said stop), ResourceExhausted (max_evaluations), and any error
// of validate_fn, the converter or the evaluator, returned as is with context.
absl::StatusOr<MixedPrecisionResult> AutoConvertMixedPrecision(
    const onnx::ModelProto& model, const std::vector<TensorMap>& feeds,
    const MixedPrecisionOptions& options);

// Same, from a file, writing `output_path` atomically (nothing is written on error); for models
// with external data: external tensors are read from the model's folder, never loaded into one
// message, and the final model is written by ConvertFile with `save_options`.
absl::StatusOr<MixedPrecisionReport> AutoConvertMixedPrecisionFile(
    const std::string& input_path, const std::string& output_path,
    const std::vector<TensorMap>& feeds, const MixedPrecisionOptions& options,
    const SaveOptions& save_options = {});

}  // namespace halfcast

#endif  // HALFCAST_MIXED_PRECISION_H_
