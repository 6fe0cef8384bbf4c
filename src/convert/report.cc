// ConvertReport helpers and the default op block list.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/json.h"
#include "halfcast/convert.h"
#include "halfcast/options.h"

namespace halfcast {
namespace {

void AppendStringArray(std::string* out, const std::vector<std::string>& items) {
  out->push_back('[');
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out->push_back(',');
    AppendJsonString(out, items[i]);
  }
  out->push_back(']');
}

}  // namespace

const std::vector<std::string>& DefaultOpBlockList() {
  static const std::vector<std::string>* const kList = new std::vector<std::string>{
      "ArrayFeatureExtractor", "Binarizer", "CastMap", "CategoryMapper", "DictVectorizer",
      "FeatureVectorizer", "Imputer", "LabelEncoder", "LinearClassifier", "LinearRegressor",
      "Normalizer", "OneHotEncoder", "RandomUniformLike", "SVMClassifier", "SVMRegressor",
      "Scaler", "TreeEnsembleClassifier", "TreeEnsembleRegressor", "ZipMap", "NonMaxSuppression",
      "TopK", "RoiAlign", "Resize", "Range", "CumSum", "Min", "Max", "Upsample"};
  return *kList;
}

const char* KeepReasonName(KeepReason reason) {
  switch (reason) {
    case KeepReason::kOpBlockList:
      return "op_block_list";
    case KeepReason::kNodeBlockList:
      return "node_block_list";
    case KeepReason::kSchema:
      return "schema";
    case KeepReason::kModelFunction:
      return "model_function";
    case KeepReason::kSearch:
      return "search";
    case KeepReason::kUnknownOp:
      return "unknown_op";
  }
  return "unknown";
}

std::string ReportToJson(const ConvertReport& report) {
  std::string out = "{";
  absl::StrAppend(&out, "\"nodes_converted\":", report.nodes_converted, ",\"kept_nodes\":[");
  for (size_t i = 0; i < report.kept_nodes.size(); ++i) {
    const KeptNode& k = report.kept_nodes[i];
    if (i) out.push_back(',');
    out.append("{\"graph\":");
    AppendJsonString(&out, k.graph);
    absl::StrAppend(&out, ",\"index\":", k.index, ",\"name\":");
    AppendJsonString(&out, k.name);
    out.append(",\"op_type\":");
    AppendJsonString(&out, k.op_type);
    out.append(",\"reason\":");
    AppendJsonString(&out, KeepReasonName(k.reason));
    out.append(",\"detail\":");
    AppendJsonString(&out, k.detail);
    out.append(",\"location_graph\":");
    AppendJsonString(&out, k.location_graph);
    out.push_back('}');
  }
  out.append("],\"float32_inputs\":[");
  for (size_t i = 0; i < report.float32_inputs.size(); ++i) {
    const KeptInput& k = report.float32_inputs[i];
    if (i) out.push_back(',');
    out.append("{\"graph\":");
    AppendJsonString(&out, k.graph);
    absl::StrAppend(&out, ",\"index\":", k.index, ",\"name\":");
    AppendJsonString(&out, k.name);
    out.append(",\"op_type\":");
    AppendJsonString(&out, k.op_type);
    absl::StrAppend(&out, ",\"input\":", k.input, ",\"value\":");
    AppendJsonString(&out, k.value);
    out.push_back('}');
  }
  absl::StrAppend(&out, "],\"casts_inserted\":", report.casts_inserted,
                  ",\"casts_removed\":", report.casts_removed,
                  ",\"initializers_converted\":", report.initializers_converted,
                  ",\"shared_initializers\":");
  AppendStringArray(&out, report.shared_initializers);
  out.append(",\"clipped\":[");
  for (size_t i = 0; i < report.clipped.size(); ++i) {
    const ClippedTensor& c = report.clipped[i];
    if (i) out.push_back(',');
    out.append("{\"name\":");
    AppendJsonString(&out, c.name);
    absl::StrAppend(&out, ",\"below_min\":", c.below_min, ",\"above_max\":", c.above_max, "}");
  }
  absl::StrAppend(&out, "],\"bytes_before\":", report.bytes_before,
                  ",\"bytes_after\":", report.bytes_after, ",\"notes\":");
  AppendStringArray(&out, report.notes);
  out.append(",\"op_sources\":[");
  for (size_t i = 0; i < report.op_sources.size(); ++i) {
    const OpSourceCount& op = report.op_sources[i];
    if (i) out.push_back(',');
    out.append("{\"domain\":");
    AppendJsonString(&out, op.domain);
    out.append(",\"op_type\":");
    AppendJsonString(&out, op.op_type);
    absl::StrAppend(&out, ",\"since_version\":", op.since_version, ",\"source\":");
    AppendJsonString(&out, op.source);
    absl::StrAppend(&out, ",\"nodes\":", op.nodes, "}");
  }
  absl::StrAppend(&out, "],\"matmul_flops\":{\"total\":", report.matmul_flops.total,
                  ",\"in_16bit\":", report.matmul_flops.in_16bit,
                  ",\"nodes_unknown_shape\":", report.matmul_flops.nodes_unknown_shape, "}");
  out.append(",\"unmatched\":[");
  for (size_t i = 0; i < report.unmatched.size(); ++i) {
    if (i) out.push_back(',');
    out.append("{\"list\":");
    AppendJsonString(&out, report.unmatched[i].list);
    out.append(",\"entry\":");
    AppendJsonString(&out, report.unmatched[i].entry);
    out.push_back('}');
  }
  out.append("]}");
  return out;
}

}  // namespace halfcast
