#include "numerics/bulk_convert.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "numerics/bulk_convert_internal.h"
#include "numerics/float16.h"

namespace halfcast::numerics {
namespace {

using internal::BulkKernels;

uint32_t Bits(float value) { return FloatBits(value); }

// Every implementation this CPU can run, the public dispatcher first.
std::vector<BulkKernels> AllKernels() {
  std::vector<BulkKernels> kernels;
  kernels.push_back({"dispatch",
                     [](const float* in, uint16_t* out, size_t n, TargetType target,
                        const ClipOptions* clip, ClipCounts* counts) {
                       if (clip == nullptr) {
                         Narrow(in, out, n, target);
                       } else {
                         ConvertFloatTo16(in, out, n, target, *clip, counts);
                       }
                     },
                     Widen});
  kernels.push_back(internal::PortableKernels());
  if (const BulkKernels* fast = internal::Avx2F16cKernels()) kernels.push_back(*fast);
  return kernels;
}

bool IsHalfNaN(uint16_t h) { return (h & 0x7FFF) > 0x7C00; }
bool IsBFloat16NaN(uint16_t b) { return (b & 0x7FFF) > 0x7F80; }

TEST(BulkConvertTest, UsesTheVectorKernelWhenTheCpuHasIt) {
  const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c");
  EXPECT_EQ(std::string(BulkKernelName()), has ? "avx2+f16c" : "portable");
}

TEST(BulkConvertTest, AllHalvesWidenExactlyAndRoundTrip) {
  std::vector<uint16_t> halves(65536);
  for (uint32_t i = 0; i < 65536; ++i) halves[i] = static_cast<uint16_t>(i);
  for (const BulkKernels& k : AllKernels()) {
    SCOPED_TRACE(k.name);
    std::vector<float> widened(halves.size());
    k.widen(halves.data(), widened.data(), halves.size(), TargetType::kFloat16);
    std::vector<uint16_t> back(halves.size());
    k.float_to_16(widened.data(), back.data(), widened.size(), TargetType::kFloat16, nullptr,
                  nullptr);
    for (uint32_t h = 0; h < 65536; ++h) {
      ASSERT_EQ(Bits(widened[h]), Bits(HalfToFloat(static_cast<uint16_t>(h)))) << std::hex << h;
      // The value itself, independently of HalfToFloat: sign * mantissa * 2^(exponent).
      const int exponent = (h >> 10) & 0x1F;
      const int mantissa = h & 0x3FF;
      const float sign = (h & 0x8000) ? -1.0f : 1.0f;
      if (exponent == 0) {
        ASSERT_EQ(widened[h], sign * std::ldexp(static_cast<float>(mantissa), -24)) << h;
      } else if (exponent < 31) {
        ASSERT_EQ(widened[h], sign * std::ldexp(static_cast<float>(mantissa + 1024), exponent - 25))
            << h;
      } else if (mantissa == 0) {
        ASSERT_EQ(widened[h], sign * std::numeric_limits<float>::infinity());
      } else {
        ASSERT_TRUE(std::isnan(widened[h])) << h;
      }
      // Narrowing gives the half back; NaN comes back quiet with its payload.
      const uint16_t expected = IsHalfNaN(static_cast<uint16_t>(h)) ? (h | 0x0200) : h;
      ASSERT_EQ(back[h], expected) << std::hex << h;
    }
  }
}

TEST(BulkConvertTest, AllBFloat16WidenExactlyAndRoundTrip) {
  std::vector<uint16_t> values(65536);
  for (uint32_t i = 0; i < 65536; ++i) values[i] = static_cast<uint16_t>(i);
  for (const BulkKernels& k : AllKernels()) {
    SCOPED_TRACE(k.name);
    std::vector<float> widened(values.size());
    k.widen(values.data(), widened.data(), values.size(), TargetType::kBFloat16);
    std::vector<uint16_t> back(values.size());
    k.float_to_16(widened.data(), back.data(), widened.size(), TargetType::kBFloat16, nullptr,
                  nullptr);
    for (uint32_t b = 0; b < 65536; ++b) {
      ASSERT_EQ(Bits(widened[b]), b << 16) << std::hex << b;
      const uint16_t expected = IsBFloat16NaN(static_cast<uint16_t>(b)) ? (b | 0x0040) : b;
      ASSERT_EQ(back[b], expected) << std::hex << b;
    }
  }
}

struct EdgeCase {
  uint32_t float_bits;
  uint16_t half;
  uint16_t bfloat16;
  const char* what;
};

TEST(BulkConvertTest, EdgeCasesRoundToNearestEven) {
  const std::vector<EdgeCase> cases = {
      {0x477FE000, 0x7BFF, 0x4780, "65504, the largest half"},
      {0x477FEFFF, 0x7BFF, 0x4780, "just below 65520 rounds down to 65504"},
      {0x477FF000, 0x7C00, 0x4780, "65520 ties to even: infinity"},
      {0x33800000, 0x0001, 0x3380, "2^-24, the smallest subnormal half"},
      {0x33000000, 0x0000, 0x3300, "2^-25 ties to even: zero"},
      {0x33000001, 0x0001, 0x3300, "just above 2^-25 rounds up"},
      {0xB3000000, 0x8000, 0xB300, "-2^-25: negative zero"},
      {0x33C00000, 0x0002, 0x33C0, "1.5 * 2^-24 ties to even: 2 * 2^-24"},
      {0x34200000, 0x0002, 0x3420, "2.5 * 2^-24 ties to even: 2 * 2^-24"},
      {0x387FC000, 0x03FF, 0x3880, "the largest subnormal half"},
      {0x38800000, 0x0400, 0x3880, "2^-14, the smallest normal half"},
      {0x3F801000, 0x3C00, 0x3F80, "1 + 2^-11 ties to even: 1"},
      {0x3F803000, 0x3C02, 0x3F80, "1 + 3 * 2^-11 ties to even: 1 + 2^-9"},
      {0x3F808000, 0x3C04, 0x3F80, "1 + 2^-8: bfloat16 ties to even, down"},
      {0x3F818000, 0x3C0C, 0x3F82, "1 + 3 * 2^-8: bfloat16 ties to even, up"},
      {0x00000001, 0x0000, 0x0000, "the smallest float32 subnormal"},
      {0x80000001, 0x8000, 0x8000, "a negative float32 subnormal keeps its sign"},
      {0x00000000, 0x0000, 0x0000, "+0"},
      {0x80000000, 0x8000, 0x8000, "-0"},
      {0x7F800000, 0x7C00, 0x7F80, "+inf"},
      {0xFF800000, 0xFC00, 0xFF80, "-inf"},
      {0x7F7FFFFF, 0x7C00, 0x7F80, "float32 max: half overflows; bfloat16 rounds up to inf"},
      {0x7F7F7FFF, 0x7C00, 0x7F7F, "bfloat16 max finite"},
      {0x7FC00000, 0x7E00, 0x7FC0, "quiet NaN"},
      {0x7F800001, 0x7E00, 0x7FC0, "signaling NaN, low payload: quieted"},
      {0x7FA00000, 0x7F00, 0x7FE0, "signaling NaN, high payload kept"},
      {0xFFC12345, 0xFE09, 0xFFC1, "negative NaN keeps sign and top payload"},
      {0xFFFFFFFF, 0xFFFF, 0xFFFF, "all-ones NaN"},
  };
  std::vector<float> in;
  for (const EdgeCase& c : cases) in.push_back(BitsToFloat(c.float_bits));
  // Put them at every position of a vector and in the scalar tail.
  const size_t repeat = 5;
  std::vector<float> many;
  for (size_t r = 0; r < repeat; ++r) many.insert(many.end(), in.begin(), in.end());
  for (const BulkKernels& k : AllKernels()) {
    SCOPED_TRACE(k.name);
    std::vector<uint16_t> half(many.size()), bf16(many.size());
    k.float_to_16(many.data(), half.data(), many.size(), TargetType::kFloat16, nullptr, nullptr);
    k.float_to_16(many.data(), bf16.data(), many.size(), TargetType::kBFloat16, nullptr, nullptr);
    for (size_t i = 0; i < many.size(); ++i) {
      const EdgeCase& c = cases[i % cases.size()];
      EXPECT_EQ(half[i], c.half) << c.what << std::hex << " got 0x" << half[i];
      EXPECT_EQ(bf16[i], c.bfloat16) << c.what << std::hex << " got 0x" << bf16[i];
    }
  }
}

TEST(BulkConvertTest, ClipsLikeThePythonTool) {
  const ClipOptions clip{1e-7f, 1e4f};
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  // value, value after clipping (the float the result must round from)
  const std::vector<std::pair<float, float>> cases = {
      {5e-8f, 1e-7f},   {-5e-8f, -1e-7f},  {1e-45f, 1e-7f}, {1e-7f, 1e-7f},     {2e-7f, 2e-7f},
      {2e4f, 1e4f},     {-3e38f, -1e4f},   {1e4f, 1e4f},    {9999.5f, 9999.5f}, {0.0f, 0.0f},
      {-0.0f, -0.0f},   {inf, inf},        {-inf, -inf},    {nan, nan},         {0.3f, 0.3f},
      {70000.0f, 1e4f}, {-1e-30f, -1e-7f},
  };
  const int64_t expected_below = 4;  // 5e-8, -5e-8, 1e-45, -1e-30
  const int64_t expected_above = 3;  // 2e4, -3e38, 70000
  std::vector<float> in;
  for (const auto& [value, clipped] : cases) in.push_back(value);
  for (TargetType target : {TargetType::kFloat16, TargetType::kBFloat16}) {
    for (const BulkKernels& k : AllKernels()) {
      SCOPED_TRACE(k.name);
      // Repeat so the vector loop sees every case, then once more in the tail.
      std::vector<float> many;
      for (int r = 0; r < 9; ++r) many.insert(many.end(), in.begin(), in.end());
      std::vector<uint16_t> out(many.size());
      ClipCounts counts;
      k.float_to_16(many.data(), out.data(), many.size(), target, &clip, &counts);
      EXPECT_EQ(counts.below_min, 9 * expected_below);
      EXPECT_EQ(counts.above_max, 9 * expected_above);
      for (size_t i = 0; i < many.size(); ++i) {
        const float clipped = cases[i % cases.size()].second;
        const uint16_t expected =
            target == TargetType::kFloat16 ? FloatToHalf(clipped) : FloatToBFloat16(clipped);
        ASSERT_EQ(out[i], expected) << "value " << many[i];
      }
      std::vector<float> back(out.size());
      k.widen(out.data(), back.data(), out.size(), target);
      if (target == TargetType::kFloat16) {
        // 5e-8 becomes float16(1e-7) = 2 * 2^-24 (1e-7 / 2^-24 = 1.68 rounds to 2); 2e4 becomes
        // 1e4, which float16 holds exactly.
        EXPECT_EQ(back[0], std::ldexp(2.0f, -24));
        EXPECT_EQ(back[5], 1e4f);
      } else {
        EXPECT_EQ(back[5], 9984.0f);  // 1e4 in bfloat16's 8 significant bits
      }
      EXPECT_TRUE(std::isnan(back[13]));
    }
  }
}

TEST(BulkConvertTest, CountsAccumulateAndMayBeNull) {
  const ClipOptions clip{1e-3f, 10.0f};
  std::vector<float> in(100, 50.0f);
  std::vector<uint16_t> out(in.size());
  ClipCounts counts;
  ConvertFloatTo16(in.data(), out.data(), in.size(), TargetType::kFloat16, clip, &counts);
  ConvertFloatTo16(in.data(), out.data(), in.size(), TargetType::kFloat16, clip, &counts);
  EXPECT_EQ(counts.above_max, 200);
  EXPECT_EQ(counts.below_min, 0);
  ConvertFloatTo16(in.data(), out.data(), in.size(), TargetType::kFloat16, clip, nullptr);
  EXPECT_EQ(HalfToFloat(out[99]), 10.0f);
}

// Random bit patterns cover every exponent, NaN payloads and subnormals; half of them are drawn
// near the clip bounds and the float16 rounding boundaries.
std::vector<float> RandomFloats(size_t n, uint32_t seed) {
  std::mt19937 random(seed);
  std::vector<float> values(n);
  std::uniform_real_distribution<float> log_magnitude(-30.0f, 20.0f);
  for (size_t i = 0; i < n; ++i) {
    if (i % 2 == 0) {
      values[i] = BitsToFloat(static_cast<uint32_t>(random()));
    } else {
      const float magnitude = std::exp2(log_magnitude(random));
      values[i] = (random() & 1) ? -magnitude : magnitude;
    }
  }
  return values;
}

TEST(BulkConvertTest, VectorAndPortableAgreeOnRandomFloats) {
  const BulkKernels* fast = internal::Avx2F16cKernels();
  if (fast == nullptr) GTEST_SKIP() << "no AVX2/F16C on this CPU";
  const BulkKernels& portable = internal::PortableKernels();
  const std::vector<float> in = RandomFloats(1 << 21, 7);
  const ClipOptions clip{1e-7f, 1e4f};
  for (TargetType target : {TargetType::kFloat16, TargetType::kBFloat16}) {
    for (bool clipping : {false, true}) {
      std::vector<uint16_t> a(in.size()), b(in.size());
      ClipCounts ca, cb;
      fast->float_to_16(in.data(), a.data(), in.size(), target, clipping ? &clip : nullptr,
                        clipping ? &ca : nullptr);
      portable.float_to_16(in.data(), b.data(), in.size(), target, clipping ? &clip : nullptr,
                           clipping ? &cb : nullptr);
      ASSERT_EQ(a, b) << "target " << static_cast<int>(target) << " clip " << clipping;
      EXPECT_EQ(ca.below_min, cb.below_min);
      EXPECT_EQ(ca.above_max, cb.above_max);
      if (clipping) {
        EXPECT_GT(ca.below_min, 1000);
        EXPECT_GT(ca.above_max, 1000);
      }
    }
  }
}

TEST(BulkConvertTest, LargeOutputsAtAnyAlignment) {
  // Outputs of 2^20 values and more take the streaming-store path, which aligns the destination
  // with a scalar prologue first.
  const std::vector<float> in = RandomFloats((1 << 20) + 37, 5);
  const ClipOptions clip{1e-7f, 1e4f};
  std::vector<uint16_t> expected(in.size());
  ClipCounts expected_counts;
  internal::FloatTo16Scalar(in.data(), expected.data(), in.size(), TargetType::kFloat16, &clip,
                            &expected_counts);
  for (size_t offset = 0; offset < 8; offset += 3) {
    std::vector<uint16_t> out(in.size() + 8);
    ClipCounts counts;
    ConvertFloatTo16(in.data(), out.data() + offset, in.size(), TargetType::kFloat16, clip,
                     &counts);
    ASSERT_TRUE(std::equal(expected.begin(), expected.end(), out.begin() + offset)) << offset;
    EXPECT_EQ(counts.below_min, expected_counts.below_min);
    EXPECT_EQ(counts.above_max, expected_counts.above_max);
  }
}

TEST(BulkConvertTest, AgreesWithTheCompilersFloat16) {
  // An oracle independent of float16.h: the compiler's _Float16 conversion (NaN payloads aside).
  const std::vector<float> in = RandomFloats(1 << 20, 11);
  std::vector<uint16_t> out(in.size());
  Narrow(in.data(), out.data(), in.size(), TargetType::kFloat16);
  for (size_t i = 0; i < in.size(); ++i) {
    if (std::isnan(in[i])) {
      ASSERT_TRUE(IsHalfNaN(out[i]));
      continue;
    }
    const _Float16 reference = static_cast<_Float16>(in[i]);
    uint16_t bits;
    std::memcpy(&bits, &reference, sizeof bits);
    ASSERT_EQ(out[i], bits) << in[i];
  }
}

TEST(BulkConvertTest, EveryLengthAndAlignment) {
  const std::vector<float> in = RandomFloats(200, 3);
  const ClipOptions clip{1e-7f, 1e4f};
  std::vector<uint16_t> halves(200);
  for (size_t i = 0; i < halves.size(); ++i) halves[i] = static_cast<uint16_t>(i * 331);
  for (const BulkKernels& k : AllKernels()) {
    SCOPED_TRACE(k.name);
    for (size_t offset = 0; offset < 3; ++offset) {
      for (size_t n = 0; n + offset <= 100; ++n) {
        std::vector<uint16_t> out(n + 2, 0xABCD), expected(n);
        ClipCounts counts, expected_counts;
        k.float_to_16(in.data() + offset, out.data() + 1, n, TargetType::kFloat16, &clip, &counts);
        internal::FloatTo16Scalar(in.data() + offset, expected.data(), n, TargetType::kFloat16,
                                  &clip, &expected_counts);
        ASSERT_EQ(std::vector<uint16_t>(out.begin() + 1, out.end() - 1), expected) << n;
        ASSERT_EQ(out.front(), 0xABCD);  // nothing written outside [0, n)
        ASSERT_EQ(out.back(), 0xABCD);
        ASSERT_EQ(counts.below_min, expected_counts.below_min);
        ASSERT_EQ(counts.above_max, expected_counts.above_max);

        std::vector<float> widened(n + 2, -7.0f);
        k.widen(halves.data() + offset, widened.data() + 1, n, TargetType::kFloat16);
        for (size_t i = 0; i < n; ++i) {
          ASSERT_EQ(Bits(widened[i + 1]), Bits(HalfToFloat(halves[offset + i])));
        }
        ASSERT_EQ(widened.front(), -7.0f);
        ASSERT_EQ(widened.back(), -7.0f);
      }
    }
  }
}

}  // namespace
}  // namespace halfcast::numerics
