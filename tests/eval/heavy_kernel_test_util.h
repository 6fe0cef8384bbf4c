// Helpers for the matrix-heavy kernel tests: run one node (written in ONNX textual syntax) through
// the registered kernel, and build or read float tensors.
#ifndef HALFCAST_TESTS_EVAL_HEAVY_KERNEL_TEST_UTIL_H_
#define HALFCAST_TESTS_EVAL_HEAVY_KERNEL_TEST_UTIL_H_

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "eval/kernel.h"
#include "gtest/gtest.h"
#include "halfcast/tensor.h"
#include "testing/onnx_text.h"

namespace halfcast::eval::testing {

// Calls `def`'s kernel for `node` on tensor `inputs` (nullptr for an absent input); returns its
// outputs as tensors.
inline absl::StatusOr<std::vector<Tensor>> CallKernelOnTensors(const KernelDef& def,
                                                               const onnx::NodeProto& node,
                                                               int opset,
                                                               std::vector<const Tensor*> inputs,
                                                               int threads = 1) {
  std::vector<Value> values(inputs.size());
  std::vector<const Value*> value_inputs(inputs.size(), nullptr);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i] == nullptr) continue;
    values[i] = *inputs[i];
    value_inputs[i] = &values[i];
  }
  KernelContext context(node, opset, std::move(value_inputs), threads, nullptr);
  absl::Status status = def.fn(context);
  if (!status.ok()) return status;
  std::vector<Tensor> outputs;
  for (Value& v : context.outputs()) outputs.push_back(std::move(v.mutable_tensor()));
  return outputs;
}

// Runs `node_text` (e.g. "y = Conv <group = 2> (x, w)") as a node of an opset-`opset` model on
// `inputs` (nullptr for an absent optional input); returns the kernel's outputs.
inline absl::StatusOr<std::vector<Tensor>> RunNode(std::string_view node_text, int opset,
                                                   std::vector<const Tensor*> inputs,
                                                   int threads = 1) {
  const std::string text = absl::StrCat("<ir_version: 8, opset_import: [\"\" : ", opset,
                                        "]>\ng (float unused_in) => (float unused_out) {\n",
                                        std::string(node_text), "\n}\n");
  absl::StatusOr<onnx::ModelProto> model = halfcast::testing::TryParseModelText(text);
  if (!model.ok()) return model.status();
  const onnx::NodeProto& node = model->graph().node(0);
  const KernelDef* def = FindKernel("", node.op_type(), opset);
  if (def == nullptr) return absl::NotFoundError(absl::StrCat("no kernel for ", node.op_type()));
  return CallKernelOnTensors(*def, node, opset, std::move(inputs), threads);
}

inline Tensor FloatTensor(std::vector<int64_t> shape, const std::vector<float>& values) {
  return Tensor::Copy(DataType::kFloat, std::move(shape), values.data());
}

inline Tensor Int64Tensor(std::vector<int64_t> shape, const std::vector<int64_t>& values) {
  return Tensor::Copy(DataType::kInt64, std::move(shape), values.data());
}

// Uniform random values in [-1, 1), reproducible from `seed`.
inline Tensor RandomTensor(std::vector<int64_t> shape, uint32_t seed) {
  std::mt19937 engine(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  std::vector<float> values(count);
  for (float& v : values) v = uniform(engine);
  return FloatTensor(std::move(shape), values);
}

inline std::vector<float> Values(const Tensor& t) {
  return std::vector<float>(t.data<float>(), t.data<float>() + t.element_count());
}

// Element-wise |actual - expected| <= atol + rtol * |expected|, with the first mismatch reported.
inline void ExpectClose(const Tensor& actual, const std::vector<int64_t>& shape,
                        const std::vector<float>& expected, float rtol = 1e-5f,
                        float atol = 1e-5f) {
  ASSERT_EQ(actual.shape(), shape);
  ASSERT_EQ(actual.type(), DataType::kFloat);
  ASSERT_EQ(actual.element_count(), static_cast<int64_t>(expected.size()));
  const float* values = actual.data<float>();
  for (size_t i = 0; i < expected.size(); ++i) {
    ASSERT_NEAR(values[i], expected[i], atol + rtol * std::abs(expected[i])) << "at element " << i;
  }
}

}  // namespace halfcast::eval::testing

#endif  // HALFCAST_TESTS_EVAL_HEAVY_KERNEL_TEST_UTIL_H_
