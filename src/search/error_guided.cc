// The default strategy. The Python tool's bisection spends most of its evaluations discovering,
// one halving at a time, where float16 breaks the model. The float32 reference already says much
// of that: a value beyond the target's range cannot be stored in it, so its producer and readers
// are kept in float32 before anything runs. What remains is ranked by each node's own float16
// error measured in one fully evaluated candidate, the worst blocked first (in growing batches,
// re-measuring after each), and the blocked set is then shrunk by halving in graph order.
#include <algorithm>
#include <deque>
#include <limits>
#include <map>

#include "common/status_macros.h"
#include "search/strategy.h"

namespace halfcast::search {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<std::size_t> Positions(const std::vector<bool>& blocked) {
  std::vector<std::size_t> positions;
  for (std::size_t i = 0; i < blocked.size(); ++i) {
    if (blocked[i]) positions.push_back(i);
  }
  return positions;
}

// Runs of candidates: blocked ones bad, the others good when the attempt validated.
std::vector<Segment> SegmentsOf(const std::vector<bool>& blocked, bool valid) {
  std::vector<Segment> segments;
  for (std::size_t i = 0; i < blocked.size(); ++i) {
    const SegmentState state =
        blocked[i] ? SegmentState::kBad : (valid ? SegmentState::kGood : SegmentState::kUntried);
    if (!segments.empty() && segments.back().state == state) {
      ++segments.back().size;
    } else {
      segments.push_back({i, 1, state});
    }
  }
  return segments;
}

class ErrorGuidedSearch {
 public:
  explicit ErrorGuidedSearch(Trials& trials) : trials_(trials) {}

  absl::StatusOr<std::vector<std::size_t>> Run() {
    const std::size_t n = trials_.candidate_count();
    std::vector<bool> blocked(n, false);
    std::vector<double> suspicion(n, 0);
    for (std::size_t p : trials_.RangeSeeds()) {
      blocked[p] = true;
      suspicion[p] = kInf;
    }
    HALFCAST_ASSIGN_OR_RETURN(Attempt attempt, TrySet(blocked, true));
    // Grow: block the worst-scored nodes, every overflow at once and then batches doubling in
    // size, so uninformative scores still cost only log2(n) attempts.
    std::size_t batch = 1;
    while (!attempt.valid) {
      std::vector<std::size_t> order;
      for (std::size_t i = 0; i < n; ++i) {
        if (!blocked[i]) order.push_back(i);
      }
      if (order.empty()) return trials_.NothingValidates();
      const std::vector<double>& scores = attempt.node_scores;
      std::stable_sort(order.begin(), order.end(),
                       [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
      std::size_t added = 0;
      for (std::size_t p : order) {
        if (scores[p] != kInf && added >= batch) break;
        blocked[p] = true;
        suspicion[p] = scores[p];
        ++added;
      }
      batch *= 2;
      HALFCAST_ASSIGN_OR_RETURN(attempt, TrySet(blocked, true));
    }
    HALFCAST_RETURN_IF_ERROR(Shrink(blocked, suspicion));
    const std::vector<std::size_t> result = Positions(blocked);
    HALFCAST_ASSIGN_OR_RETURN(bool valid, trials_.Verify(result, true));
    if (!valid) return trials_.NothingValidates();
    HALFCAST_RETURN_IF_ERROR(trials_.Report(SegmentsOf(blocked, true)));
    return result;
  }

 private:
  // Unblocks chunks of the blocked set while the model still validates: the whole set first,
  // then halves, down to single nodes, which stay blocked when even they alone break validation.
  // Chunks are runs in graph (topological) order, not ranked by suspicion: a run unblocked
  // together computes in 16 bits from end to end, with Casts only at its edges, where nodes
  // picked apart by score each gain a Cast pair, whose rounding adds up when the float16 error
  // is rounding over many layers rather than one overflow (docs/performance.md: the strict
  // transformer needs 150 evaluations instead of 230 and keeps 47 nodes instead of 71).
  absl::Status Shrink(std::vector<bool>& blocked, const std::vector<double>& suspicion) {
    const std::vector<std::size_t> members = Positions(blocked);
    std::deque<std::vector<std::size_t>> chunks;
    if (!members.empty()) chunks.push_back(members);
    // A set made only of overflowing nodes almost surely fails whole: start from its halves.
    if (members.size() > 1 && std::all_of(members.begin(), members.end(), [&](std::size_t p) {
          return suspicion[p] == kInf;
        })) {
      chunks.clear();
      SplitInto(members, chunks);
    }
    while (!chunks.empty()) {
      std::vector<std::size_t> chunk = std::move(chunks.front());
      chunks.pop_front();
      std::vector<bool> trial = blocked;
      for (std::size_t p : chunk) trial[p] = false;
      HALFCAST_ASSIGN_OR_RETURN(Attempt attempt, TrySet(trial, false));
      if (attempt.valid) {
        blocked = std::move(trial);
      } else if (chunk.size() > 1) {
        SplitInto(chunk, chunks);
      }
    }
    return absl::OkStatus();
  }

  // Puts the halves of `chunk` at the front of `chunks`, first half first.
  static void SplitInto(const std::vector<std::size_t>& chunk,
                        std::deque<std::vector<std::size_t>>& chunks) {
    const auto middle = chunk.begin() + static_cast<std::ptrdiff_t>(chunk.size() / 2);
    chunks.push_front(std::vector<std::size_t>(middle, chunk.end()));
    chunks.push_front(std::vector<std::size_t>(chunk.begin(), middle));
  }

  // One attempt, remembered: shrinking often revisits a set growing already judged.
  absl::StatusOr<Attempt> TrySet(const std::vector<bool>& blocked, bool want_node_scores) {
    std::vector<std::size_t> positions = Positions(blocked);
    auto known = tried_.find(positions);
    if (known != tried_.end() && !want_node_scores) return Attempt{known->second, {}};
    HALFCAST_ASSIGN_OR_RETURN(Attempt attempt, trials_.Try(positions, want_node_scores));
    tried_[positions] = attempt.valid;
    HALFCAST_RETURN_IF_ERROR(trials_.Report(SegmentsOf(blocked, attempt.valid)));
    return attempt;
  }

  Trials& trials_;
  std::map<std::vector<std::size_t>, bool> tried_;
};

}  // namespace

absl::StatusOr<std::vector<std::size_t>> RunErrorGuided(Trials& trials) {
  return ErrorGuidedSearch(trials).Run();
}

}  // namespace halfcast::search
