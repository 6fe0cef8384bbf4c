// halfcast from C++: convert a model to float16, then find a mixed-precision version whose output
// a validate function (a lambda here) accepts. Usage: example MODEL.onnx OUT_DIR
// The model is the PaddleOCR text-direction classifier (input x: [1, 3, 48, 192]).
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "halfcast/halfcast.h"

namespace {

// The element `i` of a float32 or float16 tensor.
float Element(const halfcast::Tensor& t, int64_t i) {
  if (t.type() == halfcast::DataType::kFloat) return t.data<float>()[i];
  const uint16_t h = t.data<uint16_t>()[i];
  const int exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  const float value = exponent == 0    ? std::ldexp(float(mantissa), -24)
                      : exponent == 31 ? (mantissa ? NAN : INFINITY)
                                       : std::ldexp(float(mantissa | 0x400), exponent - 25);
  return (h & 0x8000) ? -value : value;
}

int Fail(const absl::Status& status, const char* what) {
  std::fprintf(stderr, "%s: %s\n", what, status.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s MODEL.onnx OUT_DIR\n", argv[0]);
    return 2;
  }
  absl::StatusOr<onnx::ModelProto> model = halfcast::LoadModel(argv[1]);
  if (!model.ok()) return Fail(model.status(), "load");

  halfcast::ConvertOptions convert;
  convert.keep_io_types = true;
  absl::StatusOr<halfcast::ConvertResult> fp16 = halfcast::ConvertFloatToFloat16(*model, convert);
  if (!fp16.ok()) return Fail(fp16.status(), "convert");
  const std::string path = std::string(argv[2]) + "/model.fp16.onnx";
  if (absl::Status s = halfcast::SaveModel(fp16->model, path); !s.ok()) return Fail(s, "save");
  std::printf("float16: %lld nodes converted, saved to %s\n",
              static_cast<long long>(fp16->report.nodes_converted), path.c_str());

  halfcast::Tensor x = halfcast::Tensor::Zeros(halfcast::DataType::kFloat, {1, 3, 48, 192});
  float* values = x.mutable_data<float>();
  for (int64_t i = 0; i < x.element_count(); ++i) values[i] = std::sin(0.001 * double(i));

  int calls = 0;
  halfcast::MixedPrecisionOptions options;
  options.keep_io_types = true;
  // Accept when every output is within 0.01 of float32's.
  options.validate_fn = [&calls](const halfcast::TensorMap& reference,
                                 const halfcast::TensorMap& candidate) -> absl::StatusOr<bool> {
    ++calls;
    for (const auto& [name, want] : reference) {
      auto got = candidate.find(name);
      if (got == candidate.end() || got->second.element_count() != want.element_count()) {
        return false;
      }
      for (int64_t i = 0; i < want.element_count(); ++i) {
        if (!(std::fabs(Element(got->second, i) - Element(want, i)) <= 0.01f)) return false;
      }
    }
    return true;
  };
  absl::StatusOr<halfcast::MixedPrecisionResult> mixed =
      halfcast::AutoConvertMixedPrecision(*model, {{{"x", x}}}, options);
  if (!mixed.ok()) return Fail(mixed.status(), "mixed precision");
  std::printf("mixed precision: %zu nodes kept in float32, %lld evaluations, %d validate calls\n",
              mixed->report.conversion.kept_nodes.size(),
              static_cast<long long>(mixed->report.evaluations), calls);
  return calls > 0 ? 0 : 1;
}
