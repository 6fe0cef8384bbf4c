// Status propagation macros (Abseil 20220623 ships none).
#ifndef HALFCAST_COMMON_STATUS_MACROS_H_
#define HALFCAST_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define HALFCAST_CONCAT_INNER_(a, b) a##b
#define HALFCAST_CONCAT_(a, b) HALFCAST_CONCAT_INNER_(a, b)

// Returns the status of `expr` from the enclosing function unless it is OK.
#define HALFCAST_RETURN_IF_ERROR(expr)                  \
  do {                                                  \
    ::absl::Status halfcast_status_ = (expr);           \
    if (!halfcast_status_.ok()) return halfcast_status_; \
  } while (0)

// `HALFCAST_ASSIGN_OR_RETURN(auto x, F());` assigns the value of a StatusOr or returns its error.
#define HALFCAST_ASSIGN_OR_RETURN(lhs, expr) \
  HALFCAST_ASSIGN_OR_RETURN_IMPL_(HALFCAST_CONCAT_(halfcast_statusor_, __LINE__), lhs, expr)
#define HALFCAST_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                    \
  if (!statusor.ok()) return std::move(statusor).status();   \
  lhs = std::move(statusor).value()

#endif  // HALFCAST_COMMON_STATUS_MACROS_H_
