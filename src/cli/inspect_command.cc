// halfcast inspect MODEL: what a model holds, as far as conversion cares (opsets, ops, float
// tensor bytes), without reading its external data.
#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/command.h"
#include "cli/report_json.h"
#include "common/json.h"
#include "common/status_macros.h"
#include "halfcast/model_io.h"
#include "halfcast/tensor.h"

namespace halfcast::cli {
namespace {

struct TensorTotals {
  int64_t count = 0;
  uint64_t bytes = 0;
};

struct ModelStats {
  int64_t top_level_nodes = 0;
  int64_t subgraph_nodes = 0;
  int64_t subgraphs = 0;
  std::map<std::string, int64_t> ops;  // "domain::Op" or "Op" for the default domain
  std::map<DataType, TensorTotals> tensors;
  int64_t external_tensors = 0;
};

// Bytes from the dims, so tensors stored as external data count without being read.
void CountTensor(const onnx::TensorProto& tensor, ModelStats* stats) {
  const DataType type = static_cast<DataType>(tensor.data_type());
  uint64_t elements = 1;
  for (int64_t dim : tensor.dims()) elements *= static_cast<uint64_t>(std::max<int64_t>(dim, 0));
  TensorTotals& totals = stats->tensors[type];
  ++totals.count;
  totals.bytes += elements * ElementSize(type);
  if (tensor.data_location() == onnx::TensorProto::EXTERNAL) ++stats->external_tensors;
}

void CountGraph(const onnx::GraphProto& graph, bool top_level, ModelStats* stats) {
  for (const onnx::TensorProto& tensor : graph.initializer()) CountTensor(tensor, stats);
  for (const onnx::NodeProto& node : graph.node()) {
    ++(top_level ? stats->top_level_nodes : stats->subgraph_nodes);
    const bool default_domain = node.domain().empty() || node.domain() == "ai.onnx";
    ++stats->ops[default_domain ? node.op_type()
                                : absl::StrCat(node.domain(), "::", node.op_type())];
    for (const onnx::AttributeProto& attribute : node.attribute()) {
      if (attribute.has_t()) CountTensor(attribute.t(), stats);
      for (const onnx::TensorProto& tensor : attribute.tensors()) CountTensor(tensor, stats);
      if (attribute.has_g()) {
        ++stats->subgraphs;
        CountGraph(attribute.g(), false, stats);
      }
      for (const onnx::GraphProto& body : attribute.graphs()) {
        ++stats->subgraphs;
        CountGraph(body, false, stats);
      }
    }
  }
}

// "float[1,?,N]"; a sequence or optional as ONNX writes them around that: "seq(float[?])".
std::string TypeString(const onnx::TypeProto& type) {
  if (type.has_sequence_type()) {
    return absl::StrCat("seq(", TypeString(type.sequence_type().elem_type()), ")");
  }
  if (type.has_optional_type()) {
    return absl::StrCat("optional(", TypeString(type.optional_type().elem_type()), ")");
  }
  if (!type.has_tensor_type()) return "(not a tensor)";
  const onnx::TypeProto_Tensor& tensor = type.tensor_type();
  std::string text = DataTypeName(static_cast<DataType>(tensor.elem_type()));
  if (!tensor.has_shape()) return text;
  std::vector<std::string> dims;
  for (const onnx::TensorShapeProto_Dimension& dim : tensor.shape().dim()) {
    dims.push_back(dim.has_dim_value() ? absl::StrCat(dim.dim_value())
                                       : (dim.dim_param().empty() ? "?" : dim.dim_param()));
  }
  return absl::StrCat(text, "[", absl::StrJoin(dims, ","), "]");
}

std::string ValuesLine(const google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>& values) {
  std::vector<std::string> items;
  for (const onnx::ValueInfoProto& value : values) {
    items.push_back(absl::StrCat(value.name(), " ", TypeString(value.type())));
  }
  return absl::StrJoin(items, ", ");
}

// Most frequent ops first; ties by name so the output is stable.
std::vector<std::pair<std::string, int64_t>> OpsByCount(const ModelStats& stats) {
  std::vector<std::pair<std::string, int64_t>> ops(stats.ops.begin(), stats.ops.end());
  std::stable_sort(ops.begin(), ops.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  return ops;
}

// {"name", "type", "shape"}: type null when not a tensor, shape null when unknown, each dim a
// number, a symbolic name or null.
std::string ValuesJson(const google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>& values) {
  std::vector<std::string> items;
  for (const onnx::ValueInfoProto& value : values) {
    std::string item = absl::StrCat("{\"name\":", JsonString(value.name()), ",\"type\":");
    const onnx::TypeProto& type = value.type();
    if (!type.has_tensor_type()) {
      absl::StrAppend(&item, "null,\"shape\":null}");
      items.push_back(std::move(item));
      continue;
    }
    const onnx::TypeProto_Tensor& tensor = type.tensor_type();
    absl::StrAppend(&item, JsonString(DataTypeName(static_cast<DataType>(tensor.elem_type()))),
                    ",\"shape\":");
    if (!tensor.has_shape()) {
      absl::StrAppend(&item, "null}");
    } else {
      std::vector<std::string> dims;
      for (const onnx::TensorShapeProto_Dimension& dim : tensor.shape().dim()) {
        dims.push_back(dim.has_dim_value()
                           ? absl::StrCat(dim.dim_value())
                           : (dim.dim_param().empty() ? "null" : JsonString(dim.dim_param())));
      }
      absl::StrAppend(&item, "[", absl::StrJoin(dims, ","), "]}");
    }
    items.push_back(std::move(item));
  }
  return absl::StrCat("[", absl::StrJoin(items, ","), "]");
}

// docs/cli.md "JSON output" describes this object.
std::string InspectJson(const std::string& path, const onnx::ModelProto& model,
                        const ModelStats& stats) {
  std::string json = absl::StrCat(
      JsonHeader("inspect"), ",\"path\":", JsonString(path), ",\"ir_version\":", model.ir_version(),
      ",\"producer_name\":", JsonString(model.producer_name()),
      ",\"producer_version\":", JsonString(model.producer_version()), ",\"opsets\":[");
  for (int i = 0; i < model.opset_import_size(); ++i) {
    const onnx::OperatorSetIdProto& opset = model.opset_import(i);
    absl::StrAppend(&json, i > 0 ? "," : "",
                    "{\"domain\":", JsonString(opset.domain().empty() ? "ai.onnx" : opset.domain()),
                    ",\"version\":", opset.version(), "}");
  }
  absl::StrAppend(&json, "],\"inputs\":", ValuesJson(model.graph().input()),
                  ",\"outputs\":", ValuesJson(model.graph().output()),
                  ",\"nodes\":{\"total\":", stats.top_level_nodes + stats.subgraph_nodes,
                  ",\"main_graph\":", stats.top_level_nodes,
                  ",\"in_subgraphs\":", stats.subgraph_nodes, ",\"subgraphs\":", stats.subgraphs,
                  "},\"ops\":[");
  bool first = true;
  for (const auto& [op, count] : OpsByCount(stats)) {
    absl::StrAppend(&json, first ? "" : ",", "{\"op\":", JsonString(op), ",\"count\":", count, "}");
    first = false;
  }
  absl::StrAppend(&json, "],\"tensors\":[");
  first = true;
  for (const auto& [type, totals] : stats.tensors) {
    absl::StrAppend(&json, first ? "" : ",", "{\"type\":", JsonString(DataTypeName(type)),
                    ",\"count\":", totals.count, ",\"bytes\":", totals.bytes, "}");
    first = false;
  }
  absl::StrAppend(&json, "],\"external_tensors\":", stats.external_tensors, "}");
  return json;
}

}  // namespace

const CommandSpec kInspectSpec = {
    "inspect",
    "MODEL",
    "Print a model's IR version, opsets, inputs and outputs, node counts by op and tensor bytes.",
    {{"json", FlagKind::kSwitch, "", "print one JSON object instead (see docs/cli.md)"}},
    1,
    1,
};

absl::StatusOr<int> InspectCommand(const ParsedArgs& args, std::ostream& out, std::ostream& err) {
  const std::string& path = args.positionals()[0];
  LoadOptions load;
  load.load_external_data = false;
  HALFCAST_ASSIGN_OR_RETURN(const onnx::ModelProto model, LoadModel(path, load));
  ModelStats stats;
  CountGraph(model.graph(), true, &stats);
  if (args.Has("json")) {
    out << InspectJson(path, model, stats) << "\n";
    return kExitOk;
  }

  out << path << "\n";
  out << "  ir_version: " << model.ir_version();
  if (!model.producer_name().empty()) {
    out << ", producer: " << model.producer_name();
    if (!model.producer_version().empty()) out << " " << model.producer_version();
  }
  out << "\n";
  std::vector<std::string> opsets;
  for (const onnx::OperatorSetIdProto& opset : model.opset_import()) {
    opsets.push_back(
        absl::StrCat(opset.domain().empty() ? "ai.onnx" : opset.domain(), " ", opset.version()));
  }
  out << "  opsets: " << absl::StrJoin(opsets, ", ") << "\n";
  out << "  inputs: " << ValuesLine(model.graph().input()) << "\n";
  out << "  outputs: " << ValuesLine(model.graph().output()) << "\n";
  out << "  nodes: " << stats.top_level_nodes + stats.subgraph_nodes << " ("
      << stats.top_level_nodes << " in the main graph, " << stats.subgraph_nodes << " in "
      << stats.subgraphs << " subgraphs)\n";
  std::vector<std::string> op_items;
  for (const auto& [op, count] : OpsByCount(stats))
    op_items.push_back(absl::StrCat(op, " ", count));
  out << "    " << absl::StrJoin(op_items, ", ") << "\n";
  out << "  tensors (initializers, Constant and attribute tensors):\n";
  for (const auto& [type, totals] : stats.tensors) {
    out << "    " << DataTypeName(type) << ": " << totals.count << " tensors, "
        << FormatBytes(totals.bytes) << "\n";
  }
  if (stats.external_tensors > 0) {
    out << "  external data: " << stats.external_tensors << " tensors\n";
  }
  return kExitOk;
}

}  // namespace halfcast::cli
