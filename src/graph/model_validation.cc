#include "graph/model_validation.h"

#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/checked_math.h"
#include "common/status_macros.h"
#include "graph/graph_index.h"

namespace halfcast::graph {
namespace {

// Bits per element of each TensorProto element type, including those newer than onnx 1.12's
// enum (float8: 17-20, 4-bit: 21-23, float8e8m0: 24); 0 for strings, -1 for no known type.
int ElementBits(int32_t type) {
  switch (type) {
    case onnx::TensorProto::FLOAT:
    case onnx::TensorProto::INT32:
    case onnx::TensorProto::UINT32:
      return 32;
    case onnx::TensorProto::DOUBLE:
    case onnx::TensorProto::INT64:
    case onnx::TensorProto::UINT64:
    case onnx::TensorProto::COMPLEX64:
      return 64;
    case onnx::TensorProto::COMPLEX128:
      return 128;
    case onnx::TensorProto::FLOAT16:
    case onnx::TensorProto::BFLOAT16:
    case onnx::TensorProto::INT16:
    case onnx::TensorProto::UINT16:
      return 16;
    case onnx::TensorProto::INT8:
    case onnx::TensorProto::UINT8:
    case onnx::TensorProto::BOOL:
    case 17: case 18: case 19: case 20: case 24:
      return 8;
    case 21: case 22: case 23:
      return 4;
    case onnx::TensorProto::STRING:
      return 0;
    default:
      return -1;
  }
}

// How many values the typed field a tensor of `type` stores its data in holds (ONNX's
// TensorProto comments say which field each type uses), or nullopt for raw-only types.
std::optional<int64_t> TypedValues(const onnx::TensorProto& t) {
  switch (t.data_type()) {
    case onnx::TensorProto::FLOAT:
      return t.float_data_size();
    case onnx::TensorProto::COMPLEX64:
      return t.float_data_size() / 2;
    case onnx::TensorProto::DOUBLE:
      return t.double_data_size();
    case onnx::TensorProto::COMPLEX128:
      return t.double_data_size() / 2;
    case onnx::TensorProto::INT64:
      return t.int64_data_size();
    case onnx::TensorProto::UINT32:
    case onnx::TensorProto::UINT64:
      return t.uint64_data_size();
    case onnx::TensorProto::STRING:
      return t.string_data_size();
    case 21: case 22: case 23:  // two 4-bit values per int32_data entry
      return static_cast<int64_t>(t.int32_data_size()) * 2;
    default:
      return t.int32_data_size();
  }
}

std::string DimsString(const onnx::TensorProto& t) {
  return absl::StrCat("[", absl::StrJoin(t.dims(), ", "), "]");
}

// What is wrong with a tensor, as the rest of a sentence that starts with its name (" has ...");
// empty when nothing is.
std::string TensorProblem(const onnx::TensorProto& t) {
  const int bits = ElementBits(t.data_type());
  if (t.data_type() == onnx::TensorProto::UNDEFINED || bits < 0) {
    return absl::StrCat(" has element type ", t.data_type(), ", which is no element type");
  }
  const std::optional<int64_t> count = CheckedElementProduct(t.dims());
  if (!count.has_value()) {
    for (int64_t d : t.dims()) {
      if (d < 0) return absl::StrCat(" has a negative dimension: dims ", DimsString(t));
    }
    return absl::StrCat(" has dims ", DimsString(t), ", whose element count overflows");
  }
  const std::optional<int64_t> bytes = CheckedByteSize(*count, bits);
  if (!bytes.has_value()) {
    return absl::StrCat(" has dims ", DimsString(t), ", whose byte size overflows");
  }
  if (t.data_location() == onnx::TensorProto::EXTERNAL) return std::string();
  if (t.has_raw_data() && bits > 0) {
    if (static_cast<int64_t>(t.raw_data().size()) == *bytes) return std::string();
    return absl::StrCat(" holds ", t.raw_data().size(), " bytes of raw data but its dims ",
                        DimsString(t), " need ", *bytes);
  }
  const int64_t have = TypedValues(t).value_or(0);
  // 4-bit types pack pairs, so an odd count leaves half an entry unused.
  const bool agrees = bits == 4 ? (have == *count || have == *count + 1) : have == *count;
  if (agrees) return std::string();
  return absl::StrCat(" holds ", have, " values but its dims ", DimsString(t), " need ", *count);
}

class Validator {
 public:
  // `depth` counts the bodies enclosing `graph` (0 for the main graph). Labels for errors are
  // built only when there is one: graphs have hundreds of thousands of nodes and tensors.
  absl::Status Graph(const onnx::GraphProto& graph, const std::string& path, int depth = 0) {
    if (depth > kMaxSubgraphDepth) {
      return absl::InvalidArgumentError(absl::StrCat(
          "subgraphs are nested more than ", kMaxSubgraphDepth, " deep (at '",
          path.substr(0, 200), path.size() > 200 ? "...'" : "'",
          "); halfcast refuses deeper nesting rather than risk its stack"));
    }
    const std::string where = path.empty() ? "" : absl::StrCat(" in subgraph '", path, "'");
    absl::flat_hash_map<absl::string_view, int32_t> input_types;
    for (const auto& v : graph.input()) {
      if (v.type().has_tensor_type()) input_types[v.name()] = v.type().tensor_type().elem_type();
    }
    for (const onnx::TensorProto& t : graph.initializer()) {
      if (std::string problem = TensorProblem(t); !problem.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("initializer '", t.name(), "'", where, problem));
      }
      auto input = input_types.find(t.name());
      if (input != input_types.end() && input->second != 0 && input->second != t.data_type()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "initializer '", t.name(), "'", where, " (element type ", t.data_type(),
            ") shadows the graph input of that name, declared with element type ",
            input->second));
      }
    }
    for (const onnx::SparseTensorProto& t : graph.sparse_initializer()) {
      HALFCAST_RETURN_IF_ERROR(
          Sparse(t, [&] { return absl::StrCat("sparse initializer '", t.values().name(), "'",
                                              where); }));
    }
    for (int n = 0; n < graph.node_size(); ++n) {
      const onnx::NodeProto& node = graph.node(n);
      auto label = [&] { return absl::StrCat("node '", NodeLabel(node, n), "'", where); };
      if (node.op_type().empty()) {
        return absl::InvalidArgumentError(absl::StrCat(label(), " has no op type"));
      }
      for (const onnx::AttributeProto& attr : node.attribute()) {
        auto what = [&] { return absl::StrCat("attribute '", attr.name(), "' of ", label()); };
        if (node.op_type() == "Cast" && attr.name() == "to" &&
            (attr.i() == onnx::TensorProto::UNDEFINED ||
             ElementBits(static_cast<int32_t>(attr.i())) < 0)) {
          return absl::InvalidArgumentError(
              absl::StrCat(what(), " is ", attr.i(), ", which is no element type"));
        }
        if (attr.has_t()) HALFCAST_RETURN_IF_ERROR(Tensor(attr.t(), what));
        for (const auto& t : attr.tensors()) HALFCAST_RETURN_IF_ERROR(Tensor(t, what));
        if (attr.has_sparse_tensor()) HALFCAST_RETURN_IF_ERROR(Sparse(attr.sparse_tensor(), what));
        if (!attr.has_g() && attr.graphs_size() == 0) continue;
        const std::string sub = path.empty() ? NodeLabel(node, n)
                                             : absl::StrCat(path, "/", NodeLabel(node, n));
        if (attr.has_g()) {
          HALFCAST_RETURN_IF_ERROR(Graph(attr.g(), absl::StrCat(sub, "/", attr.name()), depth + 1));
        }
        for (int g = 0; g < attr.graphs_size(); ++g) {
          HALFCAST_RETURN_IF_ERROR(
              Graph(attr.graphs(g), absl::StrCat(sub, "/", attr.name(), "[", g, "]"), depth + 1));
        }
      }
    }
    return absl::OkStatus();
  }

 private:
  template <typename Label>
  static absl::Status Tensor(const onnx::TensorProto& t, const Label& label) {
    std::string problem = TensorProblem(t);
    if (problem.empty()) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(label(), problem));
  }
  template <typename Label>
  static absl::Status Sparse(const onnx::SparseTensorProto& t, const Label& label) {
    HALFCAST_RETURN_IF_ERROR(
        Tensor(t.values(), [&] { return absl::StrCat("the values of ", label()); }));
    return Tensor(t.indices(), [&] { return absl::StrCat("the indices of ", label()); });
  }
};

}  // namespace

absl::Status ValidateTensor(const onnx::TensorProto& t, const std::string& what) {
  std::string problem = TensorProblem(t);
  if (problem.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(what, problem));
}

absl::Status ValidateModel(const onnx::ModelProto& model) {
  if (model.ir_version() < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("the model's ir_version is ", model.ir_version(), "; it must be 1 or more"));
  }
  return Validator().Graph(model.graph(), "");
}

}  // namespace halfcast::graph
