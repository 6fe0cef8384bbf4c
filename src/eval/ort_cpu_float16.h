// Float16Model::kOnnxRuntimeCpu (include/halfcast/evaluator.h, docs/numerics.md "ONNX Runtime
// CPU"): which ops ONNX Runtime's CPU provider runs in float16, and how a node of a float16 model
// runs there. ONNX Runtime inserts Casts to float32 around every node it has no float16 kernel
// for, then removes each Cast pair float32 -> float16 -> float32 that results; so such nodes
// compute in float32 and hand float32 values to each other, and a value is rounded to float16
// only where a float16 kernel, a graph output or a subgraph reads it. The runner keeps those
// values unrounded ("deferred": float32 tensors standing for float16 ones) until then.
#ifndef HALFCAST_EVAL_ORT_CPU_FLOAT16_H_
#define HALFCAST_EVAL_ORT_CPU_FLOAT16_H_

#include <string_view>
#include <vector>

#include "halfcast/tensor.h"

namespace halfcast::eval {

// Whether ONNX Runtime's CPU provider has a float16 kernel for the op (the op tables' `cpu`
// lines, src/ops/tables).
bool OrtCpuHasFloat16Kernel(std::string_view domain, std::string_view op_type, int opset);

// How a node runs given its inputs.
enum class OrtCpuRun {
  kAsRoundEveryOp,  // no float16 input, or a bfloat16 one: the default model, deferred inputs
                    // rounded
  kFloat16Kernel,   // ONNX Runtime's float16 kernel: deferred inputs rounded first
  kFloat32,         // float32 compute; float16 inputs widened, float outputs deferred
};

// `float16_kernel`: OrtCpuHasFloat16Kernel for the node; `may_isolate`: the node has no subgraph,
// returns no graph output and every node reading its outputs computes in float32. ONNX Runtime
// then runs it in float32 too when each float16 input is deferred (from a float32-computing
// node) or read from a graph input or a constant (`free_source[i]`: widening those loses
// nothing), at least one of them deferred. `deferred[i]`: the 16-bit type input i stands for
// when deferred, else DataType::kUndefined.
OrtCpuRun ChooseOrtCpuRun(bool float16_kernel, bool may_isolate,
                          const std::vector<const Tensor*>& inputs,
                          const std::vector<DataType>& deferred,
                          const std::vector<char>& free_source);

}  // namespace halfcast::eval

#endif  // HALFCAST_EVAL_ORT_CPU_FLOAT16_H_
