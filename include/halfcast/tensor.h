// A dense tensor: element type, shape, and bytes that are owned or borrowed.
//
//   halfcast::Tensor x = halfcast::Tensor::Zeros(halfcast::DataType::kFloat, {1, 3, 224, 224});
//   float* values = x.mutable_data<float>();
//   halfcast::Status s = halfcast::WriteNpy(x, "x.npy");
//
// Threading: a Tensor is a value; const access from several threads is safe. A borrowed tensor
// refers to memory the caller keeps alive and unchanged for the tensor's lifetime.
#ifndef HALFCAST_TENSOR_H_
#define HALFCAST_TENSOR_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "onnx/onnx_pb.h"

namespace halfcast {

// Element types, numbered as onnx.TensorProto.DataType.
enum class DataType : int32_t {
  kUndefined = 0,
  kFloat = 1,
  kUint8 = 2,
  kInt8 = 3,
  kUint16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kString = 8,
  kBool = 9,
  kFloat16 = 10,
  kDouble = 11,
  kUint32 = 12,
  kUint64 = 13,
  kBFloat16 = 16,
};

// Bytes per element (0 for kString and kUndefined).
std::size_t ElementSize(DataType type);
// "float", "float16", "int64", ... as ONNX names them.
const char* DataTypeName(DataType type);

class Tensor {
 public:
  // An empty float tensor of shape [0].
  Tensor();

  // A zero-filled tensor owning its bytes. Strings start empty.
  static Tensor Zeros(DataType type, std::vector<int64_t> shape);
  // A tensor owning ElementSize(type) * element count bytes left uninitialised, for a producer
  // that writes every element (it skips Zeros' fill). Strings start empty.
  static Tensor Uninitialized(DataType type, std::vector<int64_t> shape);
  // A tensor owning a copy of `data` (ElementSize(type) * element count bytes).
  static Tensor Copy(DataType type, std::vector<int64_t> shape, const void* data);
  // A tensor viewing `data` without copying; the caller keeps `data` alive and unchanged.
  static Tensor Borrow(DataType type, std::vector<int64_t> shape, const void* data);
  // A string tensor.
  static Tensor Strings(std::vector<int64_t> shape, std::vector<std::string> values);

  DataType type() const { return type_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t element_count() const;
  std::size_t byte_size() const;  // element_count() * ElementSize(type())
  bool is_borrowed() const { return borrowed_ != nullptr; }

  const void* raw_data() const;
  // Writable bytes; a borrowed tensor first copies its data (copy on write).
  void* mutable_raw_data();
  template <typename T>
  const T* data() const { return static_cast<const T*>(raw_data()); }
  template <typename T>
  T* mutable_data() { return static_cast<T*>(mutable_raw_data()); }

  // The same elements under another shape: bytes are shared, not copied (a write to either
  // tensor copies first, as for any shared tensor); strings are copied. InvalidArgument when
  // `shape` has a negative dimension or another element count.
  absl::StatusOr<Tensor> WithShape(std::vector<int64_t> shape) const;

  const std::vector<std::string>& strings() const { return strings_; }
  std::vector<std::string>& mutable_strings() { return strings_; }

 private:
  DataType type_ = DataType::kFloat;
  std::vector<int64_t> shape_{0};
  // Shared: copying a Tensor is cheap. Holds byte_size() bytes (none when the tensor is empty).
  std::shared_ptr<unsigned char[]> owned_;
  const void* borrowed_ = nullptr;
  std::vector<std::string> strings_;
};

// Named tensors, ordered by name (deterministic iteration).
using TensorMap = std::map<std::string, Tensor>;

// Checks a shape: every dimension >= 0 and the element count fits in int64 and `max_elements`.
absl::StatusOr<int64_t> CheckedElementCount(const std::vector<int64_t>& shape,
                                            int64_t max_elements = INT64_MAX);

// onnx.TensorProto <-> Tensor. A TensorProto with external data is read relative to `base_dir`
// (same safety rules as model_io.h); without base_dir external data is an error.
absl::StatusOr<Tensor> TensorFromProto(const onnx::TensorProto& proto,
                                       const std::string& base_dir = "");
onnx::TensorProto TensorToProto(const Tensor& tensor, const std::string& name);

// .npy (NumPy format 1.0-3.0, little-endian, C order) and .pb (serialized onnx.TensorProto).
// bfloat16 has no numpy dtype: WriteNpy writes its bit patterns as '<u2', which read back as
// uint16. WriteNpy writes a temporary file and renames it, so a failure leaves no partial file.
absl::StatusOr<Tensor> ReadNpy(const std::string& path);
absl::Status WriteNpy(const Tensor& tensor, const std::string& path);
absl::StatusOr<Tensor> ReadTensorProtoFile(const std::string& path);
// Picks the reader by extension (.npy or .pb).
absl::StatusOr<Tensor> ReadTensorFile(const std::string& path);

}  // namespace halfcast

#endif  // HALFCAST_TENSOR_H_
