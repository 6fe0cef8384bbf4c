// The Python tool's search (onnxconverter-common auto_mixed_precision.py), step for step: the
// same segments, the same order of attempts, the same final validation.
#include "common/status_macros.h"
#include "search/segments.h"
#include "search/strategy.h"

namespace halfcast::search {

absl::StatusOr<std::vector<std::size_t>> RunBisect(Trials& trials) {
  SegmentList segments(trials.candidate_count());
  while (std::optional<std::size_t> largest = segments.Largest()) {
    const std::size_t index = *largest;
    HALFCAST_ASSIGN_OR_RETURN(Attempt attempt,
                              trials.Try(segments.BlockedPositions(index), false));
    if (attempt.valid) {
      segments.MarkGood(index);
    } else if (segments.segments()[index].size == 1) {
      segments.MarkBad(index);
    } else {
      segments.Split(index);
    }
    HALFCAST_RETURN_IF_ERROR(trials.Report(segments.segments()));
  }
  std::vector<std::size_t> blocked = segments.BlockedPositions(std::nullopt);
  // The Python tool always re-runs the final model, even when the last attempt was this one.
  HALFCAST_ASSIGN_OR_RETURN(bool valid, trials.Verify(blocked, false));
  if (!valid) return trials.NothingValidates();
  HALFCAST_RETURN_IF_ERROR(trials.Report(segments.segments()));
  return blocked;
}

}  // namespace halfcast::search
