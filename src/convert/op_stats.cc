#include "convert/op_stats.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace halfcast::convert {
namespace {

// How an op's matrix-product work is estimated: the size of one operand, which for the weight
// of a projection is exactly the multiply-adds per row of the activation.
enum class Operand {
  kInput1,        // MatMul-like: the second operand (B, the weights)
  kKeyTwice,      // attention: scores and weighted sum, each the size of the keys per query row
  kNBitsKN,       // MatMulNBits: attributes K and N
};

const absl::flat_hash_map<std::string, Operand>& MatrixOps() {
  static const auto* const kOps = new absl::flat_hash_map<std::string, Operand>{
      {"\nMatMul", Operand::kInput1},
      {"\nGemm", Operand::kInput1},
      {"\nAttention", Operand::kKeyTwice},
      {"com.microsoft\nFusedMatMul", Operand::kInput1},
      {"com.microsoft\nFusedGemm", Operand::kInput1},
      {"com.microsoft\nAttention", Operand::kInput1},
      {"com.microsoft\nMultiHeadAttention", Operand::kKeyTwice},
      {"com.microsoft\nGroupQueryAttention", Operand::kKeyTwice},
      {"com.microsoft\nPackedAttention", Operand::kInput1},
      {"com.microsoft\nMatMulNBits", Operand::kNBitsKN},
  };
  return *kOps;
}

// Element count of a tensor shape when every dimension is known; -1 otherwise.
int64_t Count(const google::protobuf::RepeatedField<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0 || (d > 0 && n > INT64_MAX / d)) return -1;
    n *= d;
  }
  return n;
}

int64_t Count(const onnx::TypeProto& type) {
  if (!type.has_tensor_type() || !type.tensor_type().has_shape()) return -1;
  int64_t n = 1;
  for (const auto& dim : type.tensor_type().shape().dim()) {
    if (!dim.has_dim_value() || dim.dim_value() < 0) return -1;
    const int64_t d = dim.dim_value();
    if (d > 0 && n > INT64_MAX / d) return -1;
    n *= d;
  }
  return n;
}

// Element counts of the values of one scope whose shapes are fully known.
class ShapeSizes {
 public:
  explicit ShapeSizes(const graph::GraphIndex& index) : index_(index) {}

  int64_t Of(int s, absl::string_view name) {
    const int d = index_.DefiningScope(s, name);
    if (d < 0) return -1;
    const graph::ValueDef* def = index_.LocalDef(d, name);
    if (def->kind == graph::ValueDef::kInitializer) {
      return Count(index_.scope(d).graph->initializer(def->index).dims());
    }
    const auto& declared = Declared(d);
    auto it = declared.find(name);
    return it == declared.end() ? -1 : it->second;
  }

 private:
  const absl::flat_hash_map<std::string, int64_t>& Declared(int s) {
    auto [it, inserted] = declared_.try_emplace(s);
    if (inserted) {
      const onnx::GraphProto& graph = *index_.scope(s).graph;
      for (const auto* list : {&graph.input(), &graph.value_info(), &graph.output()}) {
        for (const onnx::ValueInfoProto& v : *list) {
          const int64_t n = Count(v.type());
          if (n >= 0) it->second.emplace(v.name(), n);
        }
      }
    }
    return it->second;
  }

  const graph::GraphIndex& index_;
  std::map<int, absl::flat_hash_map<std::string, int64_t>> declared_;
};

int64_t IntAttr(const onnx::NodeProto& node, absl::string_view name) {
  for (const auto& attr : node.attribute()) {
    if (attr.name() == name && attr.type() == onnx::AttributeProto::INT) return attr.i();
  }
  return -1;
}

}  // namespace

std::vector<OpSourceCount> CountOpSources(
    const graph::GraphIndex& index, const graph::NodeSchemas& schemas,
    const std::function<bool(const onnx::NodeProto&)>& declared16) {
  // Keyed by views into the nodes' own strings: no allocation per node.
  absl::flat_hash_map<std::pair<absl::string_view, absl::string_view>, OpSourceCount> counts;
  for (int s = 0; s < index.size(); ++s) {
    const onnx::GraphProto& graph = *index.scope(s).graph;
    for (int n = 0; n < index.scope(s).node_count(); ++n) {
      const onnx::NodeProto& node = graph.node(n);
      const absl::string_view domain = ops::CanonicalDomain(node.domain());
      auto [it, inserted] = counts.try_emplace({domain, node.op_type()});
      OpSourceCount& entry = it->second;
      ++entry.nodes;
      if (!inserted) continue;
      const ops::OpInfo& info = schemas.Info(s, n);
      entry.domain = std::string(domain);
      entry.op_type = node.op_type();
      entry.since_version = info.schema != nullptr ? info.schema->SinceVersion() : 0;
      entry.source = info.source == ops::OpSource::kUnknown && declared16(node)
                         ? "declared"
                         : ops::OpSourceName(info.source);
    }
  }
  std::vector<OpSourceCount> out;
  out.reserve(counts.size());
  for (auto& [key, entry] : counts) out.push_back(std::move(entry));
  std::sort(out.begin(), out.end(), [](const OpSourceCount& a, const OpSourceCount& b) {
    return std::tie(a.domain, a.op_type) < std::tie(b.domain, b.op_type);
  });
  return out;
}

MatMulFlops CountMatMulFlops(const graph::GraphIndex& index,
                             const std::function<bool(int s, int n)>& in16) {
  MatMulFlops flops;
  ShapeSizes sizes(index);
  std::string key;
  for (int s = 0; s < index.size(); ++s) {
    const onnx::GraphProto& graph = *index.scope(s).graph;
    for (int n = 0; n < index.scope(s).node_count(); ++n) {
      const onnx::NodeProto& node = graph.node(n);
      // Most nodes are no matrix product: a cheap test on the op type first.
      const std::string& op_type = node.op_type();
      if (!absl::EndsWith(op_type, "MatMul") && !absl::EndsWith(op_type, "Gemm") &&
          !absl::EndsWith(op_type, "Attention") && op_type != "MatMulNBits") {
        continue;
      }
      const absl::string_view domain = ops::CanonicalDomain(node.domain());
      key.assign(domain.data(), domain.size());
      key += '\n';
      key += node.op_type();
      auto op = MatrixOps().find(key);
      if (op == MatrixOps().end()) continue;
      int64_t work = -1;
      switch (op->second) {
        case Operand::kInput1:
          if (node.input_size() > 1) work = sizes.Of(s, node.input(1));
          break;
        case Operand::kKeyTwice: {
          const int64_t keys = node.input_size() > 1 ? sizes.Of(s, node.input(1)) : -1;
          work = keys < 0 || keys > INT64_MAX / 2 ? -1 : 2 * keys;
          break;
        }
        case Operand::kNBitsKN: {
          const int64_t k = IntAttr(node, "K"), cols = IntAttr(node, "N");
          work = k < 0 || cols < 0 || (cols > 0 && k > INT64_MAX / cols) ? -1 : k * cols;
          break;
        }
      }
      if (work < 0) {
        ++flops.nodes_unknown_shape;
        continue;
      }
      if (flops.total > INT64_MAX - work) continue;  // saturate rather than overflow
      flops.total += work;
      if (in16(s, n)) flops.in_16bit += work;
    }
  }
  return flops;
}

}  // namespace halfcast::convert
