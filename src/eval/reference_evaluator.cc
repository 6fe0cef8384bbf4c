// ReferenceEvaluator: checks support up front, then runs the model with a GraphRunner.
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "eval/function_inliner.h"
#include "eval/graph_runner.h"
#include "eval/kernel.h"
#include "halfcast/evaluator.h"

namespace halfcast {
namespace {

void CollectUnsupported(const onnx::GraphProto& graph,
                        const absl::flat_hash_map<std::string, int>& opsets,
                        std::set<std::string>* unsupported) {
  for (const onnx::NodeProto& node : graph.node()) {
    const std::string domain = eval::CanonicalDomain(node.domain());
    const std::string shown = domain.empty() ? "ai.onnx" : domain;
    auto opset = opsets.find(domain);
    if (opset == opsets.end()) {
      unsupported->insert(absl::StrCat(node.op_type(), " (domain '", shown, "', not imported)"));
    } else if (eval::FindKernel(domain, node.op_type(), opset->second) == nullptr) {
      unsupported->insert(
          absl::StrCat(node.op_type(), " (domain '", shown, "', opset ", opset->second, ")"));
    }
    for (const onnx::AttributeProto& a : node.attribute()) {
      if (a.has_g()) CollectUnsupported(a.g(), opsets, unsupported);
      for (const onnx::GraphProto& g : a.graphs()) CollectUnsupported(g, opsets, unsupported);
    }
  }
}

}  // namespace

ReferenceEvaluator::ReferenceEvaluator(ReferenceEvaluatorOptions options)
    : options_(std::move(options)) {}

ReferenceEvaluator::~ReferenceEvaluator() = default;

absl::Status ReferenceEvaluator::CheckSupported(const onnx::ModelProto& model) const {
  if (!model.has_graph()) return absl::InvalidArgumentError("the model has no graph");
  if (model.functions_size() > 0) {
    onnx::ModelProto inlined = model;
    HALFCAST_RETURN_IF_ERROR(eval::InlineLocalFunctions(&inlined));
    return CheckSupported(inlined);
  }
  std::set<std::string> unsupported;
  CollectUnsupported(model.graph(), eval::ImportedOpsets(model), &unsupported);
  if (unsupported.empty()) return absl::OkStatus();
  return absl::UnimplementedError(absl::StrCat("the reference evaluator does not support: ",
                                               absl::StrJoin(unsupported, ", ")));
}

absl::StatusOr<TensorMap> ReferenceEvaluator::Run(const onnx::ModelProto& model,
                                                  const TensorMap& feeds,
                                                  const RunOptions& options) {
  if (model.functions_size() > 0) {
    // Rare (and the copy includes the initializers): expand the functions, then run the copy.
    onnx::ModelProto inlined = model;
    HALFCAST_RETURN_IF_ERROR(eval::InlineLocalFunctions(&inlined));
    return Run(inlined, feeds, options);
  }
  HALFCAST_RETURN_IF_ERROR(CheckSupported(model));
  eval::GraphRunner runner(model, options_);
  return runner.RunMain(feeds, options);
}

}  // namespace halfcast
