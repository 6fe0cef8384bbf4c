// Deterministic feeds for the shared real models, per tests/data/models/inputs.json, for the
// search's tests and benchmarks.
#ifndef HALFCAST_TESTS_SEARCH_MODEL_FEEDS_H_
#define HALFCAST_TESTS_SEARCH_MODEL_FEEDS_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "halfcast/tensor.h"

namespace halfcast::search::testing {

inline Tensor UniformFloats(std::vector<int64_t> shape, float lo, float hi, uint32_t seed) {
  Tensor tensor = Tensor::Zeros(DataType::kFloat, std::move(shape));
  std::mt19937 generator(seed);
  float* data = tensor.mutable_data<float>();
  for (int64_t i = 0; i < tensor.element_count(); ++i) {
    // Own mapping rather than std::uniform_real_distribution, whose output is unspecified.
    data[i] = lo + (hi - lo) * static_cast<float>(generator() >> 8) / 16777216.0f;
  }
  return tensor;
}

struct SharedModel {
  std::string file;
  TensorMap feed;
};

// inputs.json, spelled out: silero models take input [1,512] in [-1,1], state [2,1,128] zeros and
// sr = 16000; the OCR models take x (classifier [1,3,48,192], detector [1,3,96,96]) in [-1,1].
inline std::vector<SharedModel> SharedModels() {
  const int64_t sr = 16000;
  auto silero = [&](std::string file) {
    return SharedModel{std::move(file),
                       {{"input", UniformFloats({1, 512}, -1, 1, 1)},
                        {"state", UniformFloats({2, 1, 128}, 0, 0, 2)},
                        {"sr", Tensor::Copy(DataType::kInt64, {}, &sr)}}};
  };
  return {
      SharedModel{"ch_PP-OCRv4_det_infer.onnx", {{"x", UniformFloats({1, 3, 96, 96}, -1, 1, 1)}}},
      SharedModel{"ch_ppocr_mobile_v2.0_cls_infer.onnx",
                  {{"x", UniformFloats({1, 3, 48, 192}, -1, 1, 1)}}},
      silero("silero_vad.onnx"),
      silero("silero_vad_16k_op15.onnx"),
  };
}

}  // namespace halfcast::search::testing

#endif  // HALFCAST_TESTS_SEARCH_MODEL_FEEDS_H_
