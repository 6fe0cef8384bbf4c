#include "convert/cast_cleanup.h"

#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace halfcast::convert {
namespace {

bool Is16Bit(int32_t type) {
  return type == onnx::TensorProto::FLOAT16 || type == onnx::TensorProto::BFLOAT16;
}

int32_t CastTo(const onnx::NodeProto& node) {
  for (const onnx::AttributeProto& attr : node.attribute()) {
    if (attr.name() == "to") return static_cast<int32_t>(attr.i());
  }
  return 0;
}

bool IsPlainCast(const onnx::NodeProto& node) {
  return node.op_type() == "Cast" && (node.domain().empty() || node.domain() == "ai.onnx") &&
         node.input_size() == 1 && node.output_size() == 1 && CastTo(node) != 0;
}

class ScopeCleanup {
 public:
  ScopeCleanup(const graph::GraphIndex& index, const ElemTypeFn& elem_type, int s)
      : index_(index), elem_type_(elem_type), s_(s) {}

  int64_t Run() {
    onnx::GraphProto* graph = index_.scope(s_).graph;
    absl::flat_hash_set<std::string> graph_outputs;
    for (const auto& out : graph->output()) graph_outputs.insert(out.name());
    // (input, to) -> output of the Cast kept for it; output -> the Cast's input and its type.
    absl::flat_hash_map<std::pair<std::string, int32_t>, std::string> kept;
    struct CastInfo {
      std::string input;
      int32_t input_type;
    };
    absl::flat_hash_map<std::string, CastInfo> cast_of;
    std::vector<bool> remove(graph->node_size(), false);
    for (int n = 0; n < graph->node_size(); ++n) {
      onnx::NodeProto& node = *graph->mutable_node(n);
      for (int i = 0; !replace_.empty() && i < node.input_size(); ++i) {
        auto it = replace_.find(node.input(i));
        if (it != replace_.end()) node.set_input(i, it->second);
      }
      if (!IsPlainCast(node) || graph_outputs.contains(node.output(0))) continue;
      const std::string& in = node.input(0);
      const std::string& out = node.output(0);
      const int32_t to = CastTo(node);
      const int32_t in_type = elem_type_(s_, in);
      std::string substitute;
      if (in_type != 0 && in_type == to) {
        substitute = in;  // rule 1
      } else if (auto c = cast_of.find(in); c != cast_of.end() && Is16Bit(c->second.input_type) &&
                                            in_type == onnx::TensorProto::FLOAT &&
                                            to == c->second.input_type) {
        substitute = c->second.input;  // rule 2
        maybe_dead_.insert(in);
      } else if (auto k = kept.find(std::make_pair(in, to)); k != kept.end()) {
        substitute = k->second;  // rule 3
      }
      if (!substitute.empty()) {
        replace_[out] = substitute;
        remove[n] = true;
        continue;
      }
      kept.emplace(std::make_pair(in, to), out);
      cast_of[out] = CastInfo{in, in_type};
    }
    if (replace_.empty()) return 0;
    ApplyToSubgraphs();
    MarkDeadRoundTripCasts(*graph, &remove);
    return Compact(graph, remove);
  }

 private:
  // Subgraphs read outer values by name: point them at the substitutes too.
  void ApplyToSubgraphs() {
    for (int t = s_ + 1; t < index_.size() && IsInside(t); ++t) {
      onnx::GraphProto* sub = index_.scope(t).graph;
      for (onnx::NodeProto& node : *sub->mutable_node()) {
        for (int i = 0; i < node.input_size(); ++i) {
          auto it = replace_.find(node.input(i));
          if (it != replace_.end() && index_.LocalDef(t, node.input(i)) == nullptr) {
            node.set_input(i, it->second);
          }
        }
      }
      for (onnx::ValueInfoProto& out : *sub->mutable_output()) {
        auto it = replace_.find(out.name());
        if (it != replace_.end()) out.set_name(it->second);
      }
    }
  }

  bool IsInside(int t) const {
    for (; t >= 0; t = index_.scope(t).parent) {
      if (t == s_) return true;
    }
    return false;
  }

  // The first Cast of a removed round trip is dead once nothing reads its output.
  void MarkDeadRoundTripCasts(const onnx::GraphProto& graph, std::vector<bool>* remove) {
    if (maybe_dead_.empty()) return;
    absl::flat_hash_set<std::string> used;
    for (int t = s_; t < index_.size() && IsInside(t); ++t) {
      const onnx::GraphProto& g = *index_.scope(t).graph;
      for (int n = 0; n < g.node_size(); ++n) {
        if (t == s_ && (*remove)[n]) continue;
        for (const std::string& in : g.node(n).input()) used.insert(in);
      }
      for (const auto& out : g.output()) used.insert(out.name());
    }
    for (int n = 0; n < graph.node_size(); ++n) {
      const onnx::NodeProto& node = graph.node(n);
      if (!(*remove)[n] && IsPlainCast(node) && maybe_dead_.contains(node.output(0)) &&
          !used.contains(node.output(0))) {
        (*remove)[n] = true;
      }
    }
  }

  int64_t Compact(onnx::GraphProto* graph, const std::vector<bool>& remove) {
    absl::flat_hash_set<std::string> removed_values;
    auto* nodes = graph->mutable_node();
    int kept = 0;
    for (int n = 0; n < nodes->size(); ++n) {
      if (remove[n]) {
        removed_values.insert(nodes->Get(n).output(0));
        continue;
      }
      if (kept != n) nodes->SwapElements(kept, n);
      ++kept;
    }
    const int64_t removed = nodes->size() - kept;
    nodes->DeleteSubrange(kept, nodes->size() - kept);
    auto* infos = graph->mutable_value_info();
    int kept_infos = 0;
    for (int i = 0; i < infos->size(); ++i) {
      if (removed_values.contains(infos->Get(i).name())) continue;
      if (kept_infos != i) infos->SwapElements(kept_infos, i);
      ++kept_infos;
    }
    infos->DeleteSubrange(kept_infos, infos->size() - kept_infos);
    return removed;
  }

  const graph::GraphIndex& index_;
  const ElemTypeFn& elem_type_;
  int s_;
  absl::flat_hash_map<std::string, std::string> replace_;
  absl::flat_hash_set<std::string> maybe_dead_;
};

}  // namespace

int64_t CleanupCasts(const graph::GraphIndex& index, const ElemTypeFn& elem_type) {
  int64_t removed = 0;
  for (int s = 0; s < index.size(); ++s) removed += ScopeCleanup(index, elem_type, s).Run();
  return removed;
}

}  // namespace halfcast::convert
