// Segment bookkeeping of the bisect strategy: the Python tool's SegmentList / NodeSegment.
#ifndef HALFCAST_SEARCH_SEGMENTS_H_
#define HALFCAST_SEARCH_SEGMENTS_H_

#include <cstddef>
#include <optional>
#include <vector>

#include "halfcast/mixed_precision.h"

namespace halfcast::search {

// Consecutive runs of `node_count` candidate nodes (positions 0..node_count-1 of the candidate
// list, not of the graph), each untried, good (converts without breaking validation) or bad.
class SegmentList {
 public:
  // One untried segment holding every node (none when node_count is 0).
  explicit SegmentList(std::size_t node_count);

  // Index of the largest untried segment; the first one in order among equal sizes, as the
  // Python tool's strict `>` comparison picks. nullopt when every segment is good or bad.
  std::optional<std::size_t> Largest() const;

  // Candidate positions to block when trying segment `tried`: every node outside good segments
  // and outside `tried` (pass nullopt for the final model: every node outside good segments).
  std::vector<std::size_t> BlockedPositions(std::optional<std::size_t> tried) const;

  void MarkGood(std::size_t index) { segments_[index].state = SegmentState::kGood; }
  void MarkBad(std::size_t index) { segments_[index].state = SegmentState::kBad; }
  // Splits a segment of size >= 2 into halves; the first gets size / 2 (rounded down).
  void Split(std::size_t index);

  const std::vector<Segment>& segments() const { return segments_; }

 private:
  std::vector<Segment> segments_;
};

}  // namespace halfcast::search

#endif  // HALFCAST_SEARCH_SEGMENTS_H_
