// The production Trials: converts candidates with the converter, evaluates them with an
// Evaluator against the float32 reference computed once, judges them, and keeps what the
// strategies and the final report need.
#ifndef HALFCAST_SEARCH_SESSION_H_
#define HALFCAST_SEARCH_SESSION_H_

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "halfcast/convert.h"
#include "halfcast/evaluator.h"
#include "halfcast/mixed_precision.h"
#include "search/strategy.h"
#include "search/validator.h"

namespace halfcast::search {

// The conversion options of every candidate (node_index_block_list left empty).
ConvertOptions CandidateConvertOptions(const MixedPrecisionOptions& options);
// Gives kept nodes at `graph_positions` (sorted) that the converter reports as block-listed
// the reason kSearch.
void MarkSearchKept(const std::vector<std::size_t>& graph_positions, ConvertReport* report);

class Session : public Trials {
 public:
  // Checks options and feeds, runs the float32 reference and checks it validates against itself.
  // `model` must outlive the session. `evaluator_options` configure the built-in evaluator when
  // options.evaluator is null.
  static absl::StatusOr<std::unique_ptr<Session>> Create(
      const onnx::ModelProto& model, const std::vector<TensorMap>& feeds,
      const MixedPrecisionOptions& options, const ReferenceEvaluatorOptions& evaluator_options);

  std::size_t candidate_count() const override { return candidates_.size(); }
  std::vector<std::size_t> RangeSeeds() const override;
  absl::StatusOr<Attempt> Try(const std::vector<std::size_t>& blocked,
                              bool want_node_scores) override;
  absl::StatusOr<bool> Verify(const std::vector<std::size_t>& blocked, bool may_reuse) override;
  absl::Status Report(const std::vector<Segment>& segments) override;
  absl::Status NothingValidates() const override;

  // The model and report of the set Verify accepted last, with the search's kept nodes given
  // reason kSearch. Moves the model out; call once, after a successful Verify.
  MixedPrecisionResult TakeResult();
  // After the search stopped early with `stop` (keep_best): the latest candidate that validated,
  // else the one with the smallest error, marked not validated; `graph_positions` receives its
  // kept nodes. `stop` itself when no candidate was tried.
  absl::StatusOr<MixedPrecisionResult> TakeBestSoFar(const absl::Status& stop,
                                                     std::vector<std::size_t>* graph_positions);
  // Graph positions of candidates.
  std::vector<std::size_t> GraphPositions(const std::vector<std::size_t>& candidates) const;

 private:
  struct NodeInfo {
    std::vector<std::string> reads;  // explicit inputs and every name read inside subgraphs
    std::vector<std::string> outputs;
    std::set<std::string> initializers;  // the initializers and Constant outputs among `reads`
    bool constant = false;               // a Constant node
  };
  // Values of one evaluated candidate, per feed set, for reuse by later attempts.
  struct CachedRun {
    std::vector<bool> blocked;  // per top-level node
    std::vector<TensorMap> values;
  };

  Session(const onnx::ModelProto& model, const MixedPrecisionOptions& options);
  absl::Status RunReference(const std::vector<TensorMap>& feeds);
  absl::StatusOr<Attempt> Evaluate(const std::vector<std::size_t>& blocked, bool want_node_scores,
                                   bool incremental);
  // Nodes whose values a change of state of `changed` nodes can alter: those nodes, their
  // descendants, and readers of initializers and Constants they share.
  std::vector<bool> AffectedBy(const std::vector<bool>& changed) const;
  // The outputs in `values` (one earlier run) of nodes not `affected`, graph outputs excepted.
  TensorMap Reusable(const TensorMap& values, const std::vector<bool>& affected) const;
  std::vector<double> NodeScores(const std::vector<TensorMap>& values) const;
  double elapsed_seconds() const;

  std::optional<onnx::ModelProto> sorted_model_;  // when the caller's nodes are out of order
  const onnx::ModelProto& model_;                 // the caller's model or sorted_model_
  MixedPrecisionOptions options_;
  std::optional<Validator> validator_;
  std::unique_ptr<Evaluator> owned_evaluator_;
  Evaluator* evaluator_ = nullptr;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point deadline_;  // max() without a time limit

  std::vector<NodeInfo> nodes_;             // top-level nodes in graph order
  std::vector<std::size_t> candidates_;     // graph positions of nodes the search may block
  std::vector<std::size_t> candidate_of_;   // graph position -> candidate index or npos
  std::vector<std::string> output_names_;   // graph outputs
  std::vector<TensorMap> candidate_feeds_;
  std::vector<TensorMap> reference_outputs_;
  std::vector<TensorMap> reference_values_;  // every value, when the strategy uses them
  double max_finite_ = 0;

  int64_t evaluations_ = 0;
  double smallest_score_ = -1;
  std::string smallest_summary_;
  std::vector<std::size_t> smallest_blocked_;  // the attempt with the smallest score
  std::vector<OutputError> smallest_errors_;   // ... and its errors, worst over the feeds
  std::deque<CachedRun> cache_;  // the latest runs, newest first

  // The latest candidate that validated: what Verify may reuse and what TakeResult returns.
  // Reused values are exact (the same bits a full run computes; checked on the shared models),
  // so an incremental attempt counts as a validation of its set.
  struct Verified {
    std::vector<std::size_t> blocked;
    ConvertResult converted;
    std::vector<OutputError> errors;  // worst over the feed sets
  };
  std::optional<Verified> verified_;
};

}  // namespace halfcast::search

#endif  // HALFCAST_SEARCH_SESSION_H_
