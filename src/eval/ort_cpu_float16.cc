#include "eval/ort_cpu_float16.h"

#include "ops/op_catalog.h"

namespace halfcast::eval {

bool OrtCpuHasFloat16Kernel(std::string_view domain, std::string_view op_type, int opset) {
  return ops::OpCatalog::Instance().OrtCpuAccepts(absl::string_view(domain.data(), domain.size()),
                                                  absl::string_view(op_type.data(), op_type.size()),
                                                  opset, "tensor(float16)");
}

OrtCpuRun ChooseOrtCpuRun(bool float16_kernel, bool may_isolate,
                          const std::vector<const Tensor*>& inputs,
                          const std::vector<DataType>& deferred,
                          const std::vector<char>& free_source) {
  bool any_half = false;
  bool any_deferred = false;
  bool isolated = true;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i] == nullptr) continue;
    const bool is_deferred = i < deferred.size() && deferred[i] != DataType::kUndefined;
    const DataType type = is_deferred ? deferred[i] : inputs[i]->type();
    // ONNX Runtime inserts Casts for float16 only; bfloat16 keeps the default model.
    if (type == DataType::kBFloat16) return OrtCpuRun::kAsRoundEveryOp;
    if (type != DataType::kFloat16) continue;
    any_half = true;
    any_deferred = any_deferred || is_deferred;
    isolated = isolated && (is_deferred || (i < free_source.size() && free_source[i]));
  }
  if (!any_half) return OrtCpuRun::kAsRoundEveryOp;
  if (!float16_kernel || (may_isolate && isolated && any_deferred)) return OrtCpuRun::kFloat32;
  return OrtCpuRun::kFloat16Kernel;
}

}  // namespace halfcast::eval
