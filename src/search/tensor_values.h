// Numeric tensors read as doubles, whatever their element type, for comparisons.
#ifndef HALFCAST_SEARCH_TENSOR_VALUES_H_
#define HALFCAST_SEARCH_TENSOR_VALUES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "halfcast/tensor.h"
#include "numerics/float16.h"

namespace halfcast::search {

// Every element as a double (16-bit floats widened exactly, bool as 0/1). Strings and undefined
// types give an empty vector.
std::vector<double> ToDoubles(const Tensor& tensor);

// For float, double, float16 and bfloat16 tensors: calls fn(read), read(i) giving element i
// widened exactly to double, and returns true. Other types: returns false without calling fn.
// Reads in place, for hot loops where ToDoubles' copy would cost more than the loop.
template <typename Fn>
bool WithFloatReader(const Tensor& tensor, Fn&& fn) {
  switch (tensor.type()) {
    case DataType::kFloat: {
      const float* data = tensor.data<float>();
      fn([data](int64_t i) { return static_cast<double>(data[i]); });
      return true;
    }
    case DataType::kDouble: {
      const double* data = tensor.data<double>();
      fn([data](int64_t i) { return data[i]; });
      return true;
    }
    case DataType::kFloat16: {
      const uint16_t* data = tensor.data<uint16_t>();
      fn([data](int64_t i) { return static_cast<double>(numerics::HalfToFloat(data[i])); });
      return true;
    }
    case DataType::kBFloat16: {
      const uint16_t* data = tensor.data<uint16_t>();
      fn([data](int64_t i) { return static_cast<double>(numerics::BFloat16ToFloat(data[i])); });
      return true;
    }
    default:
      return false;
  }
}

// "[1,3,96,96]".
std::string ShapeText(const std::vector<int64_t>& shape);

// True for float, double, float16 and bfloat16.
bool IsFloatType(DataType type);

}  // namespace halfcast::search

#endif  // HALFCAST_SEARCH_TENSOR_VALUES_H_
