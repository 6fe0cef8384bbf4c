// Runs a model in halfcast's evaluator under a chosen float16 model and writes its outputs, for
// ort_fp16.py (the `halfcast run` command has no flag for the float16 model).
//
//   eval_run round-every-op|onnxruntime-cpu MODEL OUT_DIR [NAME=FILE.npy ...]
//
// Feeds must have the model's declared types. Writes OUT_DIR/<output name>.npy (characters
// outside [A-Za-z0-9_.-] as _). Exit status 0 on success, 2 with a message on stderr otherwise.
#include <iostream>
#include <string>

#include "halfcast/evaluator.h"
#include "halfcast/model_io.h"
#include "halfcast/tensor.h"

namespace {

int Fail(const std::string& message) {
  std::cerr << "eval_run: " << message << "\n";
  return 2;
}

std::string FileName(std::string name) {
  for (char& c : name) {
    const bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                       c == '_' || c == '.' || c == '-';
    if (!plain) c = '_';
  }
  return name;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4)
    return Fail("usage: eval_run round-every-op|onnxruntime-cpu MODEL OUT_DIR [NAME=FILE.npy ...]");
  const std::string mode = argv[1];
  halfcast::ReferenceEvaluatorOptions options;
  if (mode == "onnxruntime-cpu") {
    options.float16_model = halfcast::Float16Model::kOnnxRuntimeCpu;
  } else if (mode != "round-every-op") {
    return Fail("unknown float16 model '" + mode + "'");
  }
  absl::StatusOr<onnx::ModelProto> model = halfcast::LoadModel(argv[2]);
  if (!model.ok()) return Fail(std::string(model.status().message()));
  halfcast::TensorMap feeds;
  for (int i = 4; i < argc; ++i) {
    const std::string spec = argv[i];
    const std::size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) return Fail("expected NAME=FILE.npy, got " + spec);
    absl::StatusOr<halfcast::Tensor> tensor = halfcast::ReadNpy(spec.substr(eq + 1));
    if (!tensor.ok()) return Fail(std::string(tensor.status().message()));
    feeds[spec.substr(0, eq)] = *std::move(tensor);
  }
  halfcast::ReferenceEvaluator evaluator(options);
  absl::StatusOr<halfcast::TensorMap> outputs = evaluator.Run(*model, feeds);
  if (!outputs.ok()) return Fail(std::string(outputs.status().message()));
  for (const auto& [name, tensor] : *outputs) {
    const absl::Status written =
        halfcast::WriteNpy(tensor, std::string(argv[3]) + "/" + FileName(name) + ".npy");
    if (!written.ok()) return Fail(std::string(written.message()));
  }
  return 0;
}
