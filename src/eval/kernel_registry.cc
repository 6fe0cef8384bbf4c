// The kernel registry: the explicit list of kernel family tables, indexed once.
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "eval/kernel.h"

namespace halfcast::eval {
namespace {

// The newest opset ONNX 1.12 knows; a model importing a newer one runs with the newest kernels.
constexpr int kNewestKnownOpset = 17;

using KernelIndex = absl::flat_hash_map<std::string, std::vector<const KernelDef*>>;

std::string IndexKey(std::string_view domain, std::string_view op_type) {
  std::string key(domain == "ai.onnx" ? std::string_view() : domain);
  key += '\n';
  key += op_type;
  return key;
}

const KernelIndex& Index() {
  // Built once on first use, read-only afterwards (function-local static: thread-safe init).
  static const KernelIndex* const index = [] {
    auto* built = new KernelIndex;
    const absl::Span<const KernelDef> families[] = {
        ElementwiseKernels(), TensorKernels(),        ControlFlowKernels(),
        ReductionKernels(),   LinalgKernels(),        ConvKernels(),
        NormalizationKernels(), RecurrentKernels(),   ResizeKernels(),
        TransformerKernels(), AttentionKernels(),
    };
    for (absl::Span<const KernelDef> family : families) {
      for (const KernelDef& def : family) {
        (*built)[IndexKey(def.domain, def.op_type)].push_back(&def);
      }
    }
    return built;
  }();
  return *index;
}

}  // namespace

const KernelDef* FindKernel(std::string_view domain, std::string_view op_type, int opset) {
  const KernelIndex& index = Index();
  auto it = index.find(IndexKey(domain, op_type));
  if (it == index.end()) return nullptr;
  const KernelDef* newest = nullptr;
  for (const KernelDef* def : it->second) {
    if (def->min_opset <= opset && opset <= def->max_opset) return def;
    if (newest == nullptr || def->max_opset > newest->max_opset) newest = def;
  }
  // Opsets newer than ONNX 1.12 knows: keep the newest semantics we implement rather than refuse.
  if (opset > kNewestKnownOpset && newest != nullptr && newest->max_opset >= kNewestKnownOpset) {
    return newest;
  }
  return nullptr;
}

}  // namespace halfcast::eval
