#include "search/tensor_values.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "numerics/float16.h"

namespace halfcast::search {
namespace {

template <typename T, typename Fn>
std::vector<double> Convert(const Tensor& tensor, Fn fn) {
  const T* data = tensor.data<T>();
  std::vector<double> values(static_cast<std::size_t>(tensor.element_count()));
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = fn(data[i]);
  return values;
}

template <typename T>
std::vector<double> Convert(const Tensor& tensor) {
  return Convert<T>(tensor, [](T v) { return static_cast<double>(v); });
}

}  // namespace

std::vector<double> ToDoubles(const Tensor& tensor) {
  switch (tensor.type()) {
    case DataType::kFloat:
      return Convert<float>(tensor);
    case DataType::kDouble:
      return Convert<double>(tensor);
    case DataType::kFloat16:
      return Convert<uint16_t>(tensor, [](uint16_t v) { return numerics::HalfToFloat(v); });
    case DataType::kBFloat16:
      return Convert<uint16_t>(tensor, [](uint16_t v) { return numerics::BFloat16ToFloat(v); });
    case DataType::kUint8:
    case DataType::kBool:
      return Convert<uint8_t>(tensor);
    case DataType::kInt8:
      return Convert<int8_t>(tensor);
    case DataType::kUint16:
      return Convert<uint16_t>(tensor);
    case DataType::kInt16:
      return Convert<int16_t>(tensor);
    case DataType::kInt32:
      return Convert<int32_t>(tensor);
    case DataType::kUint32:
      return Convert<uint32_t>(tensor);
    case DataType::kInt64:
      return Convert<int64_t>(tensor);
    case DataType::kUint64:
      return Convert<uint64_t>(tensor);
    case DataType::kString:
    case DataType::kUndefined:
      break;
  }
  return {};
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ","), "]");
}

bool IsFloatType(DataType type) {
  return type == DataType::kFloat || type == DataType::kDouble || type == DataType::kFloat16 ||
         type == DataType::kBFloat16;
}

}  // namespace halfcast::search
