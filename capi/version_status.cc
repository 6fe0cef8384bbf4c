// The C ABI: versions, status objects, library-owned buffers.
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
#include "halfcast/version.h"

static_assert(HALFCAST_C_ABI_VERSION == HALFCAST_ABI_VERSION_FROM_CMAKE,
              "HALFCAST_C_ABI_VERSION in halfcast_c.h differs from HALFCAST_ABI_VERSION in "
              "CMakeLists.txt");

extern "C" {

// ----- versions -----

const char* halfcast_version(void) { return halfcast::Version(); }

int halfcast_abi_version(void) { return HALFCAST_C_ABI_VERSION; }

// ----- status -----

halfcast_status* halfcast_status_create(halfcast_status_code code, const char* message) {
  return NewStatus(code == HALFCAST_OK ? HALFCAST_UNKNOWN : code, message ? message : "");
}

halfcast_status_code halfcast_status_code_of(const halfcast_status* status) {
  return status ? status->code : HALFCAST_OK;
}

const char* halfcast_status_message(const halfcast_status* status) {
  return status ? status->message.c_str() : "";
}

const char* halfcast_status_code_name(halfcast_status_code code) {
  static const char* const kNames[] = {"ok",
                                       "cancelled",
                                       "unknown",
                                       "invalid_argument",
                                       "deadline_exceeded",
                                       "not_found",
                                       "already_exists",
                                       "permission_denied",
                                       "resource_exhausted",
                                       "failed_precondition",
                                       "aborted",
                                       "out_of_range",
                                       "unimplemented",
                                       "internal",
                                       "unavailable",
                                       "data_loss",
                                       "unauthenticated"};
  const int index = static_cast<int>(code);
  if (index < 0 || index >= static_cast<int>(sizeof(kNames) / sizeof(kNames[0]))) {
    return "unknown_code";
  }
  return kNames[index];
}

void halfcast_status_destroy(halfcast_status* status) {
  if (status != halfcast::capi::OutOfMemoryStatus()) delete status;
}

// ----- buffers -----

const void* halfcast_buffer_data(const halfcast_buffer* buffer) {
  return buffer ? buffer->bytes.data() : nullptr;
}

size_t halfcast_buffer_size(const halfcast_buffer* buffer) {
  return buffer ? buffer->bytes.size() : 0;
}

void halfcast_buffer_destroy(halfcast_buffer* buffer) { delete buffer; }

}  // extern "C"
