#include "eval/function_inliner.h"

#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "eval/graph_runner.h"

namespace halfcast::eval {
namespace {

// Function calls nest at most this deep; deeper means a function calls itself.
constexpr int kMaxDepth = 64;

std::string FunctionKey(const std::string& domain, const std::string& name) {
  return absl::StrCat(CanonicalDomain(domain), "\n", name);
}

class Inliner {
 public:
  explicit Inliner(const onnx::ModelProto& model) {
    for (const onnx::FunctionProto& f : model.functions()) {
      functions_[FunctionKey(f.domain(), f.name())] = &f;
    }
  }

  bool empty() const { return functions_.empty(); }

  absl::Status InlineGraph(onnx::GraphProto* graph, int depth) {
    google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
    nodes.Swap(graph->mutable_node());
    for (onnx::NodeProto& node : nodes) {
      HALFCAST_RETURN_IF_ERROR(Emit(std::move(node), graph, depth));
    }
    return absl::OkStatus();
  }

 private:
  // Appends `node` to `graph`, expanded if it calls a local function.
  absl::Status Emit(onnx::NodeProto node, onnx::GraphProto* graph, int depth) {
    for (onnx::AttributeProto& a : *node.mutable_attribute()) {
      if (a.has_g()) HALFCAST_RETURN_IF_ERROR(InlineGraph(a.mutable_g(), depth));
      for (onnx::GraphProto& g : *a.mutable_graphs()) {
        HALFCAST_RETURN_IF_ERROR(InlineGraph(&g, depth));
      }
    }
    auto it = functions_.find(FunctionKey(node.domain(), node.op_type()));
    if (it == functions_.end()) {
      *graph->add_node() = std::move(node);
      return absl::OkStatus();
    }
    if (depth >= kMaxDepth) {
      return absl::InvalidArgumentError(absl::StrCat(
          "local function ", node.op_type(), " calls itself (nesting deeper than ", kMaxDepth,
          ")"));
    }
    const onnx::FunctionProto& function = *it->second;
    // Formal parameter -> actual value; anything else inside the function gets a fresh name.
    absl::flat_hash_map<std::string, std::string> names;
    for (int i = 0; i < function.input_size(); ++i) {
      names[function.input(i)] = i < node.input_size() ? node.input(i) : "";
    }
    for (int i = 0; i < function.output_size(); ++i) {
      names[function.output(i)] = i < node.output_size() ? node.output(i) : "";
    }
    const std::string prefix = absl::StrCat("_hc_", function.name(), "_", ++calls_, "_");
    auto rename = [&](std::string* name) {
      if (name->empty()) return;
      auto found = names.find(*name);
      if (found != names.end()) {
        *name = found->second;
      } else {
        *name = absl::StrCat(prefix, *name);
      }
    };
    absl::flat_hash_set<std::string> internal;
    for (const onnx::NodeProto& n : function.node()) {
      for (const std::string& o : n.output()) {
        if (!names.contains(o)) internal.insert(o);
      }
    }
    absl::flat_hash_map<std::string, const onnx::AttributeProto*> call_attributes;
    for (const onnx::AttributeProto& a : node.attribute()) call_attributes[a.name()] = &a;

    for (const onnx::NodeProto& body_node : function.node()) {
      onnx::NodeProto copy = body_node;
      for (std::string& name : *copy.mutable_input()) rename(&name);
      for (std::string& name : *copy.mutable_output()) rename(&name);
      if (!copy.name().empty()) copy.set_name(absl::StrCat(prefix, copy.name()));
      google::protobuf::RepeatedPtrField<onnx::AttributeProto> attributes;
      for (const onnx::AttributeProto& a : copy.attribute()) {
        if (a.ref_attr_name().empty()) {
          onnx::AttributeProto kept = a;
          RenameOuterReferences(&kept, names, internal, prefix);
          *attributes.Add() = std::move(kept);
          continue;
        }
        auto given = call_attributes.find(a.ref_attr_name());
        if (given == call_attributes.end()) continue;  // unset: the op's default applies
        onnx::AttributeProto bound = *given->second;
        bound.set_name(a.name());
        *attributes.Add() = std::move(bound);
      }
      copy.mutable_attribute()->Swap(&attributes);
      HALFCAST_RETURN_IF_ERROR(Emit(std::move(copy), graph, depth + 1));
    }
    return absl::OkStatus();
  }

  // A body inside a function reads the function's values by name: rename those it reads.
  static void RenameOuterReferences(onnx::AttributeProto* attribute,
                                    const absl::flat_hash_map<std::string, std::string>& names,
                                    const absl::flat_hash_set<std::string>& internal,
                                    const std::string& prefix) {
    auto fix_graph = [&](onnx::GraphProto* g, auto& self) -> void {
      for (onnx::NodeProto& n : *g->mutable_node()) {
        for (std::string& input : *n.mutable_input()) {
          auto found = names.find(input);
          if (found != names.end()) {
            input = found->second;
          } else if (internal.contains(input)) {
            input = absl::StrCat(prefix, input);
          }
        }
        for (onnx::AttributeProto& a : *n.mutable_attribute()) {
          if (a.has_g()) self(a.mutable_g(), self);
          for (onnx::GraphProto& sub : *a.mutable_graphs()) self(&sub, self);
        }
      }
    };
    if (attribute->has_g()) fix_graph(attribute->mutable_g(), fix_graph);
    for (onnx::GraphProto& g : *attribute->mutable_graphs()) fix_graph(&g, fix_graph);
  }

  absl::flat_hash_map<std::string, const onnx::FunctionProto*> functions_;
  int calls_ = 0;
};

}  // namespace

absl::Status InlineLocalFunctions(onnx::ModelProto* model) {
  Inliner inliner(*model);
  if (inliner.empty()) return absl::OkStatus();
  HALFCAST_RETURN_IF_ERROR(inliner.InlineGraph(model->mutable_graph(), 0));
  // The inliner reads the functions while expanding; drop them only afterwards.
  model->clear_functions();
  return absl::OkStatus();
}

}  // namespace halfcast::eval
