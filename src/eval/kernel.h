// The contract between the reference evaluator's runner (src/eval/) and its op kernels
// (src/eval/kernels/). A kernel computes one node from input values to output values: tensors,
// except for kernels registered with `takes_values` (sequence and optional ops, Identity, If,
// Loop), which may also read and make sequences and optionals (halfcast/value.h). The runner
// refuses a sequence or optional input to any other kernel, naming the node.
//
// float16/bfloat16: unless a kernel is registered with `exact_16bit`, the runner hands it float32
// copies of 16-bit float inputs and rounds its float32 outputs back to the 16-bit type of the
// node's first 16-bit float input (round to nearest even), which is the documented float16
// model: compute in float32, store in 16 bits. Kernels registered with `exact_16bit` (data
// movement like Reshape, Gather, Concat; Cast, CastLike) see and produce 16-bit tensors as they are.
// Outputs flagged in `float32_outputs` are never rounded: statistics that ONNX Runtime keeps in
// float32 for 16-bit inputs (SkipLayerNormalization's mean and inverse standard deviation).
#ifndef HALFCAST_EVAL_KERNEL_H_
#define HALFCAST_EVAL_KERNEL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "halfcast/tensor.h"
#include "halfcast/value.h"
#include "onnx/onnx_pb.h"

namespace halfcast::eval {

class SubgraphRunner;  // runs If/Loop/Scan bodies; defined by the runner (graph_runner.h)

class KernelContext {
 public:
  KernelContext(const onnx::NodeProto& node, int opset, std::vector<const Value*> inputs,
                int threads, SubgraphRunner* subgraphs)
      : node_(node), opset_(opset), inputs_(std::move(inputs)), threads_(threads),
        subgraphs_(subgraphs), outputs_(node.output_size()) {}

  const onnx::NodeProto& node() const { return node_; }
  // Version of the node's domain imported by the model (e.g. 13 for Softmax in an opset-13 model).
  int opset() const { return opset_; }
  int threads() const { return threads_; }
  SubgraphRunner* subgraphs() const { return subgraphs_; }

  int input_count() const { return static_cast<int>(inputs_.size()); }
  // nullptr when the input is absent (index past the end or an empty name) or not a tensor.
  const Tensor* input(int i) const {
    const Value* v = value_input(i);
    return v != nullptr && v->is_tensor() ? &v->tensor() : nullptr;
  }
  // The input as a value of any kind; nullptr when absent.
  const Value* value_input(int i) const {
    return i >= 0 && i < static_cast<int>(inputs_.size()) ? inputs_[i] : nullptr;
  }
  // The input or an InvalidArgument error naming the node and the missing input.
  absl::StatusOr<const Tensor*> RequiredInput(int i) const;

  int output_count() const { return static_cast<int>(outputs_.size()); }
  // An empty output name means the output is not wanted; kernels may still set it. Setting an
  // output the node does not have (a malformed node with too few outputs) does nothing.
  bool output_wanted(int i) const { return i < node_.output_size() && !node_.output(i).empty(); }
  void set_output(int i, Value value) {
    if (i >= 0 && i < static_cast<int>(outputs_.size())) outputs_[i] = std::move(value);
  }
  // A zero-filled tensor for an output, after checking `shape`: dimensions >= 0, no overflow, and
  // its bytes within what the evaluator's memory cap has left (ResourceExhausted naming the node).
  // Kernels allocate through this so an absurd shape is an error, not an out-of-memory kill.
  absl::StatusOr<Tensor> NewTensor(DataType type, std::vector<int64_t> shape) const;
  // As NewTensor, but the bytes are left uninitialised: only for an output the kernel writes in
  // full (it saves a pass over the memory, and page faults for large outputs).
  absl::StatusOr<Tensor> NewUninitializedTensor(DataType type, std::vector<int64_t> shape) const;
  // Bytes a kernel may still allocate; set by the runner (unlimited by default).
  int64_t memory_budget() const { return memory_budget_; }
  void set_memory_budget(int64_t bytes) { memory_budget_ = bytes; }
  std::vector<Value>& outputs() { return outputs_; }

  // Attributes; the default is returned when the attribute is absent.
  const onnx::AttributeProto* attribute(std::string_view name) const;
  int64_t GetInt(std::string_view name, int64_t default_value) const;
  float GetFloat(std::string_view name, float default_value) const;
  std::string GetString(std::string_view name, std::string_view default_value) const;
  std::vector<int64_t> GetInts(std::string_view name) const;  // empty when absent
  std::vector<float> GetFloats(std::string_view name) const;
  bool HasAttribute(std::string_view name) const { return attribute(name) != nullptr; }

  // An InvalidArgument error prefixed with the node's op type and name.
  absl::Status Error(std::string_view message) const;

 private:
  // Checks `shape` and the memory budget for a new output (see NewTensor).
  absl::Status CheckAllocation(DataType type, const std::vector<int64_t>& shape) const;

  const onnx::NodeProto& node_;
  int opset_;
  std::vector<const Value*> inputs_;
  int threads_;
  SubgraphRunner* subgraphs_;
  std::vector<Value> outputs_;
  int64_t memory_budget_ = INT64_MAX;
};

using KernelFn = absl::Status (*)(KernelContext& context);

struct KernelDef {
  std::string_view domain;  // "" for the default ONNX domain
  std::string_view op_type;
  int min_opset;  // first opset of the domain this kernel implements
  int max_opset;  // last (inclusive); behaviour changes get separate entries or check opset()
  KernelFn fn;
  bool exact_16bit = false;  // see the file comment
  // Bit i set: output i stays float32 when the runner narrows outputs (see the file comment).
  uint32_t float32_outputs = 0;
  bool takes_values = false;  // inputs may be sequences and optionals (see the file comment)
};

// Each kernel family (kernels/*.cc) exposes its table; the registry is the explicit list of
// them in kernel_registry.cc (no static self-registration).
absl::Span<const KernelDef> ElementwiseKernels();
absl::Span<const KernelDef> TensorKernels();        // shape and data movement
absl::Span<const KernelDef> ControlFlowKernels();   // If, Loop, Scan
absl::Span<const KernelDef> ReductionKernels();     // Reduce*, ArgMax/Min, Softmax family, TopK, CumSum
absl::Span<const KernelDef> LinalgKernels();        // MatMul, Gemm, Einsum
absl::Span<const KernelDef> ConvKernels();          // Conv, ConvTranspose, pools, LRN
absl::Span<const KernelDef> NormalizationKernels(); // BatchNorm, InstanceNorm, LayerNorm
absl::Span<const KernelDef> RecurrentKernels();     // RNN, GRU, LSTM
absl::Span<const KernelDef> ResizeKernels();        // Resize, Upsample
absl::Span<const KernelDef> TransformerKernels();   // FusedMatMul, Gelu family, skip/RMS norms
absl::Span<const KernelDef> AttentionKernels();     // Attention, MultiHeadAttention, RotaryEmbedding
absl::Span<const KernelDef> QuantizedKernels();     // MatMulNBits, GatherBlockQuantized
absl::Span<const KernelDef> SequenceKernels();      // Sequence*, SplitToSequence, Optional*

// The kernel for (domain, op_type) at `opset`, or nullptr.
const KernelDef* FindKernel(std::string_view domain, std::string_view op_type, int opset);

}  // namespace halfcast::eval

#endif  // HALFCAST_EVAL_KERNEL_H_
