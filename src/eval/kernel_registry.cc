// The kernel registry: the explicit list of kernel family tables, indexed once.
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "eval/kernel.h"
#include "ops/op_catalog.h"

namespace halfcast::eval {
namespace {

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
        TransformerKernels(), AttentionKernels(),     QuantizedKernels(),
        SequenceKernels(),
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
  // Opsets newer than the linked onnx knows (17 for onnx 1.12; most newer versions only widen
  // type lists): keep the newest semantics implemented rather than refuse.
  const int onnx_newest =
      ops::OpCatalog::OnnxNewestOpset(absl::string_view(domain.data(), domain.size()));
  if (onnx_newest > 0 && opset > onnx_newest && newest != nullptr &&
      newest->max_opset >= onnx_newest) {
    return newest;
  }
  return nullptr;
}

}  // namespace halfcast::eval
