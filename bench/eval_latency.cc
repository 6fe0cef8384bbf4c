// Latency of the built-in evaluator (ReferenceEvaluator) on one model: bench/eval_vs_ort.js runs
// it next to ONNX Runtime for the table in docs/performance.md ("Evaluator vs ONNX Runtime").
//
//   halfcast_bench_eval MODEL --input NAME=FILE.npy ... [--repeat N] [--threads T] [--unprepared]
//
// The model is prepared once (ReferenceEvaluator::Prepare, as ONNX Runtime creates a session
// once) and each timed run is PreparedModel::Run; --unprepared times ReferenceEvaluator::Run,
// which checks, plans and decodes the model again on every run.
// Prints one JSON line: {"median_ms": ..., "min_ms": ..., "cpu_median_ms": ..., "runs": N}: wall
// time, and the CPU time of the process (steadier than wall time on a shared machine; with one
// thread the two agree on an idle one). Two warm-up runs are not timed. Exit status 2 on any
// error, with the message on stderr.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "halfcast/evaluator.h"
#include "halfcast/model_io.h"
#include "halfcast/tensor.h"

namespace {

double CpuMilliseconds() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "halfcast_bench_eval: %s\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path;
  halfcast::TensorMap feeds;
  int repeat = 20, threads = 1;
  bool unprepared = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--input" || arg == "--repeat" || arg == "--threads") && i + 1 >= argc) {
      return Fail(arg + " needs a value");
    }
    if (arg == "--input") {
      const std::string spec = argv[++i];
      const size_t eq = spec.find('=');
      if (eq == std::string::npos || eq == 0) return Fail("--input expects NAME=FILE");
      absl::StatusOr<halfcast::Tensor> tensor = halfcast::ReadTensorFile(spec.substr(eq + 1));
      if (!tensor.ok()) return Fail(std::string(tensor.status().message()));
      feeds[spec.substr(0, eq)] = *std::move(tensor);
    } else if (arg == "--repeat") {
      repeat = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--threads") {
      threads = std::max(0, std::atoi(argv[++i]));
    } else if (arg == "--unprepared") {
      unprepared = true;
    } else if (model_path.empty()) {
      model_path = arg;
    } else {
      return Fail("unexpected argument " + arg);
    }
  }
  if (model_path.empty()) return Fail("usage: halfcast_bench_eval MODEL --input NAME=FILE ...");
  absl::StatusOr<onnx::ModelProto> model = halfcast::LoadModel(model_path);
  if (!model.ok()) return Fail(std::string(model.status().message()));
  halfcast::ReferenceEvaluatorOptions options;
  options.intra_op_threads = threads;
  halfcast::ReferenceEvaluator evaluator(options);
  absl::StatusOr<std::unique_ptr<halfcast::PreparedModel>> prepared = evaluator.Prepare(*model);
  if (!prepared.ok()) return Fail(std::string(prepared.status().message()));
  std::vector<double> times, cpu_times;
  for (int run = 0; run < repeat + 2; ++run) {
    const double cpu_start = CpuMilliseconds();
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<halfcast::TensorMap> outputs =
        unprepared ? evaluator.Run(*model, feeds) : (*prepared)->Run(feeds);
    const auto end = std::chrono::steady_clock::now();
    const double cpu_end = CpuMilliseconds();
    if (!outputs.ok()) return Fail(std::string(outputs.status().message()));
    if (run < 2) continue;
    times.push_back(std::chrono::duration<double, std::milli>(end - start).count());
    cpu_times.push_back(cpu_end - cpu_start);
  }
  std::printf("{\"median_ms\": %.4f, \"min_ms\": %.4f, \"cpu_median_ms\": %.4f, \"runs\": %d}\n",
              Median(times), *std::min_element(times.begin(), times.end()), Median(cpu_times),
              repeat);
  return 0;
}
