// Prints how long each stage of a conversion takes on a model file (the converter's debug log),
// plus load and save, for performance work:
//
//   build/bench/convert_stages model.onnx [--no-shape-infer]
//       LoadModel + ConvertFloatToFloat16 + SerializeModel (the in-memory API, heap-allocated)
//   build/bench/convert_stages model.onnx --file OUT
//       ConvertFile, as `halfcast convert` runs it (arena parse, helper thread, save to OUT)
#include <chrono>
#include <cstring>
#include <iostream>
#include <string_view>

#include "halfcast/convert.h"
#include "halfcast/model_io.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: convert_stages MODEL [--no-shape-infer | --file OUT]\n";
    return 2;
  }
  using Clock = std::chrono::steady_clock;
  auto ms = [](Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
  };
  halfcast::ConvertOptions options;
  options.disable_shape_infer = argc > 2 && std::strcmp(argv[2], "--no-shape-infer") == 0;
  options.log = [](halfcast::LogLevel, std::string_view message) {
    std::cout << "  " << message << "\n";
  };
  const auto t0 = Clock::now();
  if (argc > 3 && std::strcmp(argv[2], "--file") == 0) {
    auto report = halfcast::ConvertFile(argv[1], argv[3], options);
    if (!report.ok()) {
      std::cerr << report.status() << "\n";
      return 1;
    }
    std::cout << "ConvertFile (load, convert, save) " << ms(t0, Clock::now()) << " ms\n";
    return 0;
  }
  auto model = halfcast::LoadModel(argv[1]);
  if (!model.ok()) {
    std::cerr << model.status() << "\n";
    return 1;
  }
  const auto t1 = Clock::now();
  auto result = halfcast::ConvertFloatToFloat16(*std::move(model), options);
  const auto t2 = Clock::now();
  if (!result.ok()) {
    std::cerr << result.status() << "\n";
    return 1;
  }
  auto bytes = halfcast::SerializeModel(result->model);
  const auto t3 = Clock::now();
  std::cout << "load " << ms(t0, t1) << " ms, convert " << ms(t1, t2) << " ms, serialize "
            << ms(t2, t3) << " ms\n";
  return bytes.ok() ? 0 : 1;
}
