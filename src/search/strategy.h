// The search strategies, written against a Trials interface so they can be driven by a fake in
// tests. Positions are indexes into the candidate list (the top-level nodes the search may
// block, in graph order), not graph positions.
#ifndef HALFCAST_SEARCH_STRATEGY_H_
#define HALFCAST_SEARCH_STRATEGY_H_

#include <cstddef>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "halfcast/mixed_precision.h"

namespace halfcast::search {

struct Attempt {
  bool valid = false;
  // Per candidate, when asked for: how much float16 error the node's own computation adds
  // (+inf: its output overflows or turns NaN from finite inputs). Higher is more suspect.
  std::vector<double> node_scores;
};

// What a strategy needs from the world: converting + evaluating + judging a candidate, and
// reporting progress. The production implementation is the session in mixed_precision.cc.
class Trials {
 public:
  virtual ~Trials() = default;
  virtual std::size_t candidate_count() const = 0;
  // Candidates that must stay float32 judging by the float32 reference alone (they produce or
  // read a value beyond the target type's range), sorted.
  virtual std::vector<std::size_t> RangeSeeds() const = 0;
  // Converts with exactly `blocked` candidates (sorted) kept in float32, evaluates and judges.
  // Errors (evaluation limit, validate_fn error, evaluator failure) end the search.
  virtual absl::StatusOr<Attempt> Try(const std::vector<std::size_t>& blocked,
                                      bool want_node_scores) = 0;
  // The final check of `blocked`: a full evaluation (never reusing intermediate values), skipped
  // when `may_reuse` and the latest validated attempt was of the same set.
  virtual absl::StatusOr<bool> Verify(const std::vector<std::size_t>& blocked, bool may_reuse) = 0;
  // Progress after an attempt; Cancelled when the caller's callback says stop.
  virtual absl::Status Report(const std::vector<Segment>& segments) = 0;
  // FailedPrecondition: nothing validates, with the smallest error seen.
  virtual absl::Status NothingValidates() const = 0;
};

// The Python tool's algorithm (SPEC.md section 2). Returns the candidates kept in float32.
absl::StatusOr<std::vector<std::size_t>> RunBisect(Trials& trials);

// The default strategy: range seeds, error-ranked growth, then shrinking. Returns the candidates
// kept in float32.
absl::StatusOr<std::vector<std::size_t>> RunErrorGuided(Trials& trials);

}  // namespace halfcast::search

#endif  // HALFCAST_SEARCH_STRATEGY_H_
