// The reference evaluator's runner: executes a graph's nodes in topological order with the
// kernels of kernel.h, and the bodies of If/Loop/Scan through SubgraphRunner.
//
// A ModelPlan is made once per model (ReferenceEvaluator::Prepare) and is immutable afterwards:
// every graph, the bodies of If/Loop/Scan included, is planned when its enclosing graph is
// (values get slots, nodes a topological order, each value the step after which it is released,
// each value read from an enclosing graph its slot there), and initializers and Constant nodes
// are decoded once and shared read-only by every run. A run keeps its own state (values, the
// memory count) on its own stack, so a Loop body run a thousand times costs no planning, no
// name lookups and no decoding per iteration, and several threads may run one plan at once.
#ifndef HALFCAST_EVAL_GRAPH_RUNNER_H_
#define HALFCAST_EVAL_GRAPH_RUNNER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "eval/kernel.h"
#include "halfcast/evaluator.h"
#include "halfcast/tensor.h"
#include "halfcast/value.h"
#include "onnx/onnx_pb.h"

namespace halfcast::eval {

struct GraphPlan;
struct Step;
struct Frame;
class GraphRunner;

// What a control-flow kernel uses to run one of its node's graph attributes. Values of the
// enclosing graphs are visible to the body by name.
class SubgraphRunner {
 public:
  SubgraphRunner(GraphRunner* runner, const Step* step, const Frame* frame)
      : runner_(runner), step_(step), frame_(frame) {}
  // Binds `inputs` to the body's inputs in order and returns its outputs in order. `body` must
  // be a graph attribute of the running node. InvalidArgument if the counts differ; errors of
  // the body's nodes pass through.
  absl::StatusOr<std::vector<Value>> Run(const onnx::GraphProto& body, std::vector<Value> inputs);

 private:
  GraphRunner* runner_;
  const Step* step_;
  const Frame* frame_;
};

// A model's graphs planned for many runs. Immutable once made: Run is const and safe to call
// from several threads at once.
class ModelPlan {
 public:
  // Plans `model`, which must outlive the plan unchanged (raw initializer and Constant data are
  // used in place). Errors: InvalidArgument for a malformed graph (a value defined twice, a
  // cycle, an undefined value, a domain the model does not import), Unimplemented for an
  // unsupported op or sparse initializers, and those of decoding initializers and Constants.
  static absl::StatusOr<std::unique_ptr<ModelPlan>> Create(
      const onnx::ModelProto& model, const ReferenceEvaluatorOptions& options);
  ~ModelPlan();

  // Runs the main graph: feeds checked against the declared inputs (name, kind, type, rank,
  // fixed dimensions), outputs and what `options` asks for returned by name.
  absl::StatusOr<ValueMap> Run(const ValueMap& feeds, const RunOptions& options) const;

 private:
  ModelPlan() = default;

  ReferenceEvaluatorOptions options_;
  int threads_ = 1;
  std::unique_ptr<const GraphPlan> main_;
};

// The domain as the registry and opset map key it: "ai.onnx" is the default domain "".
std::string CanonicalDomain(const std::string& domain);

// Opset imported by `model` for each domain, "ai.onnx" folded into "".
absl::flat_hash_map<std::string, int> ImportedOpsets(const onnx::ModelProto& model);

}  // namespace halfcast::eval

#endif  // HALFCAST_EVAL_GRAPH_RUNNER_H_
