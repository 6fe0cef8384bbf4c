#include "cli/compare.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "numerics/float16.h"

namespace halfcast::cli {
namespace {

template <typename T>
void AppendAll(const Tensor& tensor, std::vector<double>* values) {
  const T* data = tensor.data<T>();
  values->insert(values->end(), data, data + tensor.element_count());
}

}  // namespace

absl::StatusOr<std::vector<double>> ToDoubles(const Tensor& tensor) {
  std::vector<double> values;
  values.reserve(static_cast<std::size_t>(tensor.element_count()));
  switch (tensor.type()) {
    case DataType::kFloat:
      AppendAll<float>(tensor, &values);
      break;
    case DataType::kDouble:
      AppendAll<double>(tensor, &values);
      break;
    case DataType::kFloat16:
    case DataType::kBFloat16: {
      const uint16_t* data = tensor.data<uint16_t>();
      for (int64_t i = 0; i < tensor.element_count(); ++i) {
        values.push_back(tensor.type() == DataType::kFloat16 ? numerics::HalfToFloat(data[i])
                                                             : numerics::BFloat16ToFloat(data[i]));
      }
      break;
    }
    case DataType::kUint8:
    case DataType::kBool:
      AppendAll<uint8_t>(tensor, &values);
      break;
    case DataType::kInt8:
      AppendAll<int8_t>(tensor, &values);
      break;
    case DataType::kUint16:
      AppendAll<uint16_t>(tensor, &values);
      break;
    case DataType::kInt16:
      AppendAll<int16_t>(tensor, &values);
      break;
    case DataType::kInt32:
      AppendAll<int32_t>(tensor, &values);
      break;
    case DataType::kUint32:
      AppendAll<uint32_t>(tensor, &values);
      break;
    case DataType::kInt64:
      AppendAll<int64_t>(tensor, &values);
      break;
    case DataType::kUint64:
      AppendAll<uint64_t>(tensor, &values);
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("cannot compare ", DataTypeName(tensor.type()), " tensors"));
  }
  return values;
}

absl::StatusOr<TensorComparison> CompareTensors(const Tensor& reference, const Tensor& candidate,
                                                double rtol, double atol) {
  TensorComparison result;
  if (reference.shape() != candidate.shape()) {
    result.same_shape = false;
    return result;
  }
  HALFCAST_ASSIGN_OR_RETURN(const std::vector<double> expected, ToDoubles(reference));
  HALFCAST_ASSIGN_OR_RETURN(const std::vector<double> actual, ToDoubles(candidate));
  constexpr double kInf = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const double r = expected[i];
    const double c = actual[i];
    if (std::isinf(r) || std::isinf(c) || std::isnan(r) || std::isnan(c)) {
      // numpy.isclose: infinities compare by equality, NaN is never close.
      if (!(r == c)) {
        ++result.not_close;
        result.max_abs_error = kInf;
        result.max_rel_error = kInf;
      }
      continue;
    }
    const double error = std::abs(c - r);
    result.max_abs_error = std::max(result.max_abs_error, error);
    if (r != 0) result.max_rel_error = std::max(result.max_rel_error, error / std::abs(r));
    if (!(error <= atol + rtol * std::abs(r))) ++result.not_close;
  }
  return result;
}

}  // namespace halfcast::cli
