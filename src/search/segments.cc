#include "search/segments.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace halfcast {

std::string FormatSegments(const std::vector<Segment>& segments) {
  std::string text = "[";
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) text += ", ";
    const Segment& segment = segments[i];
    switch (segment.state) {
      case SegmentState::kGood:
        absl::StrAppend(&text, "*", segment.size, "*");
        break;
      case SegmentState::kBad:
        absl::StrAppend(&text, "(", segment.size, ")");
        break;
      case SegmentState::kUntried:
        absl::StrAppend(&text, segment.size);
        break;
    }
  }
  text += "]";
  return text;
}

namespace search {

SegmentList::SegmentList(std::size_t node_count) {
  if (node_count > 0) segments_.push_back({0, node_count, SegmentState::kUntried});
}

std::optional<std::size_t> SegmentList::Largest() const {
  std::optional<std::size_t> largest;
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    if (segments_[i].state != SegmentState::kUntried) continue;
    if (!largest || segments_[i].size > segments_[*largest].size) largest = i;
  }
  return largest;
}

std::vector<std::size_t> SegmentList::BlockedPositions(std::optional<std::size_t> tried) const {
  std::vector<std::size_t> blocked;
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    const Segment& segment = segments_[i];
    if (segment.state == SegmentState::kGood || (tried && *tried == i)) continue;
    for (std::size_t p = segment.begin; p < segment.begin + segment.size; ++p) blocked.push_back(p);
  }
  return blocked;
}

void SegmentList::Split(std::size_t index) {
  Segment& first = segments_[index];
  const std::size_t first_size = first.size / 2;
  const Segment second{first.begin + first_size, first.size - first_size, SegmentState::kUntried};
  first.size = first_size;
  segments_.insert(segments_.begin() + static_cast<std::ptrdiff_t>(index) + 1, second);
}

}  // namespace search
}  // namespace halfcast
