#include "convert/tensor_convert.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/checked_math.h"

namespace halfcast::convert {
namespace {

int ElementSize(int32_t data_type) {
  switch (data_type) {
    case onnx::TensorProto::FLOAT:
    case onnx::TensorProto::INT32:
    case onnx::TensorProto::UINT32:
      return 4;
    case onnx::TensorProto::DOUBLE:
    case onnx::TensorProto::INT64:
    case onnx::TensorProto::UINT64:
    case onnx::TensorProto::COMPLEX64:
      return 8;
    case onnx::TensorProto::COMPLEX128:
      return 16;
    case onnx::TensorProto::FLOAT16:
    case onnx::TensorProto::BFLOAT16:
    case onnx::TensorProto::INT16:
    case onnx::TensorProto::UINT16:
      return 2;
    case onnx::TensorProto::INT8:
    case onnx::TensorProto::UINT8:
    case onnx::TensorProto::BOOL:
      return 1;
    default:
      return 0;
  }
}

}  // namespace

int32_t OnnxType(TargetType target) {
  return target == TargetType::kBFloat16 ? onnx::TensorProto::BFLOAT16
                                         : onnx::TensorProto::FLOAT16;
}

int64_t ElementCount(const onnx::TensorProto& tensor) {
  // graph::ValidateModel refused dims that overflow before any conversion gets here.
  return CheckedElementProduct(tensor.dims()).value_or(0);
}

uint64_t TensorBytes(const onnx::TensorProto& tensor) {
  if (tensor.data_location() == onnx::TensorProto::EXTERNAL) {
    for (const auto& entry : tensor.external_data()) {
      if (entry.key() == "length") return std::strtoull(entry.value().c_str(), nullptr, 10);
    }
  }
  if (tensor.has_raw_data()) return tensor.raw_data().size();
  const int size = ElementSize(tensor.data_type());
  if (size == 0) return 0;
  const int64_t count = ElementCount(tensor);
  return count > 0 ? static_cast<uint64_t>(count) * size : 0;
}

absl::Status ConvertTensorTo16(onnx::TensorProto* tensor, const ClipSettings& clip,
                               ClipCounts* counts) {
  if (tensor->data_location() == onnx::TensorProto::EXTERNAL) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor '", tensor->name(),
        "' is stored as external data; load the model with its external data or use ConvertFile"));
  }
  const int64_t count = ElementCount(*tensor);
  if (tensor->has_raw_data()) {
    std::string* raw = tensor->mutable_raw_data();
    if (count < 0 || raw->size() != static_cast<uint64_t>(count) * 4) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor '", tensor->name(), "' holds ", raw->size(),
                       " bytes of raw data, its dims need ", count * 4));
    }
    // In place, front to back: a chunk's 16-bit results go to a small buffer first and then to
    // bytes [2*start, 2*(start+n)), which only overlap input already read (that of this chunk and
    // earlier ones). protobuf allocates strings with new, so the floats are 4-byte aligned. The
    // buffer is on the stack: graphs hold tens of thousands of small tensors.
    constexpr int64_t kChunk = 8192;
    uint16_t out[kChunk];
    char* bytes = raw->data();
    for (int64_t start = 0; start < count; start += kChunk) {
      const int64_t n = std::min(kChunk, count - start);
      numerics::ConvertFloatTo16(reinterpret_cast<const float*>(bytes + start * 4), out, n,
                                 clip.target, clip.clip, counts);
      std::memcpy(bytes + start * 2, out, n * 2);
    }
    raw->resize(count * 2);
  } else {
    if (tensor->float_data_size() != count) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor '", tensor->name(), "' holds ", tensor->float_data_size(),
                       " floats, its dims need ", count));
    }
    std::string raw(count * 2, '\0');
    numerics::ConvertFloatTo16(tensor->float_data().data(),
                               reinterpret_cast<uint16_t*>(raw.data()), count, clip.target,
                               clip.clip, counts);
    tensor->clear_float_data();
    tensor->set_raw_data(std::move(raw));
  }
  tensor->set_data_type(OnnxType(clip.target));
  return absl::OkStatus();
}

}  // namespace halfcast::convert
