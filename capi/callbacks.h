// Callbacks of the C ABI as the C++ API's callables: log sinks, and an Evaluator that runs
// mixed-precision candidates through a caller's halfcast_evaluator_fn.
#ifndef HALFCAST_CAPI_CALLBACKS_H_
#define HALFCAST_CAPI_CALLBACKS_H_

#include <string>
#include <vector>

#include "capi/c_api_internal.h"
#include "halfcast/evaluator.h"
#include "halfcast/mixed_precision.h"
#include "halfcast/options.h"

namespace halfcast::capi {

// A LogCallback calling `fn` with a NUL-terminated message; nullptr for a NULL `fn`.
LogCallback WrapLog(halfcast_log_fn fn, void* user_data);

// Runs candidates through a caller's halfcast_evaluator_fn.
class CallbackEvaluator : public Evaluator {
 public:
  CallbackEvaluator(halfcast_evaluator_fn fn, void* user_data) : fn_(fn), user_data_(user_data) {}

  absl::StatusOr<TensorMap> Run(const onnx::ModelProto& model, const TensorMap& feeds,
                                const RunOptions& options) override;

 private:
  static void AddGraphOutputs(const std::vector<std::string>& names, onnx::GraphProto& graph);

  halfcast_evaluator_fn fn_;
  void* user_data_;
};

// The C++ options of a mixed-precision call; `evaluator` must outlive their use.
MixedPrecisionOptions ToMixedOptions(const halfcast_mixed_precision_options* options,
                                     CallbackEvaluator* evaluator);

}  // namespace halfcast::capi

#endif  // HALFCAST_CAPI_CALLBACKS_H_
