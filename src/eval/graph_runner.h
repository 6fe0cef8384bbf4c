// The reference evaluator's runner: executes a graph's nodes in topological order with the
// kernels of kernel.h, and the bodies of If/Loop/Scan through SubgraphRunner.
//
// A GraphRunner lives for one Run of one model. Each graph (main or body) is planned once: values
// get slots, nodes a topological order, and each value the step after which it is released, so a
// Loop body run a thousand times costs no name lookups per run.
#ifndef HALFCAST_EVAL_GRAPH_RUNNER_H_
#define HALFCAST_EVAL_GRAPH_RUNNER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "eval/kernel.h"
#include "halfcast/evaluator.h"
#include "halfcast/tensor.h"
#include "onnx/onnx_pb.h"

namespace halfcast::eval {

struct GraphPlan;
struct Frame;
class GraphRunner;

// What a control-flow kernel uses to run one of its node's graph attributes. Values of the
// enclosing graphs are visible to the body by name.
class SubgraphRunner {
 public:
  SubgraphRunner(GraphRunner* runner, const Frame* frame) : runner_(runner), frame_(frame) {}
  // Binds `inputs` to the body's inputs in order and returns its outputs in order.
  // InvalidArgument if the counts differ; errors of the body's nodes pass through.
  absl::StatusOr<std::vector<Tensor>> Run(const onnx::GraphProto& body, std::vector<Tensor> inputs);

 private:
  GraphRunner* runner_;
  const Frame* frame_;
};

class GraphRunner {
 public:
  // `model` must outlive the runner; initializers with raw data are used in place.
  GraphRunner(const onnx::ModelProto& model, const ReferenceEvaluatorOptions& options);
  ~GraphRunner();

  // Runs the main graph: feeds checked against the declared inputs (name, type, rank, fixed
  // dimensions), outputs and what `options` asks for returned by name.
  absl::StatusOr<TensorMap> RunMain(const TensorMap& feeds, const RunOptions& options);

  // Runs a body graph with `inputs` bound in order, `parent` the frame of the node running it.
  absl::StatusOr<std::vector<Tensor>> RunBody(const onnx::GraphProto& body,
                                              std::vector<Tensor> inputs, const Frame* parent);

 private:
  absl::StatusOr<const GraphPlan*> BodyPlan(const onnx::GraphProto& body);
  // Runs every step of `plan` in `frame`.
  absl::Status Execute(const GraphPlan& plan, Frame& frame);
  absl::Status RunStep(const GraphPlan& plan, std::size_t step, Frame& frame);

  const onnx::ModelProto& model_;
  ReferenceEvaluatorOptions options_;
  int threads_;
  absl::flat_hash_map<std::string, int> opsets_;  // domain ("" for ONNX) -> version
  absl::flat_hash_map<const onnx::GraphProto*, std::unique_ptr<GraphPlan>> body_plans_;
  int64_t bytes_in_use_ = 0;  // bytes of node outputs currently held
};

// The domain as the registry and opset map key it: "ai.onnx" is the default domain "".
std::string CanonicalDomain(const std::string& domain);

// Opset imported by `model` for each domain, "ai.onnx" folded into "".
absl::flat_hash_map<std::string, int> ImportedOpsets(const onnx::ModelProto& model);

}  // namespace halfcast::eval

#endif  // HALFCAST_EVAL_GRAPH_RUNNER_H_
