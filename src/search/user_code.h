// Calls into code the user supplied (validate_fn, the progress callback, an Evaluator).
#ifndef HALFCAST_SEARCH_USER_CODE_H_
#define HALFCAST_SEARCH_USER_CODE_H_

#include <exception>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace halfcast::search {

// Runs `fn`, which returns an absl::StatusOr; an exception it throws becomes an Unknown status
// naming `what`. The API asks callbacks not to throw, but one that does must stop the search
// with an error, not unwind through it (and through a C caller).
template <typename Fn>
auto CallUserCode(absl::string_view what, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return absl::UnknownError(absl::StrCat(what, " threw an exception: ", e.what()));
  } catch (...) {
    return absl::UnknownError(absl::StrCat(what, " threw an exception"));
  }
}

}  // namespace halfcast::search

#endif  // HALFCAST_SEARCH_USER_CODE_H_
