// Bit-exact conversions between float32 and the 16-bit float types (IEEE binary16 and
// bfloat16), scalar. Bulk conversion with clipping is in bulk_convert.h.
//
// Rounding is to nearest, ties to even, as IEEE 754 and numpy do. NaN stays NaN (quiet, sign and
// the top payload bits kept); values beyond the largest finite half round to +-inf.
#ifndef HALFCAST_NUMERICS_FLOAT16_H_
#define HALFCAST_NUMERICS_FLOAT16_H_

#include <cstdint>
#include <cstring>

namespace halfcast::numerics {

// Named bit patterns.
inline constexpr uint16_t kHalfPositiveZero = 0x0000;
inline constexpr uint16_t kHalfNegativeZero = 0x8000;
inline constexpr uint16_t kHalfPositiveInfinity = 0x7C00;
inline constexpr uint16_t kHalfNegativeInfinity = 0xFC00;
inline constexpr uint16_t kHalfQuietNaN = 0x7E00;
inline constexpr uint16_t kHalfMaxFinite = 0x7BFF;        // 65504
inline constexpr uint16_t kHalfMinNormal = 0x0400;        // 2^-14
inline constexpr uint16_t kHalfMinSubnormal = 0x0001;     // 2^-24
inline constexpr float kHalfMaxFiniteValue = 65504.0f;
inline constexpr uint16_t kBFloat16PositiveInfinity = 0x7F80;
inline constexpr uint16_t kBFloat16QuietNaN = 0x7FC0;
inline constexpr uint16_t kBFloat16MaxFinite = 0x7F7F;    // 3.3895314e38
inline constexpr float kBFloat16MaxFiniteValue = 3.38953139e38f;

inline uint32_t FloatBits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

inline float BitsToFloat(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

inline uint16_t FloatToHalf(float value) {
  const uint32_t bits = FloatBits(value);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t abs_bits = bits & 0x7FFFFFFFu;
  if (abs_bits >= 0x7F800000u) {  // inf or NaN
    if (abs_bits == 0x7F800000u) return sign | kHalfPositiveInfinity;
    // Quiet NaN keeping the top payload bits.
    return static_cast<uint16_t>(sign | 0x7E00u | ((abs_bits >> 13) & 0x03FFu));
  }
  if (abs_bits >= 0x477FF000u) return sign | kHalfPositiveInfinity;  // rounds past 65504
  if (abs_bits >= 0x38800000u) {  // normal half: rebias exponent, round mantissa to 10 bits
    const uint32_t mantissa_odd = (abs_bits >> 13) & 1u;
    const uint32_t rounded = abs_bits + 0x0FFFu + mantissa_odd;
    return static_cast<uint16_t>(sign | ((rounded - 0x38000000u) >> 13));
  }
  if (abs_bits < 0x33000000u) return sign;  // below half of 2^-24: rounds to zero
  // Subnormal half: shift the mantissa (with implicit 1) right, round to nearest even.
  const uint32_t exponent = abs_bits >> 23;
  const uint32_t mantissa = (abs_bits & 0x007FFFFFu) | 0x00800000u;
  const uint32_t shift = 126u - exponent;  // 14..24
  const uint32_t half_mantissa = mantissa >> shift;
  const uint32_t remainder = mantissa & ((1u << shift) - 1u);
  const uint32_t halfway = 1u << (shift - 1u);
  const uint32_t round_up =
      (remainder > halfway || (remainder == halfway && (half_mantissa & 1u))) ? 1u : 0u;
  return static_cast<uint16_t>(sign | (half_mantissa + round_up));
}

inline float HalfToFloat(uint16_t half) {
  const uint32_t sign = static_cast<uint32_t>(half & 0x8000u) << 16;
  const uint32_t exponent = (half >> 10) & 0x1Fu;
  const uint32_t mantissa = half & 0x03FFu;
  if (exponent == 0x1Fu) return BitsToFloat(sign | 0x7F800000u | (mantissa << 13));
  if (exponent != 0) return BitsToFloat(sign | ((exponent + 112u) << 23) | (mantissa << 13));
  if (mantissa == 0) return BitsToFloat(sign);
  // Subnormal half: value = mantissa * 2^-24, exact in float32.
  const float magnitude = static_cast<float>(mantissa) * 5.9604644775390625e-08f;
  return sign ? -magnitude : magnitude;
}

inline uint16_t FloatToBFloat16(float value) {
  const uint32_t bits = FloatBits(value);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) {  // NaN: quiet, keep sign and top payload
    return static_cast<uint16_t>((bits >> 16) | 0x0040u);
  }
  const uint32_t lsb = (bits >> 16) & 1u;
  return static_cast<uint16_t>((bits + 0x7FFFu + lsb) >> 16);
}

inline float BFloat16ToFloat(uint16_t value) {
  return BitsToFloat(static_cast<uint32_t>(value) << 16);
}

}  // namespace halfcast::numerics

#endif  // HALFCAST_NUMERICS_FLOAT16_H_
