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
  AppendJsonArray(out, items,
                  [](std::string* o, const std::string& item) { AppendJsonString(o, item); });
}

}  // namespace

const std::vector<std::string>& DefaultOpBlockList() {
  // clang-format off
  static const std::vector<std::string>* const kList = new std::vector<std::string>{
      "ArrayFeatureExtractor", "Binarizer", "CastMap", "CategoryMapper", "DictVectorizer",
      "FeatureVectorizer", "Imputer", "LabelEncoder", "LinearClassifier", "LinearRegressor",
      "Normalizer", "OneHotEncoder", "RandomUniformLike", "SVMClassifier", "SVMRegressor",
      "Scaler", "TreeEnsembleClassifier", "TreeEnsembleRegressor", "ZipMap", "NonMaxSuppression",
      "TopK", "RoiAlign", "Resize", "Range", "CumSum", "Min", "Max", "Upsample"};
  // clang-format on
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
  std::string out;
  {
    JsonObjectWriter json(&out);
    json.Int("nodes_converted", report.nodes_converted);
    AppendJsonArray(json.Member("kept_nodes"), report.kept_nodes,
                    [](std::string* o, const KeptNode& k) {
                      JsonObjectWriter(o)
                          .String("graph", k.graph)
                          .Int("index", static_cast<int64_t>(k.index))
                          .String("name", k.name)
                          .String("op_type", k.op_type)
                          .String("reason", KeepReasonName(k.reason))
                          .String("detail", k.detail)
                          .String("location_graph", k.location_graph);
                    });
    AppendJsonArray(json.Member("float32_inputs"), report.float32_inputs,
                    [](std::string* o, const KeptInput& k) {
                      JsonObjectWriter(o)
                          .String("graph", k.graph)
                          .Int("index", static_cast<int64_t>(k.index))
                          .String("name", k.name)
                          .String("op_type", k.op_type)
                          .Int("input", k.input)
                          .String("value", k.value);
                    });
    json.Int("casts_inserted", report.casts_inserted)
        .Int("casts_removed", report.casts_removed)
        .Int("initializers_converted", report.initializers_converted);
    AppendStringArray(json.Member("shared_initializers"), report.shared_initializers);
    AppendJsonArray(json.Member("clipped"), report.clipped,
                    [](std::string* o, const ClippedTensor& c) {
                      JsonObjectWriter(o)
                          .String("name", c.name)
                          .Int("below_min", c.below_min)
                          .Int("above_max", c.above_max);
                    });
    absl::StrAppend(json.Member("bytes_before"), report.bytes_before);
    absl::StrAppend(json.Member("bytes_after"), report.bytes_after);
    AppendStringArray(json.Member("notes"), report.notes);
    AppendJsonArray(json.Member("op_sources"), report.op_sources,
                    [](std::string* o, const OpSourceCount& op) {
                      JsonObjectWriter(o)
                          .String("domain", op.domain)
                          .String("op_type", op.op_type)
                          .Int("since_version", op.since_version)
                          .String("source", op.source)
                          .Int("nodes", op.nodes);
                    });
    JsonObjectWriter(json.Member("matmul_flops"))
        .Int("total", report.matmul_flops.total)
        .Int("in_16bit", report.matmul_flops.in_16bit)
        .Int("nodes_unknown_shape", report.matmul_flops.nodes_unknown_shape);
    AppendJsonArray(json.Member("unmatched"), report.unmatched, [](std::string* o, const auto& u) {
      JsonObjectWriter(o).String("list", u.list).String("entry", u.entry);
    });
  }
  return out;
}

}  // namespace halfcast
