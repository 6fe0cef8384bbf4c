// The F16C/AVX2 kernels. Only these functions carry the target attribute (no file-wide -mavx2):
// inline functions of shared headers compiled in this file must stay runnable on any x86-64,
// since the linker may keep this file's copy of them.
#include "numerics/bulk_convert_internal.h"

#if defined(__x86_64__) || defined(__i386__)

#include <cpuid.h>
#include <immintrin.h>

#include <algorithm>

#define HALFCAST_AVX2 __attribute__((target("avx2,f16c")))

namespace halfcast::numerics::internal {
namespace {

// Lane counters are 32-bit: fold them into the 64-bit totals before they could overflow.
constexpr size_t kCountBlock = size_t{1} << 30;
// Outputs of at least this many values (2 MiB) are written with streaming stores: they would not
// stay in the caches anyway.
constexpr size_t kStreamThreshold = size_t{1} << 20;
// On that path the input is prefetched a page ahead (about 10% faster than the hardware
// prefetcher alone in bench/bulk_convert_numerics_bench.cc).
constexpr size_t kPrefetchBytes = 4096;

struct ClipConstants {
  __m256 abs_mask, min, max, infinity, zero;
};

HALFCAST_AVX2 inline ClipConstants MakeClipConstants(const ClipOptions& clip) {
  return {_mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF)), _mm256_set1_ps(clip.min_positive_val),
          _mm256_set1_ps(clip.max_finite_val), _mm256_set1_ps(__builtin_inff()),
          _mm256_setzero_ps()};
}

// The ClipValue rule on 8 lanes; each clipped lane subtracts 1 (an all-ones mask) from its
// counter lane. Ordered comparisons are false for NaN, so NaN passes unchanged.
HALFCAST_AVX2 inline __m256 Clip8(__m256 x, const ClipConstants& c, __m256i* below,
                                  __m256i* above) {
  const __m256 magnitude = _mm256_and_ps(x, c.abs_mask);
  const __m256 sign = _mm256_andnot_ps(c.abs_mask, x);
  const __m256 is_below = _mm256_and_ps(_mm256_cmp_ps(magnitude, c.min, _CMP_LT_OQ),
                                        _mm256_cmp_ps(magnitude, c.zero, _CMP_GT_OQ));
  const __m256 is_above = _mm256_and_ps(_mm256_cmp_ps(magnitude, c.max, _CMP_GT_OQ),
                                        _mm256_cmp_ps(magnitude, c.infinity, _CMP_LT_OQ));
  x = _mm256_blendv_ps(x, _mm256_or_ps(sign, c.min), is_below);
  x = _mm256_blendv_ps(x, _mm256_or_ps(sign, c.max), is_above);
  *below = _mm256_sub_epi32(*below, _mm256_castps_si256(is_below));
  *above = _mm256_sub_epi32(*above, _mm256_castps_si256(is_above));
  return x;
}

HALFCAST_AVX2 inline int64_t SumLanes(__m256i v) {
  alignas(32) int32_t lanes[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), v);
  int64_t sum = 0;
  for (int32_t lane : lanes) sum += static_cast<uint32_t>(lane);
  return sum;
}

