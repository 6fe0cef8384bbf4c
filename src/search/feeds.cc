#include "search/feeds.h"

#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "search/tensor_values.h"

namespace halfcast::search {
namespace {

std::string DeclaredShapeText(const onnx::TensorShapeProto& shape) {
  std::vector<std::string> dims;
  for (const auto& dim : shape.dim()) {
    dims.push_back(dim.has_dim_value() ? absl::StrCat(dim.dim_value())
                                       : (dim.dim_param().empty() ? "?" : dim.dim_param()));
  }
  return absl::StrCat("[", absl::StrJoin(dims, ","), "]");
}

}  // namespace

absl::Status CheckFeeds(const onnx::GraphProto& graph, const std::vector<TensorMap>& feeds) {
  if (feeds.empty()) {
    return absl::InvalidArgumentError("mixed precision needs at least one set of input feeds");
  }
  std::set<std::string> initializers;
  for (const auto& init : graph.initializer()) initializers.insert(init.name());
  std::set<std::string> inputs;
  for (const auto& input : graph.input()) inputs.insert(input.name());
  for (std::size_t f = 0; f < feeds.size(); ++f) {
    const std::string where = feeds.size() > 1 ? absl::StrCat(" (feed set ", f, ")") : "";
    for (const auto& [name, tensor] : feeds[f]) {
      if (inputs.count(name) == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("feed '", name, "'", where, " is not an input of the model"));
      }
    }
    for (const onnx::ValueInfoProto& input : graph.input()) {
      auto it = feeds[f].find(input.name());
      if (it == feeds[f].end()) {
        if (initializers.count(input.name())) continue;
        return absl::InvalidArgumentError(
            absl::StrCat("feeds", where, " miss the model input '", input.name(), "'"));
      }
      if (!input.type().has_tensor_type()) continue;
      const onnx::TypeProto::Tensor& declared = input.type().tensor_type();
      const Tensor& tensor = it->second;
      if (declared.elem_type() != 0 && declared.elem_type() != static_cast<int32_t>(tensor.type())) {
        return absl::InvalidArgumentError(absl::StrCat(
            "feed '", input.name(), "'", where, " is ", DataTypeName(tensor.type()),
            ", the model input is ",
            DataTypeName(static_cast<DataType>(declared.elem_type()))));
      }
      if (!declared.has_shape()) continue;
      const auto& dims = declared.shape().dim();
      bool matches = dims.size() == static_cast<int>(tensor.shape().size());
      for (int d = 0; matches && d < dims.size(); ++d) {
        if (dims[d].has_dim_value() && dims[d].dim_value() != tensor.shape()[d]) matches = false;
      }
      if (!matches) {
        return absl::InvalidArgumentError(absl::StrCat(
            "feed '", input.name(), "'", where, " has shape ", ShapeText(tensor.shape()),
            ", the model input is ", DeclaredShapeText(declared.shape())));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace halfcast::search
