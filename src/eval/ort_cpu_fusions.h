// ONNX Runtime's graph optimizations that change a float16 model's numbers, for
// Float16Model::kOnnxRuntimeCpu (docs/numerics.md, "ONNX Runtime CPU"). Measured with
// onnxruntime-node 1.30: its Conv + BatchNormalization fusion (ConvBNFusion, on by default from
// the basic level) folds the BatchNormalization into the Conv's weights and bias with float16
// arithmetic, rounding after every step, and stores them in float16; the fused Conv then computes
// in float32 and the BatchNormalization's own rounding is gone. The other fusions it applies to
// such models (MatMul + Add into Gemm, activations into Conv) only remove roundings the ONNX
// Runtime CPU model does not make anyway.
#ifndef HALFCAST_EVAL_ORT_CPU_FUSIONS_H_
#define HALFCAST_EVAL_ORT_CPU_FUSIONS_H_

#include <string>

#include "absl/status/statusor.h"
#include "onnx/onnx_pb.h"

namespace halfcast::eval {

// Whether `graph` (or a body nested in it) has a Conv + BatchNormalization pair ONNX Runtime
// fuses: float16 initializers for the Conv's weights (and bias) and the BatchNormalization's four
// inputs (1-D, one per output channel), the Conv's output read only by the BatchNormalization and
// neither output a graph output.
bool HasOrtConvBatchNormFusion(const onnx::GraphProto& graph);

// Fuses every such pair as ONNX Runtime does (in every body too): the Conv takes new float16
// initializers W * s and (B - mean) * s + beta (or beta - mean * s without a bias), s = scale /
// sqrt(var + epsilon), each operation rounded to float16, and writes the BatchNormalization's
// output; the BatchNormalization is removed. Returns how many pairs it fused; errors are those of
// reading the initializers (`base_dir`: their external data folder).
absl::StatusOr<int> FuseConvBatchNormAsOrt(onnx::GraphProto* graph, const std::string& base_dir);

}  // namespace halfcast::eval

#endif  // HALFCAST_EVAL_ORT_CPU_FUSIONS_H_
