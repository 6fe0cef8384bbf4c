#include "eval/float16_emulation.h"

#include "numerics/bulk_convert.h"

namespace halfcast::eval {
namespace {

TargetType TargetOf(DataType type) {
  return type == DataType::kFloat16 ? TargetType::kFloat16 : TargetType::kBFloat16;
}

}  // namespace

Tensor WidenToFloat(const Tensor& tensor) {
  Tensor out = Tensor::Zeros(DataType::kFloat, tensor.shape());
  numerics::Widen(tensor.data<uint16_t>(), out.mutable_data<float>(),
                  static_cast<size_t>(tensor.element_count()), TargetOf(tensor.type()));
  return out;
}

Tensor NarrowFromFloat(const Tensor& tensor, DataType type) {
  Tensor out = Tensor::Zeros(type, tensor.shape());
  numerics::Narrow(tensor.data<float>(), out.mutable_data<uint16_t>(),
                   static_cast<size_t>(tensor.element_count()), TargetOf(type));
  return out;
}

}  // namespace halfcast::eval
