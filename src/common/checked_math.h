// Element counts and byte sizes computed without overflow: hostile files carry dims such as
// [2^40, 2^40], whose product wraps around int64 (undefined behaviour) and looks small.
#ifndef HALFCAST_COMMON_CHECKED_MATH_H_
#define HALFCAST_COMMON_CHECKED_MATH_H_

#include <cstdint>
#include <optional>

namespace halfcast {

// The product of `dims` (any range of int64_t); nullopt when a dimension is negative or the
// product overflows int64. A zero dimension makes it 0 whatever the others are.
template <typename Dims>
std::optional<int64_t> CheckedElementProduct(const Dims& dims) {
  int64_t count = 1;
  bool overflow = false;
  for (int64_t d : dims) {
    if (d < 0) return std::nullopt;
    if (d == 0) return 0;
    if (!overflow && __builtin_mul_overflow(count, d, &count)) overflow = true;
  }
  if (overflow) return std::nullopt;
  return count;
}

// `count` elements of `element_bits` bits each, rounded up to whole bytes (4-bit types pack two
// a byte); nullopt on overflow.
inline std::optional<int64_t> CheckedByteSize(int64_t count, int element_bits) {
  int64_t bits = 0;
  if (count < 0 || __builtin_mul_overflow(count, static_cast<int64_t>(element_bits), &bits)) {
    return std::nullopt;
  }
  return bits / 8 + (bits % 8 != 0 ? 1 : 0);
}

}  // namespace halfcast

#endif  // HALFCAST_COMMON_CHECKED_MATH_H_
