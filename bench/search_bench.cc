// Both search strategies on every shared model, rtol 0.01 / atol 0.001, keep_io_types true.
// Counters: evaluations (float32 reference included), nodes kept in float32 by the search, and
// whether it succeeded. One iteration each: a search is deterministic.
#include <string>

#include "benchmark/benchmark.h"
#include "halfcast/mixed_precision.h"
#include "halfcast/model_io.h"
#include "search/model_feeds.h"

namespace halfcast {
namespace {

void BM_Search(benchmark::State& state, const search::testing::SharedModel& shared,
               SearchStrategy strategy) {
  absl::StatusOr<onnx::ModelProto> model =
      LoadModel(std::string(HALFCAST_TEST_DATA_DIR) + "/models/" + shared.file);
  if (!model.ok()) {
    state.SkipWithError(std::string(model.status().message()).c_str());
    return;
  }
  MixedPrecisionOptions options;
  options.rtol = 0.01;
  options.atol = 0.001;
  options.keep_io_types = true;
  options.strategy = strategy;
  for (auto _ : state) {
    absl::StatusOr<MixedPrecisionResult> result =
        AutoConvertMixedPrecision(*model, {shared.feed}, options);
    if (!result.ok()) {
      state.SkipWithError(std::string(result.status().message()).c_str());
      return;
    }
    int64_t kept = 0;
    for (const KeptNode& node : result->report.conversion.kept_nodes) {
      if (node.reason == KeepReason::kSearch) ++kept;
    }
    state.counters["evaluations"] = static_cast<double>(result->report.evaluations);
    state.counters["kept_by_search"] = static_cast<double>(kept);
  }
}

int RegisterAll() {
  for (const search::testing::SharedModel& shared : search::testing::SharedModels()) {
    for (SearchStrategy strategy : {SearchStrategy::kErrorGuided, SearchStrategy::kBisect}) {
      const std::string name = "Search/" + shared.file + "/" +
                               (strategy == SearchStrategy::kBisect ? "bisect" : "error_guided");
      benchmark::RegisterBenchmark(name.c_str(), BM_Search, shared, strategy)
          ->Iterations(1)
          ->Unit(benchmark::kSecond);
    }
  }
  return 0;
}
const int kRegistered = RegisterAll();

}  // namespace
}  // namespace halfcast

BENCHMARK_MAIN();
