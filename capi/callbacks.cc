#include "capi/callbacks.h"

#include <algorithm>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace halfcast::capi {

LogCallback WrapLog(halfcast_log_fn fn, void* user_data) {
  if (fn == nullptr) return nullptr;
  return [fn, user_data](LogLevel level, std::string_view message) {
    const std::string text(message);  // the callback wants a NUL-terminated string
    fn(static_cast<halfcast_log_level>(level), text.c_str(), user_data);
  };
}

absl::StatusOr<TensorMap> CallbackEvaluator::Run(const onnx::ModelProto& model,
                                                 const TensorMap& feeds,
                                                 const RunOptions& options) {
  // The callback's runtime returns graph outputs only, so intermediate values the search asks
  // for (to rank nodes by error) become graph outputs. `precomputed` is an optimisation the
  // callback cannot use; ignoring it is allowed.
  std::vector<std::string> wanted = options.extra_outputs;
  if (options.return_all_values) {
    for (const onnx::NodeProto& node : model.graph().node()) {
      for (const std::string& output : node.output()) {
        if (!output.empty()) wanted.push_back(output);
      }
    }
  }
  std::string bytes;
  if (wanted.empty()) {
    HALFCAST_ASSIGN_OR_RETURN(bytes, SerializeModel(model));
  } else {
    onnx::ModelProto with_outputs = model;
    AddGraphOutputs(wanted, *with_outputs.mutable_graph());
    HALFCAST_ASSIGN_OR_RETURN(bytes, SerializeModel(with_outputs));
  }
  const halfcast_named_tensors inputs = ToNamedTensors(feeds);
  halfcast_named_tensors outputs;
  outputs.copy_borrowed = true;
  HALFCAST_RETURN_IF_ERROR(
      TakeStatus(fn_(bytes.data(), bytes.size(), &inputs, &outputs, user_data_)));
  TensorMap result = ToTensorMap(outputs);
  for (const onnx::ValueInfoProto& output : model.graph().output()) {
    if (!result.count(output.name())) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the evaluator callback did not return graph output '", output.name(), "'"));
    }
  }
  return result;
}

void CallbackEvaluator::AddGraphOutputs(const std::vector<std::string>& names,
                                        onnx::GraphProto& graph) {
  for (const std::string& name : names) {
    const auto same_name = [&](const onnx::ValueInfoProto& v) { return v.name() == name; };
    if (std::any_of(graph.output().begin(), graph.output().end(), same_name)) continue;
    auto info = std::find_if(graph.value_info().begin(), graph.value_info().end(), same_name);
    if (info != graph.value_info().end()) {
      *graph.add_output() = *info;
    } else {
      graph.add_output()->set_name(name);
    }
  }
}

MixedPrecisionOptions ToMixedOptions(const halfcast_mixed_precision_options* options,
                                     CallbackEvaluator* evaluator) {
  MixedPrecisionOptions result = options ? options->options : MixedPrecisionOptions();
  if (options && options->evaluator) result.evaluator = evaluator;
  return result;
}

}  // namespace halfcast::capi
