// onnx throws (onnx::checker::ValidationError, onnx::InferenceError, std::exception); halfcast
// reports absl::Status. Every call into onnx goes through CallOnnx so nothing escapes.
#ifndef HALFCAST_COMMON_ONNX_ADAPTER_H_
#define HALFCAST_COMMON_ONNX_ADAPTER_H_

#include <exception>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace halfcast {

// Runs `fn` (returning void), converting any exception into an error status whose message
// starts with `what` (e.g. "onnx checker").
template <typename Fn>
absl::Status CallOnnx(std::string_view what, Fn&& fn,
                      absl::StatusCode code = absl::StatusCode::kInvalidArgument) {
  try {
    std::forward<Fn>(fn)();
    return absl::OkStatus();
  } catch (const std::exception& e) {
    // Debian's Abseil has its own string_view type, which StrCat needs.
    return absl::Status(code, absl::StrCat(absl::string_view(what.data(), what.size()), ": ",
                                           e.what()));
  } catch (...) {
    return absl::Status(code, absl::StrCat(absl::string_view(what.data(), what.size()),
                                           ": unknown exception"));
  }
}

}  // namespace halfcast

#endif  // HALFCAST_COMMON_ONNX_ADAPTER_H_
