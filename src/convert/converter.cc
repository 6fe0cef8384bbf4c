// The public entry points of whole-model conversion (halfcast/convert.h).
#include <utility>

#include "common/status_macros.h"
#include "convert/conversion.h"
#include "halfcast/convert.h"

namespace halfcast {

absl::StatusOr<ConvertResult> ConvertFloatToFloat16(onnx::ModelProto&& model,
                                                    const ConvertOptions& options) {
  HALFCAST_RETURN_IF_ERROR(convert::ValidateOptions(options));
  ConvertResult result;
  result.model = std::move(model);
  convert::Conversion conversion(&result.model, options, &result.report);
  HALFCAST_RETURN_IF_ERROR(conversion.Run());
  return result;
}

absl::StatusOr<ConvertResult> ConvertFloatToFloat16(const onnx::ModelProto& model,
                                                    const ConvertOptions& options) {
  HALFCAST_RETURN_IF_ERROR(convert::ValidateOptions(options));
  return ConvertFloatToFloat16(onnx::ModelProto(model), options);
}

}  // namespace halfcast
