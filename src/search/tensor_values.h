// Numeric tensors read as doubles, whatever their element type, for comparisons.
#ifndef HALFCAST_SEARCH_TENSOR_VALUES_H_
#define HALFCAST_SEARCH_TENSOR_VALUES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "halfcast/tensor.h"

namespace halfcast::search {

// Every element as a double (16-bit floats widened exactly, bool as 0/1). Strings and undefined
// types give an empty vector.
std::vector<double> ToDoubles(const Tensor& tensor);

// "[1,3,96,96]".
std::string ShapeText(const std::vector<int64_t>& shape);

// True for float, double, float16 and bfloat16.
bool IsFloatType(DataType type);

}  // namespace halfcast::search

#endif  // HALFCAST_SEARCH_TENSOR_VALUES_H_
