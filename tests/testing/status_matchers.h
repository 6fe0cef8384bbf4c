// GoogleTest matchers for absl::Status / StatusOr (Abseil 20220623 ships none).
//   EXPECT_THAT(LoadModel(path), StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing")));
//   ASSERT_OK(status);  ASSERT_OK_AND_ASSIGN(auto model, LoadModel(path));
#ifndef HALFCAST_TESTING_STATUS_MATCHERS_H_
#define HALFCAST_TESTING_STATUS_MATCHERS_H_

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/status_macros.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace halfcast::testing {

inline const absl::Status& GetStatus(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

MATCHER(IsOk, "is OK") {
  const absl::Status& s = ::halfcast::testing::GetStatus(arg);
  if (!s.ok()) *result_listener << "status: " << s;
  return s.ok();
}

MATCHER_P2(StatusIs, code, message_matcher,
           "has code " + ::testing::PrintToString(code) + " and a matching message") {
  const absl::Status& s = ::halfcast::testing::GetStatus(arg);
  *result_listener << "status: " << s;
  return s.code() == code &&
         ::testing::Matches(message_matcher)(std::string(s.message()));
}

}  // namespace halfcast::testing

#define ASSERT_OK(expr) ASSERT_THAT((expr), ::halfcast::testing::IsOk())
#define EXPECT_OK(expr) EXPECT_THAT((expr), ::halfcast::testing::IsOk())
#define ASSERT_OK_AND_ASSIGN(lhs, expr)                                                  \
  ASSERT_OK_AND_ASSIGN_IMPL_(HALFCAST_CONCAT_(halfcast_test_statusor_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                               \
  ASSERT_OK(statusor.status());                         \
  lhs = std::move(statusor).value()

#endif  // HALFCAST_TESTING_STATUS_MATCHERS_H_
