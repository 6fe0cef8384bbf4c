// Helpers shared by the data-movement and reduction kernel tests: typed tensors in and out, and
// one-output node runs on top of heavy_kernel_test_util.h's RunNode.
#ifndef HALFCAST_TESTS_EVAL_TENSOR_KERNEL_TEST_UTIL_H_
#define HALFCAST_TESTS_EVAL_TENSOR_KERNEL_TEST_UTIL_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "eval/kernels/dispatch.h"
#include "gtest/gtest.h"
#include "halfcast/tensor.h"
#include "heavy_kernel_test_util.h"

namespace halfcast::eval::testing {

template <typename T>
Tensor Make(std::vector<int64_t> shape, const std::vector<T>& values) {
  return Tensor::Copy(kDataTypeOf<T>, std::move(shape), values.data());
}

// A 1-D int64 tensor.
inline Tensor Ints(const std::vector<int64_t>& values) {
  return Make<int64_t>({static_cast<int64_t>(values.size())}, values);
}

template <typename T>
std::vector<T> Values(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.element_count());
}

// Runs a node and returns its first output, failing the test on an error.
inline Tensor Run1(std::string_view node, int opset, std::vector<const Tensor*> inputs) {
  absl::StatusOr<std::vector<Tensor>> outputs = RunNode(node, opset, std::move(inputs));
  EXPECT_TRUE(outputs.ok()) << outputs.status();
  if (!outputs.ok() || outputs->empty()) return Tensor();
  return (*outputs)[0];
}

inline absl::Status RunError(std::string_view node, int opset, std::vector<const Tensor*> inputs) {
  return RunNode(node, opset, std::move(inputs)).status();
}

}  // namespace halfcast::eval::testing

#endif  // HALFCAST_TESTS_EVAL_TENSOR_KERNEL_TEST_UTIL_H_
