// The C ABI: mixed-precision progress and conversion reports.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "capi/c_api_internal.h"
#include "common/status_macros.h"
#include "halfcast/convert.h"
#include "halfcast/mixed_precision.h"

extern "C" {

// ----- progress -----

int64_t halfcast_progress_evaluations(const halfcast_progress* progress) {
  return progress ? progress->progress->evaluations : 0;
}

double halfcast_progress_elapsed_seconds(const halfcast_progress* progress) {
  return progress ? progress->progress->elapsed_seconds : 0;
}

size_t halfcast_progress_segment_count(const halfcast_progress* progress) {
  return progress ? progress->progress->segments.size() : 0;
}

int halfcast_progress_segment(const halfcast_progress* progress, size_t index, size_t* begin,
                              size_t* size, halfcast_segment_state* state) {
  if (progress == nullptr || index >= progress->progress->segments.size()) return 0;
  const halfcast::Segment& segment = progress->progress->segments[index];
  if (begin) *begin = segment.begin;
  if (size) *size = segment.size;
  if (state) {
    *state = segment.state == halfcast::SegmentState::kGood  ? HALFCAST_SEGMENT_GOOD
             : segment.state == halfcast::SegmentState::kBad ? HALFCAST_SEGMENT_BAD
                                                             : HALFCAST_SEGMENT_UNTRIED;
  }
  return 1;
}

const char* halfcast_progress_text(const halfcast_progress* progress) {
  return progress ? progress->text.c_str() : "";
}

// ----- reports -----

halfcast_status* halfcast_report_get(const halfcast_report* report, halfcast_report_value value,
                                     int64_t* out) {
  HALFCAST_C_REQUIRE(report);
  HALFCAST_C_REQUIRE(out);
  return Guard([&] {
    const halfcast::ConvertReport& r = report->report.conversion;
    int64_t result = 0;
    switch (value) {
      case HALFCAST_REPORT_NODES_CONVERTED:
        result = r.nodes_converted;
        break;
      case HALFCAST_REPORT_NODES_KEPT:
        result = static_cast<int64_t>(r.kept_nodes.size());
        break;
      case HALFCAST_REPORT_CASTS_INSERTED:
        result = r.casts_inserted;
        break;
      case HALFCAST_REPORT_CASTS_REMOVED:
        result = r.casts_removed;
        break;
      case HALFCAST_REPORT_INITIALIZERS_CONVERTED:
        result = r.initializers_converted;
        break;
      case HALFCAST_REPORT_VALUES_CLIPPED:
        for (const halfcast::ClippedTensor& c : r.clipped) result += c.below_min + c.above_max;
        break;
      case HALFCAST_REPORT_BYTES_BEFORE:
        result = static_cast<int64_t>(r.bytes_before);
        break;
      case HALFCAST_REPORT_BYTES_AFTER:
        result = static_cast<int64_t>(r.bytes_after);
        break;
      case HALFCAST_REPORT_FLOAT32_INPUTS:
        result = static_cast<int64_t>(r.float32_inputs.size());
        break;
      case HALFCAST_REPORT_EVALUATIONS:
        result = report->report.evaluations;
        break;
      case HALFCAST_REPORT_MATMUL_FLOPS_TOTAL:
        result = r.matmul_flops.total;
        break;
      case HALFCAST_REPORT_MATMUL_FLOPS_16BIT:
        result = r.matmul_flops.in_16bit;
        break;
      case HALFCAST_REPORT_PEAK_RETAINED_BYTES:
        result = report->report.peak_retained_bytes;
        break;
      case HALFCAST_REPORT_UNMATCHED:
        result = static_cast<int64_t>(r.unmatched.size());
        break;
      case HALFCAST_REPORT_VALIDATED:
        result = report->report.validated ? 1 : 0;
        break;
      case HALFCAST_REPORT_STOPPED_EARLY:
        result = report->report.stopped.empty() ? 0 : 1;
        break;
      default:
        return absl::InvalidArgumentError(
            absl::StrCat("unknown report value ", static_cast<int>(value)));
    }
    *out = result;
    return absl::OkStatus();
  });
}

halfcast_status* halfcast_report_kept_node(const halfcast_report* report, size_t index,
                                           const char** graph, const char** name,
                                           const char** op_type, const char** reason,
                                           const char** detail) {
  HALFCAST_C_REQUIRE(report);
  return Guard([&] {
    const std::vector<halfcast::KeptNode>& kept = report->report.conversion.kept_nodes;
    if (index >= kept.size()) {
      return absl::OutOfRangeError(
          absl::StrCat("kept node ", index, " of a report with ", kept.size()));
    }
    const halfcast::KeptNode& node = kept[index];
    if (graph) *graph = node.graph.c_str();
    if (name) *name = node.name.c_str();
    if (op_type) *op_type = node.op_type.c_str();
    if (reason) *reason = halfcast::KeepReasonName(node.reason);
    if (detail) *detail = node.detail.c_str();
    return absl::OkStatus();
  });
}

halfcast_status* halfcast_report_unmatched(const halfcast_report* report, size_t index,
                                           const char** list, const char** entry) {
  HALFCAST_C_REQUIRE(report);
  return Guard([&] {
    const std::vector<halfcast::UnmatchedEntry>& unmatched = report->report.conversion.unmatched;
    if (index >= unmatched.size()) {
      return absl::OutOfRangeError(
          absl::StrCat("unmatched entry ", index, " of a report with ", unmatched.size()));
    }
    if (list) *list = unmatched[index].list.c_str();
    if (entry) *entry = unmatched[index].entry.c_str();
    return absl::OkStatus();
  });
}

const char* halfcast_report_stop_reason(const halfcast_report* report) {
  return report ? report->report.stopped.c_str() : "";
}

halfcast_status* halfcast_report_to_json(const halfcast_report* report,
                                         halfcast_buffer** out_json) {
  HALFCAST_C_REQUIRE(report);
  HALFCAST_C_REQUIRE(out_json);
  return Guard([&] {
    *out_json = new halfcast_buffer{report->mixed_precision
                                        ? halfcast::MixedPrecisionReportToJson(report->report)
                                        : halfcast::ReportToJson(report->report.conversion)};
    return absl::OkStatus();
  });
}

void halfcast_report_destroy(halfcast_report* report) { delete report; }

}  // extern "C"
