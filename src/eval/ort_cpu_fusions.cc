#include "eval/ort_cpu_fusions.h"

#include <cmath>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "halfcast/tensor.h"
#include "numerics/float16.h"

namespace halfcast::eval {
namespace {

struct Pair {
  int conv = -1;
  int bn = -1;
};

bool IsDefaultDomain(const onnx::NodeProto& node) {
  return node.domain().empty() || node.domain() == "ai.onnx";
}

// Every name `graph` and its bodies read (node inputs, graph outputs).
void CollectReads(const onnx::GraphProto& graph, absl::flat_hash_set<std::string>* reads) {
  for (const auto& node : graph.node()) {
    for (const auto& i : node.input()) reads->insert(i);
    for (const auto& a : node.attribute()) {
      if (a.has_g()) CollectReads(a.g(), reads);
      for (const auto& g : a.graphs()) CollectReads(g, reads);
    }
  }
  for (const auto& o : graph.output()) reads->insert(o.name());
}

// The pairs of `graph` itself (not of its bodies), by node index.
// Initializers and Constant nodes' values by name: ONNX Runtime turns Constant nodes into
// initializers when it loads a model.
absl::flat_hash_map<std::string, const onnx::TensorProto*> Constants(
    const onnx::GraphProto& graph) {
  absl::flat_hash_map<std::string, const onnx::TensorProto*> constants;
  for (const auto& t : graph.initializer()) constants[t.name()] = &t;
  for (const auto& node : graph.node()) {
    if (node.op_type() != "Constant" || !IsDefaultDomain(node) || node.output_size() != 1 ||
        node.attribute_size() != 1 || node.attribute(0).name() != "value") {
      continue;
    }
    constants[node.output(0)] = &node.attribute(0).t();
  }
  return constants;
}

std::vector<Pair> FindPairs(const onnx::GraphProto& graph) {
  const absl::flat_hash_map<std::string, const onnx::TensorProto*> inits = Constants(graph);
  absl::flat_hash_set<std::string> graph_inputs, graph_outputs;
  for (const auto& v : graph.input()) graph_inputs.insert(v.name());
  for (const auto& v : graph.output()) graph_outputs.insert(v.name());
  // value -> index of each node reading it (a node whose body reads it counts too).
  absl::flat_hash_map<std::string, std::vector<int>> readers;
  for (int n = 0; n < graph.node_size(); ++n) {
    const onnx::NodeProto& node = graph.node(n);
    for (const auto& i : node.input()) {
      if (!i.empty()) readers[i].push_back(n);
    }
    absl::flat_hash_set<std::string> body_reads;
    for (const auto& a : node.attribute()) {
      if (a.has_g()) CollectReads(a.g(), &body_reads);
      for (const auto& g : a.graphs()) CollectReads(g, &body_reads);
    }
    for (const auto& name : body_reads) readers[name].push_back(n);
  }
  // A float16 initializer (not a graph input, which a feed could replace) of `rank` dims.
  auto half_init = [&](const std::string& name, int rank) -> const onnx::TensorProto* {
    auto it = inits.find(name);
    if (it == inits.end() || graph_inputs.contains(name)) return nullptr;
    const onnx::TensorProto* t = it->second;
    if (t->data_type() != onnx::TensorProto::FLOAT16) return nullptr;
    if (rank > 0 && t->dims_size() != rank) return nullptr;
    return t;
  };
  std::vector<Pair> pairs;
  for (int n = 0; n < graph.node_size(); ++n) {
    const onnx::NodeProto& conv = graph.node(n);
    if (conv.op_type() != "Conv" || !IsDefaultDomain(conv) || conv.output_size() != 1 ||
        conv.input_size() < 2 || graph_outputs.contains(conv.output(0))) {
      continue;
    }
    auto r = readers.find(conv.output(0));
    if (r == readers.end() || r->second.size() != 1) continue;
    const onnx::NodeProto& bn = graph.node(r->second[0]);
    if (bn.op_type() != "BatchNormalization" || !IsDefaultDomain(bn) || bn.input_size() != 5 ||
        bn.input(0) != conv.output(0)) {
      continue;
    }
    bool extra_outputs = false;
    for (int o = 1; o < bn.output_size(); ++o) extra_outputs |= !bn.output(o).empty();
    if (extra_outputs || bn.output_size() < 1 || graph_outputs.contains(bn.output(0))) continue;
    const onnx::TensorProto* w = half_init(conv.input(1), 0);
    if (w == nullptr || w->dims_size() <= 2) continue;
    bool ok = true;
    for (int i = 1; i < 5 && ok; ++i) {
      const onnx::TensorProto* p = half_init(bn.input(i), 1);
      ok = p != nullptr && p->dims(0) == w->dims(0);
    }
    if (ok && conv.input_size() > 2 && !conv.input(2).empty()) {
      const onnx::TensorProto* b = half_init(conv.input(2), 1);
      ok = b != nullptr && b->dims(0) == w->dims(0);
    }
    if (ok) pairs.push_back({n, r->second[0]});
  }
  return pairs;
}

template <typename Fn>
bool AnyGraph(const onnx::GraphProto& graph, Fn fn) {
  if (fn(graph)) return true;
  for (const auto& node : graph.node()) {
    for (const auto& a : node.attribute()) {
      if (a.has_g() && AnyGraph(a.g(), fn)) return true;
      for (const auto& g : a.graphs()) {
        if (AnyGraph(g, fn)) return true;
      }
    }
  }
  return false;
}

float H(float x) { return numerics::HalfToFloat(numerics::FloatToHalf(x)); }

absl::StatusOr<std::vector<float>> HalfValues(const onnx::TensorProto& proto,
                                              const std::string& base_dir) {
  HALFCAST_ASSIGN_OR_RETURN(const Tensor t, TensorFromProto(proto, base_dir));
  std::vector<float> values(static_cast<size_t>(t.element_count()));
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = numerics::HalfToFloat(t.data<uint16_t>()[i]);
  return values;
}

onnx::TensorProto HalfProto(const std::vector<float>& values, std::vector<int64_t> dims,
                            const std::string& name) {
  std::vector<uint16_t> bits(values.size());
  for (size_t i = 0; i < values.size(); ++i) bits[i] = numerics::FloatToHalf(values[i]);
  return TensorToProto(Tensor::Copy(DataType::kFloat16, std::move(dims), bits.data()), name);
}

std::string FreshName(const onnx::GraphProto& graph, const std::string& base) {
  absl::flat_hash_set<std::string> used;
  for (const auto& t : graph.initializer()) used.insert(t.name());
  for (const auto& n : graph.node()) {
    for (const auto& o : n.output()) used.insert(o);
  }
  std::string name = base;
  for (int i = 1; used.contains(name); ++i) name = absl::StrCat(base, "_", i);
  return name;
}

absl::StatusOr<int> FuseHere(onnx::GraphProto* graph, const std::string& base_dir) {
  const std::vector<Pair> pairs = FindPairs(*graph);
  if (pairs.empty()) return 0;
  const absl::flat_hash_map<std::string, const onnx::TensorProto*> inits = Constants(*graph);
  absl::flat_hash_set<int> removed;
  for (const Pair& pair : pairs) {
    onnx::NodeProto& conv = *graph->mutable_node(pair.conv);
    const onnx::NodeProto& bn = graph->node(pair.bn);
    float epsilon = 1e-5f;
    for (const auto& a : bn.attribute()) {
      if (a.name() == "epsilon") epsilon = a.f();
    }
    const onnx::TensorProto& w_proto = *inits.at(conv.input(1));
    HALFCAST_ASSIGN_OR_RETURN(std::vector<float> w, HalfValues(w_proto, base_dir));
    HALFCAST_ASSIGN_OR_RETURN(std::vector<float> scale,
                              HalfValues(*inits.at(bn.input(1)), base_dir));
    HALFCAST_ASSIGN_OR_RETURN(std::vector<float> beta,
                              HalfValues(*inits.at(bn.input(2)), base_dir));
    HALFCAST_ASSIGN_OR_RETURN(std::vector<float> mean,
                              HalfValues(*inits.at(bn.input(3)), base_dir));
    HALFCAST_ASSIGN_OR_RETURN(std::vector<float> var, HalfValues(*inits.at(bn.input(4)), base_dir));
    const bool has_bias = conv.input_size() > 2 && !conv.input(2).empty();
    std::vector<float> bias;
    if (has_bias) {
      HALFCAST_ASSIGN_OR_RETURN(bias, HalfValues(*inits.at(conv.input(2)), base_dir));
    }
    const size_t channels = scale.size();
    // ONNX Runtime's Initializer arithmetic on float16: every operation rounds.
    for (size_t c = 0; c < channels; ++c)
      scale[c] = H(scale[c] / H(std::sqrt(H(var[c] + epsilon))));
    const size_t per_channel = w.size() / channels;
    for (size_t i = 0; i < w.size(); ++i) w[i] = H(w[i] * scale[i / per_channel]);
    std::vector<float> fused_bias(channels);
    for (size_t c = 0; c < channels; ++c) {
      fused_bias[c] = has_bias ? H(H(H(bias[c] - mean[c]) * scale[c]) + beta[c])
                               : H(beta[c] - H(mean[c] * scale[c]));
    }
    const std::vector<int64_t> w_dims(w_proto.dims().begin(), w_proto.dims().end());
    const std::string w_name = FreshName(*graph, absl::StrCat(conv.input(1), "_ort_bn_fused"));
    *graph->add_initializer() = HalfProto(w, w_dims, w_name);
    const std::string b_name = FreshName(*graph, absl::StrCat(bn.output(0), "_ort_bn_bias"));
    *graph->add_initializer() = HalfProto(fused_bias, {static_cast<int64_t>(channels)}, b_name);
    conv.set_input(1, w_name);
    if (has_bias) {
      conv.set_input(2, b_name);
    } else {
      conv.add_input(b_name);
    }
    conv.set_output(0, bn.output(0));
    removed.insert(pair.bn);
  }
  google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
  for (int n = 0; n < graph->node_size(); ++n) {
    if (!removed.contains(n)) *kept.Add() = std::move(*graph->mutable_node(n));
  }
  graph->mutable_node()->Swap(&kept);
  return static_cast<int>(pairs.size());
}

}  // namespace

bool HasOrtConvBatchNormFusion(const onnx::GraphProto& graph) {
  return AnyGraph(graph, [](const onnx::GraphProto& g) { return !FindPairs(g).empty(); });
}

absl::StatusOr<int> FuseConvBatchNormAsOrt(onnx::GraphProto* graph, const std::string& base_dir) {
  HALFCAST_ASSIGN_OR_RETURN(int fused, FuseHere(graph, base_dir));
  for (auto& node : *graph->mutable_node()) {
    for (auto& a : *node.mutable_attribute()) {
      if (a.has_g()) {
        HALFCAST_ASSIGN_OR_RETURN(const int n, FuseConvBatchNormAsOrt(a.mutable_g(), base_dir));
        fused += n;
      }
      for (auto& g : *a.mutable_graphs()) {
        HALFCAST_ASSIGN_OR_RETURN(const int n, FuseConvBatchNormAsOrt(&g, base_dir));
        fused += n;
      }
    }
  }
  return fused;
}

}  // namespace halfcast::eval
