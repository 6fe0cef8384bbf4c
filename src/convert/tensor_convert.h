// Converting float32 tensors (initializers, Constant values, tensor attributes) to the target
// 16-bit type with the SPEC's clipping, in place.
#ifndef HALFCAST_CONVERT_TENSOR_CONVERT_H_
#define HALFCAST_CONVERT_TENSOR_CONVERT_H_

#include <cstdint>

#include "absl/status/status.h"
#include "halfcast/options.h"
#include "numerics/bulk_convert.h"
#include "onnx/onnx_pb.h"

namespace halfcast::convert {

using numerics::ClipCounts;

struct ClipSettings {
  TargetType target = TargetType::kFloat16;
  numerics::ClipOptions clip;
};

// The ONNX data type of a target.
int32_t OnnxType(TargetType target);

// Converts a FLOAT tensor held inline (float_data or raw_data) to the target type with the SPEC's
// clipping (numerics/bulk_convert.h), storing the result in raw_data (little-endian), in place:
// no second copy of a large tensor is made. InvalidArgument for external data or a size that
// does not match its dims.
absl::Status ConvertTensorTo16(onnx::TensorProto* tensor, const ClipSettings& clip,
                               ClipCounts* counts);

// Bytes a tensor's data takes (inline or external).
uint64_t TensorBytes(const onnx::TensorProto& tensor);
// Number of elements given by dims (0 when they overflow: ValidateModel refuses those first).
int64_t ElementCount(const onnx::TensorProto& tensor);

}  // namespace halfcast::convert

#endif  // HALFCAST_CONVERT_TENSOR_CONVERT_H_
