/* A tiny assertion harness for the C API tests (they are written in C, as the ABI's users are).
 * CHECK records a failure and goes on; CHECK_OK / CHECK_CODE also destroy the status. main()
 * runs the test functions given to RUN_TESTS and exits non-zero if any check failed. */
#ifndef HALFCAST_TESTS_CAPI_CHECK_H_
#define HALFCAST_TESTS_CAPI_CHECK_H_

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "halfcast/halfcast_c.h"

static int check_failures = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++check_failures;                                                        \
    }                                                                          \
  } while (0)

/* `expr` must return NULL (success). */
#define CHECK_OK(expr)                                                           \
  do {                                                                           \
    halfcast_status* check_status_ = (expr);                                     \
    if (check_status_ != NULL) {                                                 \
      fprintf(stderr, "%s:%d: %s failed: %s: %s\n", __FILE__, __LINE__, #expr,   \
              halfcast_status_code_name(halfcast_status_code_of(check_status_)), \
              halfcast_status_message(check_status_));                           \
      ++check_failures;                                                          \
      halfcast_status_destroy(check_status_);                                    \
    }                                                                            \
  } while (0)

/* `expr` must fail with `code` and a message containing `fragment` (may be ""). */
#define CHECK_CODE(expr, code, fragment)                                                          \
  do {                                                                                            \
    halfcast_status* check_status_ = (expr);                                                      \
    if (check_status_ == NULL) {                                                                  \
      fprintf(stderr, "%s:%d: %s succeeded, expected %s\n", __FILE__, __LINE__, #expr,            \
              halfcast_status_code_name(code));                                                   \
      ++check_failures;                                                                           \
    } else if (halfcast_status_code_of(check_status_) != (code) ||                                \
               strstr(halfcast_status_message(check_status_), (fragment)) == NULL) {              \
      fprintf(stderr, "%s:%d: %s gave %s: \"%s\", expected %s with \"%s\"\n", __FILE__, __LINE__, \
              #expr, halfcast_status_code_name(halfcast_status_code_of(check_status_)),           \
              halfcast_status_message(check_status_), halfcast_status_code_name(code),            \
              (fragment));                                                                        \
      ++check_failures;                                                                           \
    }                                                                                             \
    halfcast_status_destroy(check_status_);                                                       \
  } while (0)

/* `expr` must fail, with any code. */
#define CHECK_FAILS(expr)                                                                     \
  do {                                                                                        \
    halfcast_status* check_status_ = (expr);                                                  \
    if (check_status_ == NULL) {                                                              \
      fprintf(stderr, "%s:%d: %s succeeded, expected an error\n", __FILE__, __LINE__, #expr); \
      ++check_failures;                                                                       \
    }                                                                                         \
    halfcast_status_destroy(check_status_);                                                   \
  } while (0)

typedef struct test_case {
  const char* name;
  void (*fn)(void);
} test_case;

#define TEST(fn) \
  { #fn, fn }

static inline int run_tests(const test_case* tests, size_t count) {
  size_t i;
  for (i = 0; i < count; ++i) {
    const int before = check_failures;
    tests[i].fn();
    fprintf(stderr, "[%s] %s\n", check_failures == before ? "  OK  " : "FAILED", tests[i].name);
  }
  fprintf(stderr, "%d check(s) failed\n", check_failures);
  return check_failures == 0 ? 0 : 1;
}

#define RUN_TESTS(...)                                         \
  int main(void) {                                             \
    static const test_case tests[] = {__VA_ARGS__};            \
    return run_tests(tests, sizeof(tests) / sizeof(tests[0])); \
  }

/* IEEE binary16 bits -> float, for reading float16 outputs in callbacks. */
static inline float half_to_float(uint16_t h) {
  const int sign = (h >> 15) & 1;
  const int exponent = (h >> 10) & 0x1f;
  const int mantissa = h & 0x3ff;
  float value;
  if (exponent == 0) {
    value = ldexpf((float)mantissa, -24);
  } else if (exponent == 31) {
    value = mantissa ? NAN : INFINITY;
  } else {
    value = ldexpf((float)(mantissa | 0x400), exponent - 25);
  }
  return sign ? -value : value;
}

/* Element `i` of a float32 or float16 tensor as a float. */
static inline float tensor_float_at(const halfcast_tensor* tensor, int64_t i) {
  if (halfcast_tensor_element_type(tensor) == HALFCAST_ELEMENT_FLOAT16) {
    return half_to_float(((const uint16_t*)halfcast_tensor_data(tensor))[i]);
  }
  return ((const float*)halfcast_tensor_data(tensor))[i];
}

#endif /* HALFCAST_TESTS_CAPI_CHECK_H_ */