struct RoundToHalf {
  HALFCAST_AVX2 static __m128i Round8(__m256 x) {
    return _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
};

// float32 bits + 0x7FFF + (bit 16), shifted down: round to nearest even on the upper half; NaN
// keeps its sign and top payload and gets the quiet bit, as FloatToBFloat16 does.
struct RoundToBFloat16 {
  HALFCAST_AVX2 static __m128i Round8(__m256 x) {
    const __m256i bits = _mm256_castps_si256(x);
    const __m256i upper = _mm256_srli_epi32(bits, 16);
    const __m256i lsb = _mm256_and_si256(upper, _mm256_set1_epi32(1));
    const __m256i rounded = _mm256_srli_epi32(
        _mm256_add_epi32(_mm256_add_epi32(bits, _mm256_set1_epi32(0x7FFF)), lsb), 16);
    const __m256i is_nan = _mm256_cmpgt_epi32(_mm256_and_si256(bits, _mm256_set1_epi32(0x7FFFFFFF)),
                                              _mm256_set1_epi32(0x7F800000));
    const __m256i quiet_nan = _mm256_or_si256(upper, _mm256_set1_epi32(0x0040));
    const __m256i result = _mm256_blendv_epi8(rounded, quiet_nan, is_nan);
    // Every lane is <= 0xFFFF, so the unsigned-saturating pack is a plain narrowing.
    return _mm_packus_epi32(_mm256_castsi256_si128(result), _mm256_extracti128_si256(result, 1));
  }
};

// kStream: non-temporal stores, which skip reading the output's cache lines before writing them
// (a third of the memory traffic for outputs far bigger than the caches). Full 32-byte stores
// either way: two rounded vectors are joined before storing.
template <typename Rounder, bool kClip, bool kStream>
HALFCAST_AVX2 void FloatTo16Loop(const float* in, uint16_t* out, size_t n, TargetType target,
                                 const ClipOptions* clip, ClipCounts* counts) {
  ClipConstants constants;
  if constexpr (kClip) constants = MakeClipConstants(*clip);
  size_t i = 0;
  if constexpr (kStream) {  // streaming stores need 32-byte aligned destinations
    const size_t misaligned = (reinterpret_cast<uintptr_t>(out) % 32) / sizeof(uint16_t);
    i = std::min(n, misaligned == 0 ? size_t{0} : 16 - misaligned);
    FloatTo16Scalar(in, out, i, target, clip, counts);
  }
  while (n - i >= 16) {
    const size_t block_end = i + std::min(n - i, kCountBlock) / 16 * 16;
    __m256i below = _mm256_setzero_si256();
    __m256i above = _mm256_setzero_si256();
    auto convert16 = [&](size_t at) HALFCAST_AVX2 {
      if constexpr (kStream) {
        constexpr size_t kAhead = kPrefetchBytes / sizeof(float);
        if (n - at > kAhead)
          _mm_prefetch(reinterpret_cast<const char*>(in + at + kAhead), _MM_HINT_T0);
      }
      __m256 low = _mm256_loadu_ps(in + at);
      __m256 high = _mm256_loadu_ps(in + at + 8);
      if constexpr (kClip) {
        low = Clip8(low, constants, &below, &above);
        high = Clip8(high, constants, &below, &above);
      }
      const __m256i rounded = _mm256_set_m128i(Rounder::Round8(high), Rounder::Round8(low));
      __m256i* destination = reinterpret_cast<__m256i*>(out + at);
      if constexpr (kStream) {
        _mm256_stream_si256(destination, rounded);
      } else {
        _mm256_storeu_si256(destination, rounded);
      }
    };
    for (; block_end - i >= 32; i += 32) {
      convert16(i);
      convert16(i + 16);
    }
    for (; i < block_end; i += 16) convert16(i);
    if constexpr (kClip) {
      counts->below_min += SumLanes(below);
      counts->above_max += SumLanes(above);
    }
  }
  if constexpr (kStream) _mm_sfence();
  FloatTo16Scalar(in + i, out + i, n - i, target, clip, counts);
}

template <typename Rounder>
HALFCAST_AVX2 void FloatTo16Dispatch(const float* in, uint16_t* out, size_t n, TargetType target,
                                     const ClipOptions* clip, ClipCounts* counts) {
  if (n >= kStreamThreshold) {
    clip != nullptr ? FloatTo16Loop<Rounder, true, true>(in, out, n, target, clip, counts)
                    : FloatTo16Loop<Rounder, false, true>(in, out, n, target, clip, counts);
  } else {
    clip != nullptr ? FloatTo16Loop<Rounder, true, false>(in, out, n, target, clip, counts)
                    : FloatTo16Loop<Rounder, false, false>(in, out, n, target, clip, counts);
  }
}

HALFCAST_AVX2 void FloatTo16Avx2(const float* in, uint16_t* out, size_t n, TargetType target,
                                 const ClipOptions* clip, ClipCounts* counts) {
  if (target == TargetType::kFloat16) {
    FloatTo16Dispatch<RoundToHalf>(in, out, n, target, clip, counts);
  } else {
    FloatTo16Dispatch<RoundToBFloat16>(in, out, n, target, clip, counts);
  }
}

// vcvtph2ps quiets signaling NaNs (sets the top mantissa bit); HalfToFloat, like numpy, keeps
// the payload as is. NaN lanes are rebuilt from the half's bits to stay bit-identical.
HALFCAST_AVX2 inline __m256 HalfToFloat8(__m128i half) {
  const __m256 widened = _mm256_cvtph_ps(half);
  const __m256i bits = _mm256_cvtepu16_epi32(half);
  const __m256i magnitude = _mm256_and_si256(bits, _mm256_set1_epi32(0x7FFF));
  const __m256i is_nan = _mm256_cmpgt_epi32(magnitude, _mm256_set1_epi32(0x7C00));
  const __m256i sign = _mm256_slli_epi32(_mm256_and_si256(bits, _mm256_set1_epi32(0x8000)), 16);
  const __m256i nan =
      _mm256_or_si256(_mm256_or_si256(sign, _mm256_set1_epi32(0x7F800000)),
                      _mm256_slli_epi32(_mm256_and_si256(bits, _mm256_set1_epi32(0x03FF)), 13));
  return _mm256_blendv_ps(widened, _mm256_castsi256_ps(nan), _mm256_castsi256_ps(is_nan));
}

HALFCAST_AVX2 void WidenAvx2(const uint16_t* in, float* out, size_t n, TargetType target) {
  size_t i = 0;
  if (target == TargetType::kFloat16) {
    for (; n - i >= 8; i += 8) {
      const __m128i half = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
      _mm256_storeu_ps(out + i, HalfToFloat8(half));
    }
  } else {
    for (; n - i >= 8; i += 8) {
      const __m128i bf16 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i),
                          _mm256_slli_epi32(_mm256_cvtepu16_epi32(bf16), 16));
    }
  }
  PortableKernels().widen(in + i, out + i, n - i, target);
}

}  // namespace

const BulkKernels* Avx2F16cKernels() {
  static const bool kSupported = [] {
    __builtin_cpu_init();
    // F16C is CPUID leaf 1, ECX bit 29; asked directly because clang's __builtin_cpu_supports
    // does not know "f16c". AVX2 implies the OS saves the YMM registers (checked by the builtin).
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29)) != 0;
    return __builtin_cpu_supports("avx2") && f16c;
  }();
  static constexpr BulkKernels kAvx2 = {"avx2+f16c", FloatTo16Avx2, WidenAvx2};
  return kSupported ? &kAvx2 : nullptr;
}

}  // namespace halfcast::numerics::internal

#else  // not x86

namespace halfcast::numerics::internal {
const BulkKernels* Avx2F16cKernels() { return nullptr; }
}  // namespace halfcast::numerics::internal

#endif
