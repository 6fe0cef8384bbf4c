// Times LoadModel + SaveModel on one model and reports the process's peak memory, for the checks
// too big for the unit suite (bench/io_large.py: a model with more than 2 GB of external data
// loads and saves; peak memory stays close to the model's size).
//
//   halfcast_bench_io IN OUT [--external-data]
//
// Prints one line of key=value pairs; exit status 1 on any error.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "halfcast/model_io.h"

namespace {

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

long PeakRssMiB() {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s IN OUT [--external-data]\n", argv[0]);
    return 1;
  }
  halfcast::SaveOptions save;
  save.external_data = argc > 3 && std::strcmp(argv[3], "--external-data") == 0;

  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<onnx::ModelProto> model = halfcast::LoadModel(argv[1]);
  if (!model.ok()) {
    std::fprintf(stderr, "load: %s\n", model.status().ToString().c_str());
    return 1;
  }
  const double load_seconds = Seconds(start);
  const long load_rss = PeakRssMiB();
  int64_t tensor_bytes = 0;
  for (const onnx::TensorProto& tensor : model->graph().initializer()) {
    tensor_bytes += static_cast<int64_t>(tensor.raw_data().size());
  }

  start = std::chrono::steady_clock::now();
  absl::Status saved = halfcast::SaveModel(*model, argv[2], save);
  if (!saved.ok()) {
    std::fprintf(stderr, "save: %s\n", saved.ToString().c_str());
    return 1;
  }
  const double save_seconds = Seconds(start);
  const long peak_rss = PeakRssMiB();
  model = absl::StatusOr<onnx::ModelProto>();  // free before reloading

  // The saved model loads again with every external reference checked (data not read).
  start = std::chrono::steady_clock::now();
  halfcast::LoadOptions references;
  references.load_external_data = false;
  absl::StatusOr<onnx::ModelProto> again = halfcast::LoadModel(argv[2], references);
  if (!again.ok()) {
    std::fprintf(stderr, "reload: %s\n", again.status().ToString().c_str());
    return 1;
  }
  std::printf(
      "initializer_mib=%lld load_s=%.3f load_peak_rss_mib=%ld save_s=%.3f peak_rss_mib=%ld "
      "reload_refs_s=%.3f\n",
      static_cast<long long>(tensor_bytes >> 20), load_seconds, load_rss, save_seconds, peak_rss,
      Seconds(start));
  return 0;
}
