// ReferenceEvaluator: checks support up front, plans the model once (eval::ModelPlan), runs it.
#include <memory>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "eval/function_inliner.h"
#include "eval/graph_runner.h"
#include "eval/kernel.h"
#include "eval/ort_cpu_fusions.h"
#include "graph/model_validation.h"
#include "halfcast/evaluator.h"
#include "ops/op_catalog.h"

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
      // The op catalog tells an op nothing describes (a custom domain: plug in a runtime that
      // has it) from one the evaluator lacks a kernel for.
      const ops::OpInfo op = ops::OpCatalog::Instance().Find(domain, node.op_type(), opset->second);
      unsupported->insert(absl::StrCat(
          node.op_type(), " (domain '", shown, "', opset ", opset->second, ": ",
          op.schema == nullptr ? std::string("an op nothing describes")
                               : absl::StrCat("no kernel for ", node.op_type(), "-",
                                              op.schema->SinceVersion()),
          ")"));
    }
    for (const onnx::AttributeProto& a : node.attribute()) {
      if (a.has_g()) CollectUnsupported(a.g(), opsets, unsupported);
      for (const onnx::GraphProto& g : a.graphs()) CollectUnsupported(g, opsets, unsupported);
    }
  }
}

// The tensors of `values` for PreparedModel::Run: a sequence or optional is an error when it
// was asked for (a graph output, an extra output), and left out when it comes with
// return_all_values.
absl::StatusOr<TensorMap> TensorResults(ValueMap values, const onnx::GraphProto& graph,
                                        const RunOptions& options) {
  std::set<std::string> asked(options.extra_outputs.begin(), options.extra_outputs.end());
  for (const auto& output : graph.output()) asked.insert(output.name());
  TensorMap tensors;
  for (auto& [name, value] : values) {
    if (value.is_tensor()) {
      tensors.emplace_hint(tensors.end(), name, std::move(value.mutable_tensor()));
    } else if (asked.count(name) > 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("output '", name, "' has type ", value.TypeString(),
                       "; Run returns tensors only (RunValues returns every kind of value)"));
    }
  }
  return tensors;
}

class Prepared : public PreparedModel {
 public:
  absl::StatusOr<TensorMap> Run(const TensorMap& feeds, const RunOptions& options) const override {
    HALFCAST_ASSIGN_OR_RETURN(ValueMap values, plan->Run(ToValueMap(feeds), options));
    return TensorResults(std::move(values), planned->graph(), options);
  }
  absl::StatusOr<ValueMap> RunValues(const ValueMap& feeds,
                                     const RunOptions& options) const override {
    return plan->Run(feeds, options);
  }

  // The model with its functions expanded, or rewritten as ONNX Runtime fuses it
  // (Float16Model::kOnnxRuntimeCpu), if either applies.
  std::unique_ptr<onnx::ModelProto> inlined;
  const onnx::ModelProto* planned = nullptr;  // `inlined` or the caller's model
  std::unique_ptr<eval::ModelPlan> plan;
};

}  // namespace

ReferenceEvaluator::ReferenceEvaluator(ReferenceEvaluatorOptions options)
    : options_(std::move(options)) {}

ReferenceEvaluator::~ReferenceEvaluator() = default;

absl::Status ReferenceEvaluator::CheckSupported(const onnx::ModelProto& model) const {
  if (!model.has_graph()) return absl::InvalidArgumentError("the model has no graph");
  HALFCAST_RETURN_IF_ERROR(graph::ValidateModel(model));
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

absl::StatusOr<std::unique_ptr<PreparedModel>> ReferenceEvaluator::Prepare(
    const onnx::ModelProto& model) const {
  // Before inlining, which walks bodies as deep as the model nests them.
  HALFCAST_RETURN_IF_ERROR(graph::ValidateModel(model));
  auto prepared = std::make_unique<Prepared>();
  const onnx::ModelProto* planned = &model;
  if (model.functions_size() > 0) {
    // Rare (and the copy includes the initializers): expand the functions and plan the copy.
    prepared->inlined = std::make_unique<onnx::ModelProto>(model);
    HALFCAST_RETURN_IF_ERROR(eval::InlineLocalFunctions(prepared->inlined.get()));
    planned = prepared->inlined.get();
  }
  if (options_.float16_model == Float16Model::kOnnxRuntimeCpu &&
      eval::HasOrtConvBatchNormFusion(planned->graph())) {
    // ONNX Runtime rewrites these pairs when it creates a session; so does the copy planned here.
    if (prepared->inlined == nullptr) prepared->inlined = std::make_unique<onnx::ModelProto>(model);
    HALFCAST_RETURN_IF_ERROR(eval::FuseConvBatchNormAsOrt(prepared->inlined->mutable_graph(),
                                                          options_.external_data_dir)
                                 .status());
    planned = prepared->inlined.get();
  }
  HALFCAST_RETURN_IF_ERROR(CheckSupported(*planned));
  HALFCAST_ASSIGN_OR_RETURN(prepared->plan, eval::ModelPlan::Create(*planned, options_));
  prepared->planned = planned;
  return prepared;
}

absl::StatusOr<TensorMap> ReferenceEvaluator::Run(const onnx::ModelProto& model,
                                                  const TensorMap& feeds,
                                                  const RunOptions& options) {
  HALFCAST_ASSIGN_OR_RETURN(std::unique_ptr<PreparedModel> prepared, Prepare(model));
  return prepared->Run(feeds, options);
}

absl::StatusOr<ValueMap> ReferenceEvaluator::RunValues(const onnx::ModelProto& model,
                                                       const ValueMap& feeds,
                                                       const RunOptions& options) {
  HALFCAST_ASSIGN_OR_RETURN(std::unique_ptr<PreparedModel> prepared, Prepare(model));
  return prepared->RunValues(feeds, options);
}

}  // namespace halfcast
