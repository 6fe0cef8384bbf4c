// The bulk float32 -> float16 kernel (exact round-to-nearest-even with clipping) against memcpy
// of the same float32 input, measured in the same run. Throughput is bytes of float32 input per
// second for every benchmark, so the figures compare directly. Sizes: 256 KiB (cache-resident)
// and 256 MiB (memory-bound, the case of big initializers).
//
//   halfcast_bench_numerics --benchmark_min_time=1
#include <cstring>
#include <random>
#include <vector>

#include "benchmark/benchmark.h"
#include "numerics/bulk_convert.h"
#include "numerics/bulk_convert_internal.h"

namespace halfcast::numerics {
namespace {

std::vector<float> Input(size_t n) {
  std::mt19937 random(1);
  std::normal_distribution<float> weights(0.0f, 0.05f);  // typical weights; some clip below
  std::vector<float> values(n);
  for (float& v : values) v = weights(random);
  return values;
}

void SetThroughput(benchmark::State& state, size_t n) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(n * sizeof(float)));
}

void BM_Memcpy(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<float> in = Input(n);
  std::vector<float> out(n);
  for (auto _ : state) {
    std::memcpy(out.data(), in.data(), n * sizeof(float));
    benchmark::ClobberMemory();
  }
  SetThroughput(state, n);
}

void BM_ConvertClipped(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<float> in = Input(n);
  std::vector<uint16_t> out(n);
  const ClipOptions clip{1e-7f, 1e4f};
  ClipCounts counts;
  for (auto _ : state) {
    ConvertFloatTo16(in.data(), out.data(), n, TargetType::kFloat16, clip, &counts);
    benchmark::ClobberMemory();
  }
  SetThroughput(state, n);
  state.SetLabel(BulkKernelName());
}

void BM_ConvertClippedPortable(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<float> in = Input(n);
  std::vector<uint16_t> out(n);
  const ClipOptions clip{1e-7f, 1e4f};
  ClipCounts counts;
  for (auto _ : state) {
    internal::PortableKernels().float_to_16(in.data(), out.data(), n, TargetType::kFloat16, &clip,
                                            &counts);
    benchmark::ClobberMemory();
  }
  SetThroughput(state, n);
}

void BM_ConvertClippedBFloat16(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<float> in = Input(n);
  std::vector<uint16_t> out(n);
  const ClipOptions clip{1e-7f, 1e4f};
  ClipCounts counts;
  for (auto _ : state) {
    ConvertFloatTo16(in.data(), out.data(), n, TargetType::kBFloat16, clip, &counts);
    benchmark::ClobberMemory();
  }
  SetThroughput(state, n);
}

void BM_Widen(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  std::vector<uint16_t> in(n);
  Narrow(Input(n).data(), in.data(), n, TargetType::kFloat16);
  std::vector<float> out(n);
  for (auto _ : state) {
    Widen(in.data(), out.data(), n, TargetType::kFloat16);
    benchmark::ClobberMemory();
  }
  SetThroughput(state, n);  // float32 output bytes, for comparison with memcpy
}

constexpr int64_t kSmall = 64 << 10;  // 256 KiB of float32
constexpr int64_t kLarge = 64 << 20;  // 256 MiB of float32

BENCHMARK(BM_Memcpy)->Arg(kSmall)->Arg(kLarge);
BENCHMARK(BM_ConvertClipped)->Arg(kSmall)->Arg(kLarge);
BENCHMARK(BM_ConvertClippedPortable)->Arg(kSmall)->Arg(kLarge);
BENCHMARK(BM_ConvertClippedBFloat16)->Arg(kSmall)->Arg(kLarge);
BENCHMARK(BM_Widen)->Arg(kSmall)->Arg(kLarge);

}  // namespace
}  // namespace halfcast::numerics

BENCHMARK_MAIN();
