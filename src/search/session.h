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
// Blocks `locations` in `options`: main-graph nodes through node_index_block_list, body nodes
// through node_location_block_list.
void BlockLocations(const std::vector<NodeLocation>& locations, ConvertOptions* options);
// Gives kept nodes at `locations` (sorted) that the converter reports as block-listed the
// reason kSearch.
void MarkSearchKept(const std::vector<NodeLocation>& locations, ConvertReport* report);

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
  // Where `candidates` are in the model, sorted.
  std::vector<NodeLocation> Locations(const std::vector<std::size_t>& candidates) const;
  // After the search stopped early with `stop` (keep_best): the latest candidate that validated,
  // else the one with the smallest error, marked not validated; `kept` receives the locations
  // of its kept nodes. `stop` itself when no candidate was tried.
  absl::StatusOr<MixedPrecisionResult> TakeBestSoFar(const absl::Status& stop,
                                                     std::vector<NodeLocation>* kept);

 private:
  struct NodeInfo {
    std::vector<std::string> reads;  // explicit inputs and every name read inside subgraphs
    std::vector<std::string> outputs;
    std::set<std::string> initializers;  // the initializers and Constant outputs among `reads`
    bool constant = false;               // a Constant node
  };
  // A node the search may block: any node but Loop/If/Scan, in the main graph or in their
  // bodies at any depth.
  struct Candidate {
    NodeLocation location;
    std::size_t top_level;  // position of the main-graph node that is or holds it
    // A body node's own inputs and outputs, whose values the evaluator may return
    // (RunOptions::return_body_values); a main-graph node's are in nodes_[top_level].
    std::vector<std::string> body_reads;
    std::vector<std::string> body_outputs;
  };
  // The names a candidate reads and writes.
  const std::vector<std::string>& ReadsOf(const Candidate& c) const {
    return c.location.graph.empty() ? nodes_[c.top_level].reads : c.body_reads;
  }
  const std::vector<std::string>& OutputsOf(const Candidate& c) const {
    return c.location.graph.empty() ? nodes_[c.top_level].outputs : c.body_outputs;
  }
  // Values of one evaluated candidate, per feed set, for reuse by later attempts.
  struct CachedRun {
    std::vector<bool> blocked;  // per candidate
    std::vector<TensorMap> values;
  };

  Session(const onnx::ModelProto& model, const MixedPrecisionOptions& options);
  absl::Status RunReference(const std::vector<TensorMap>& feeds);
  absl::StatusOr<Attempt> Evaluate(const std::vector<std::size_t>& blocked, bool want_node_scores,
                                   bool incremental);
  // Adds the candidates of `graph` (at `location`, inside main-graph node `top_level`), in
  // graph order, descending into Loop/If/Scan bodies in place of the node that holds them.
  void AddCandidates(const onnx::GraphProto& graph, const std::string& location,
                     std::size_t top_level);
  // Main-graph nodes whose values a change of state of `changed` nodes can alter: those nodes,
  // their descendants, and readers of initializers and Constants they share.
  std::vector<bool> AffectedBy(const std::vector<bool>& changed) const;
  // The graph outputs among `values`, 16-bit ones widened to float32 for judging.
  TensorMap WidenedOutputs(const TensorMap& values) const;
  // Candidates that touch a main-graph value beyond the target's range in `reference_values_`.
  std::vector<std::size_t> FindRangeSeeds() const;
  // Drops cached runs, then the reference values, until what is kept fits max_retained_bytes;
  // records the peak.
  void BoundRetainedBytes();
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
  // check_onnx_runtime_cpu: the built-in evaluator modelling ONNX Runtime's CPU float16.
  std::unique_ptr<Evaluator> ort_cpu_evaluator_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point deadline_;  // max() without a time limit

  std::vector<NodeInfo> nodes_;             // top-level nodes in graph order
  std::vector<Candidate> candidates_;       // in graph order, bodies in place of their holder
  std::vector<std::string> output_names_;   // graph outputs
  std::vector<TensorMap> candidate_feeds_;
  std::vector<TensorMap> reference_outputs_;
  std::vector<TensorMap> reference_values_;  // every float value, when the strategy uses them
  std::vector<std::size_t> range_seeds_;
  int64_t peak_retained_bytes_ = 0;
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
