// libFuzzer target over the path untrusted bytes take: load -> convert (several option sets) ->
// serialize -> load again. Any crash, sanitizer report or exception escaping is a bug; errors
// returned as statuses are the expected outcome for most inputs.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "halfcast/convert.h"
#include "halfcast/model_io.h"

namespace {

void ConvertAndReload(const onnx::ModelProto& model, const halfcast::ConvertOptions& options) {
  absl::StatusOr<halfcast::ConvertResult> converted =
      halfcast::ConvertFloatToFloat16(model, options);
  if (!converted.ok()) return;
  absl::StatusOr<std::string> bytes = halfcast::SerializeModel(converted->model);
  if (!bytes.ok()) return;
  // What the converter wrote must parse again.
  if (!halfcast::LoadModelFromBytes(*bytes).ok()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::StatusOr<onnx::ModelProto> model =
      halfcast::LoadModelFromBytes(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!model.ok()) return 0;

  halfcast::ConvertOptions options;
  ConvertAndReload(*model, options);

  options.keep_io_types = true;
  options.disable_shape_infer = true;
  options.check_fp16_ready = false;
  options.op_block_list = {"Add", "Conv", "If"};
  ConvertAndReload(*model, options);

  halfcast::ConvertOptions bfloat16;
  bfloat16.target = halfcast::TargetType::kBFloat16;
  ConvertAndReload(*model, bfloat16);
  return 0;
}
