// Running ONNX models: the Evaluator interface and halfcast's built-in ReferenceEvaluator.
//
//   halfcast::ReferenceEvaluator evaluator;
//   halfcast::TensorMap feeds;
//   feeds["x"] = halfcast::Tensor::Zeros(halfcast::DataType::kFloat, {1, 3, 48, 192});
//   absl::StatusOr<halfcast::TensorMap> outputs = evaluator.Run(model, feeds);
//
//   // Models whose inputs or outputs are sequences or optionals (halfcast/value.h):
//   absl::StatusOr<halfcast::ValueMap> values = evaluator.RunValues(model, value_feeds);
//
//   // Many runs of one model: prepare once (as ONNX Runtime creates a session once).
//   absl::StatusOr<std::unique_ptr<halfcast::PreparedModel>> prepared = evaluator.Prepare(model);
//   if (prepared.ok()) outputs = (*prepared)->Run(feeds);
//
// The reference evaluator follows the ONNX operator specification for float32, float64, integer
// and bool tensors, and sequences and optionals of them. float16 and bfloat16 tensors are stored in 16 bits; each op reads them as
// float32, computes in float32 and rounds every 16-bit output to nearest even, so overflow and
// precision loss show where a GPU storing float16 shows them (docs/numerics.md).
//
// Threading: an evaluator object is used by one thread at a time; distinct objects are
// independent. `intra_op_threads` lets one Run use several threads. A model run many times is
// best prepared once (ReferenceEvaluator::Prepare); a PreparedModel may run on several threads.
#ifndef HALFCAST_EVALUATOR_H_
#define HALFCAST_EVALUATOR_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "halfcast/tensor.h"
#include "halfcast/value.h"
#include "onnx/onnx_pb.h"

namespace halfcast {

struct RunOptions {
  // Names of intermediate values to return besides the graph outputs.
  std::vector<std::string> extra_outputs;
  // Return every value of the main graph (inputs, initializers excluded).
  bool return_all_values = false;
  // With return_all_values: also the values computed inside If/Loop/Scan bodies, under their
  // own names (ONNX names are unique across a model's graphs); a Loop or Scan body's values are
  // those of its last iteration. Mixed precision ranks body nodes with them.
  bool return_body_values = false;
  // Values taken as given: a node all of whose outputs are here is not run. Lets a caller reuse
  // values of an earlier run that a change cannot affect. Optional; not owned.
  const TensorMap* precomputed = nullptr;
  // Bounds on one run, checked before every node and every If/Loop/Scan body run (so a Loop of
  // 10^12 iterations stops too): past `deadline` the run fails with DeadlineExceeded, once
  // `*cancel` is true (set from any thread) with Cancelled. `cancel` is not owned; nullptr: none.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  const std::atomic<bool>* cancel = nullptr;
};

class Evaluator {
 public:
  virtual ~Evaluator() = default;
  // Runs `model` on `feeds` (graph input name -> tensor). Returns graph outputs (and what
  // `options` asks for) by name. Errors name the missing or mistyped input, or the op that failed.
  // ReferenceEvaluator: InvalidArgument for a missing feed, a feed that is not a graph input, or
  // one whose type, rank or fixed dimensions differ from the declaration; Unimplemented for an
  // unsupported op (before anything runs); ResourceExhausted when intermediate tensors would
  // exceed memory_limit_bytes. Model-local functions are expanded before running. Returned
  // tensors own their bytes (none points into `model`).
  virtual absl::StatusOr<TensorMap> Run(const onnx::ModelProto& model, const TensorMap& feeds,
                                        const RunOptions& options = {}) = 0;
};

// A model made ready for many runs by ReferenceEvaluator::Prepare. Run behaves as
// ReferenceEvaluator::Run on the prepared model, without checking, planning or decoding anything
// again. Threading: Run is const and may be called from several threads at once (what it keeps
// is immutable once prepared); the model given to Prepare must outlive the PreparedModel
// unchanged.
class PreparedModel {
 public:
  virtual ~PreparedModel() = default;
  virtual absl::StatusOr<TensorMap> Run(const TensorMap& feeds,
                                        const RunOptions& options = {}) const = 0;
  // As Run, for feeds and results of every kind: tensors, sequences and optionals. Run refuses
  // (InvalidArgument naming the value) a graph output or extra output that is not a tensor, and
  // leaves such values out of return_all_values; RunValues returns them. return_body_values
  // holds tensors only.
  virtual absl::StatusOr<ValueMap> RunValues(const ValueMap& feeds,
                                             const RunOptions& options = {}) const = 0;
};

// Where a float16 model's values are rounded to float16 (docs/numerics.md). bfloat16 always
// follows kRoundEveryOp.
enum class Float16Model : int {
  // Every op computes in float32 and rounds each float16 output: a runtime that stores every
  // intermediate value in float16 (GPUs). The default.
  kRoundEveryOp = 0,
  // As ONNX Runtime's CPU provider (1.30) runs a float16 model: ops it has no float16 kernel for
  // (most computing ops; the list is the op tables' `cpu` lines) compute in float32 and hand
  // float32 to each other, as its inserted Casts, once their redundant pairs are removed, leave
  // them; a value is rounded to float16 only where a float16 kernel reads it (Concat, Reshape,
  // LayerNormalization, ...), where a graph or a body returns it, or where a body captures it;
  // and Conv + BatchNormalization pairs are fused into float16 weights as its optimizer fuses
  // them (the Conv's own output is then not a value of the model).
  kOnnxRuntimeCpu = 1,
};

struct ReferenceEvaluatorOptions {
  int intra_op_threads = 1;  // threads for matrix kernels; 0 = hardware concurrency
  Float16Model float16_model = Float16Model::kRoundEveryOp;
  // Cap on bytes held by intermediate tensors at once; exceeding it is ResourceExhausted.
  int64_t memory_limit_bytes = int64_t{8} << 30;
  // Base folder for initializers stored as external data (the model file's folder).
  std::string external_data_dir;
};

class ReferenceEvaluator : public Evaluator {
 public:
  explicit ReferenceEvaluator(ReferenceEvaluatorOptions options = {});
  ~ReferenceEvaluator() override;

  // Checks that `model` is well formed as the converter requires (InvalidArgument naming the
  // fault: element types, dims that overflow, data disagreeing with dims, ...) and that every op
  // (including subgraphs) is supported, before anything runs: Unimplemented naming op, domain
  // and version otherwise.
  absl::Status CheckSupported(const onnx::ModelProto& model) const;

  // Prepares `model` once for many runs: checks every op (as CheckSupported), plans every graph
  // (If/Loop/Scan bodies included), decodes initializers and Constant nodes, and computes the
  // nodes that read only constants (one that fails there, or whose result would be much larger
  // than its inputs, is left to the runs). Run(model, ...) is Prepare followed by one run.
  // Errors: those of Run that do not depend on the feeds or options (Unimplemented for an
  // unsupported op, InvalidArgument for a malformed graph or tensor).
  absl::StatusOr<std::unique_ptr<PreparedModel>> Prepare(const onnx::ModelProto& model) const;

  absl::StatusOr<TensorMap> Run(const onnx::ModelProto& model, const TensorMap& feeds,
                                const RunOptions& options = {}) override;
  // Run for feeds and results of every kind (PreparedModel::RunValues).
  absl::StatusOr<ValueMap> RunValues(const onnx::ModelProto& model, const ValueMap& feeds,
                                     const RunOptions& options = {});

 private:
  ReferenceEvaluatorOptions options_;
};

}  // namespace halfcast

#endif  // HALFCAST_EVALUATOR_H_
