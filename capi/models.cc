// The C ABI: loading, saving and serializing models.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "capi/c_api_internal.h"
#include "common/status_macros.h"
#include "halfcast/model_io.h"

extern "C" {

// ----- models -----

halfcast_status* halfcast_model_load_file(const char* path, halfcast_model** out_model) {
  HALFCAST_C_REQUIRE(path);
  HALFCAST_C_REQUIRE(out_model);
  return Guard([&]() -> absl::Status {
    HALFCAST_ASSIGN_OR_RETURN(onnx::ModelProto proto, halfcast::LoadModel(path));
    *out_model = new halfcast_model{std::move(proto)};
    return absl::OkStatus();
  });
}

halfcast_status* halfcast_model_load_bytes(const void* data, size_t size,
                                           halfcast_model** out_model) {
  if (size > 0) HALFCAST_C_REQUIRE(data);
  HALFCAST_C_REQUIRE(out_model);
  return Guard([&]() -> absl::Status {
    HALFCAST_ASSIGN_OR_RETURN(onnx::ModelProto proto, halfcast::LoadModelFromBytes(std::string_view(
                                                          static_cast<const char*>(data), size)));
    *out_model = new halfcast_model{std::move(proto)};
    return absl::OkStatus();
  });
}

halfcast_status* halfcast_save_options_create(halfcast_save_options** out) {
  HALFCAST_C_REQUIRE(out);
  return Guard([&] {
    *out = new halfcast_save_options();
    return absl::OkStatus();
  });
}

void halfcast_save_options_destroy(halfcast_save_options* options) { delete options; }

halfcast_status* halfcast_save_options_set_external_data(halfcast_save_options* options,
                                                         int external_data, int64_t threshold_bytes,
                                                         const char* file_name) {
  HALFCAST_C_REQUIRE(options);
  return Guard([&] {
    if (threshold_bytes < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("external data threshold must be >= 0, not ", threshold_bytes));
    }
    halfcast::SaveOptions save;
    save.external_data = external_data != 0;
    save.external_data_threshold = threshold_bytes;
    save.external_data_file = file_name ? file_name : "";
    options->options = std::move(save);
    return absl::OkStatus();
  });
}

halfcast_status* halfcast_model_save(const halfcast_model* model, const char* path,
                                     const halfcast_save_options* options) {
  HALFCAST_C_REQUIRE(model);
  HALFCAST_C_REQUIRE(path);
  return Guard([&] {
    return halfcast::SaveModel(model->proto, path,
                               options ? options->options : halfcast::SaveOptions());
  });
}

halfcast_status* halfcast_model_serialize(const halfcast_model* model,
                                          halfcast_buffer** out_buffer) {
  HALFCAST_C_REQUIRE(model);
  HALFCAST_C_REQUIRE(out_buffer);
  return Guard([&]() -> absl::Status {
    HALFCAST_ASSIGN_OR_RETURN(std::string bytes, halfcast::SerializeModel(model->proto));
    *out_buffer = new halfcast_buffer{std::move(bytes)};
    return absl::OkStatus();
  });
}

void halfcast_model_destroy(halfcast_model* model) { delete model; }

}  // extern "C"
