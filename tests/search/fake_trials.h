// A Trials double for strategy tests: a candidate set validates when it blocks every node of
// `required` (or when `accept` says so), with node scores the test chooses.
#ifndef HALFCAST_TESTS_SEARCH_FAKE_TRIALS_H_
#define HALFCAST_TESTS_SEARCH_FAKE_TRIALS_H_

#include <algorithm>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "search/strategy.h"

namespace halfcast::search::testing {

class FakeTrials : public Trials {
 public:
  FakeTrials(std::size_t count, std::set<std::size_t> required)
      : count_(count), required_(std::move(required)), scores_(count, 0.0) {}

  std::size_t candidate_count() const override { return count_; }
  std::vector<std::size_t> RangeSeeds() const override { return seeds_; }

  absl::StatusOr<Attempt> Try(const std::vector<std::size_t>& blocked,
                              bool want_node_scores) override {
    if (limit_ > 0 && static_cast<int>(tried_.size()) >= limit_) {
      return absl::ResourceExhaustedError("limit");
    }
    tried_.push_back(blocked);
    Attempt attempt;
    attempt.valid = Accepts(blocked);
    if (want_node_scores) attempt.node_scores = scores_;
    return attempt;
  }

  absl::StatusOr<bool> Verify(const std::vector<std::size_t>& blocked, bool may_reuse) override {
    verified_.push_back(blocked);
    return Accepts(blocked);
  }

  absl::Status Report(const std::vector<Segment>& segments) override {
    reports_.push_back(FormatSegments(segments));
    if (cancel_after_ > 0 && static_cast<int>(reports_.size()) >= cancel_after_) {
      return absl::CancelledError("stop");
    }
    return absl::OkStatus();
  }

  absl::Status NothingValidates() const override {
    return absl::FailedPreconditionError("nothing validates");
  }

  bool Accepts(const std::vector<std::size_t>& blocked) const {
    if (accept_) return accept_(blocked);
    return std::all_of(required_.begin(), required_.end(), [&](std::size_t r) {
      return std::find(blocked.begin(), blocked.end(), r) != blocked.end();
    });
  }

  std::size_t count_;
  std::set<std::size_t> required_;
  std::vector<double> scores_;
  std::vector<std::size_t> seeds_;
  std::function<bool(const std::vector<std::size_t>&)> accept_;
  int limit_ = 0;
  int cancel_after_ = 0;
  std::vector<std::vector<std::size_t>> tried_;
  std::vector<std::vector<std::size_t>> verified_;
  std::vector<std::string> reports_;
};

}  // namespace halfcast::search::testing

#endif  // HALFCAST_TESTS_SEARCH_FAKE_TRIALS_H_
