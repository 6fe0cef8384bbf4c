// Tensor storage, TensorProto conversion and the .npy / .pb readers and writers.
#include "halfcast/tensor.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <system_error>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "common/checked_math.h"
#include "common/status_macros.h"
#include "eval/file_bytes.h"
#include "io/external_data.h"

namespace halfcast {

using eval::DirName;
using eval::ReadFileBytes;
using eval::WriteFileBytes;

std::size_t ElementSize(DataType type) {
  switch (type) {
    case DataType::kFloat:
    case DataType::kInt32:
    case DataType::kUint32:
      return 4;
    case DataType::kUint8:
    case DataType::kInt8:
    case DataType::kBool:
      return 1;
    case DataType::kUint16:
    case DataType::kInt16:
    case DataType::kFloat16:
    case DataType::kBFloat16:
      return 2;
    case DataType::kInt64:
    case DataType::kDouble:
    case DataType::kUint64:
      return 8;
    case DataType::kString:
    case DataType::kUndefined:
      return 0;
  }
  return 0;
}

const char* DataTypeName(DataType type) {
  switch (type) {
    case DataType::kUndefined: return "undefined";
    case DataType::kFloat: return "float";
    case DataType::kUint8: return "uint8";
    case DataType::kInt8: return "int8";
    case DataType::kUint16: return "uint16";
    case DataType::kInt16: return "int16";
    case DataType::kInt32: return "int32";
    case DataType::kInt64: return "int64";
    case DataType::kString: return "string";
    case DataType::kBool: return "bool";
    case DataType::kFloat16: return "float16";
    case DataType::kDouble: return "double";
    case DataType::kUint32: return "uint32";
    case DataType::kUint64: return "uint64";
    case DataType::kBFloat16: return "bfloat16";
  }
  return "unknown";
}

namespace {

bool IsKnownDataType(int32_t value) {
  return (value >= 1 && value <= 13) || value == 16;
}

// In uint64: a shape with a zero dimension may have others whose product overflows (it holds no
// elements all the same), and signed overflow is undefined.
int64_t UncheckedCount(const std::vector<int64_t>& shape) {
  uint64_t count = 1;
  for (int64_t d : shape) count *= static_cast<uint64_t>(d);
  return static_cast<int64_t>(count);
}

std::string ShapeString(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ","), "]");
}

// Storage for `bytes` bytes: zero-filled, or left as the allocator gives them.
std::shared_ptr<unsigned char[]> Allocate(std::size_t bytes, bool zero) {
  return std::shared_ptr<unsigned char[]>(zero ? new unsigned char[bytes]()
                                               : new unsigned char[bytes]);
}

}  // namespace

Tensor::Tensor() = default;

Tensor Tensor::Uninitialized(DataType type, std::vector<int64_t> shape) {
  Tensor t;
  t.type_ = type;
  t.shape_ = std::move(shape);
  if (type == DataType::kString) {
    t.strings_.resize(static_cast<std::size_t>(t.element_count()));
  } else {
    t.owned_ = Allocate(t.byte_size(), /*zero=*/false);
  }
  return t;
}

Tensor Tensor::Zeros(DataType type, std::vector<int64_t> shape) {
  Tensor t = Uninitialized(type, std::move(shape));
  if (t.owned_) std::memset(t.owned_.get(), 0, t.byte_size());
  return t;
}

Tensor Tensor::Copy(DataType type, std::vector<int64_t> shape, const void* data) {
  Tensor t = Uninitialized(type, std::move(shape));
  if (t.byte_size() > 0) std::memcpy(t.owned_.get(), data, t.byte_size());
  return t;
}

Tensor Tensor::Borrow(DataType type, std::vector<int64_t> shape, const void* data) {
  Tensor t;
  t.type_ = type;
  t.shape_ = std::move(shape);
  t.borrowed_ = data;
  return t;
}

Tensor Tensor::Strings(std::vector<int64_t> shape, std::vector<std::string> values) {
  Tensor t;
  t.type_ = DataType::kString;
  t.shape_ = std::move(shape);
  t.strings_ = std::move(values);
  return t;
}

int64_t Tensor::element_count() const { return UncheckedCount(shape_); }

std::size_t Tensor::byte_size() const {
  return static_cast<std::size_t>(element_count()) * ElementSize(type_);
}

const void* Tensor::raw_data() const {
  if (borrowed_ != nullptr) return borrowed_;
  return owned_.get();
}

void* Tensor::mutable_raw_data() {
  // Copies share their bytes, so writing goes through copy on write for shared and borrowed data.
  const std::size_t bytes = byte_size();
  if (borrowed_ != nullptr || (owned_ && owned_.use_count() > 1)) {
    std::shared_ptr<unsigned char[]> copy = Allocate(bytes, /*zero=*/false);
    if (bytes > 0) std::memcpy(copy.get(), raw_data(), bytes);
    owned_ = std::move(copy);
    borrowed_ = nullptr;
  } else if (!owned_) {
    owned_ = Allocate(bytes, /*zero=*/true);
  }
  return owned_.get();
}

absl::StatusOr<Tensor> Tensor::WithShape(std::vector<int64_t> shape) const {
  HALFCAST_ASSIGN_OR_RETURN(const int64_t count, CheckedElementCount(shape));
  if (count != element_count()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot view a tensor of shape ",
                                                   ShapeString(shape_), " as ",
                                                   ShapeString(shape)));
  }
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

absl::StatusOr<int64_t> CheckedElementCount(const std::vector<int64_t>& shape,
                                            int64_t max_elements) {
  for (int64_t d : shape) {
    if (d < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("negative dimension in shape ", ShapeString(shape)));
    }
  }
  const std::optional<int64_t> count = CheckedElementProduct(shape);
  if (!count) {
    return absl::InvalidArgumentError(
        absl::StrCat("element count of shape ", ShapeString(shape), " overflows int64"));
  }
  if (*count > max_elements) {
    return absl::ResourceExhaustedError(absl::StrCat("shape ", ShapeString(shape), " has ", *count,
                                                     " elements, more than the limit of ",
                                                     max_elements));
  }
  return *count;
}

namespace {

template <typename Field, typename T>
void CopyTypedField(const Field& field, T* out) {
  for (int i = 0; i < field.size(); ++i) out[i] = static_cast<T>(field.Get(i));
}

absl::Status CheckFieldSize(const onnx::TensorProto& proto, const char* field, int64_t have,
                            int64_t want) {
  if (have == want) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("tensor '", proto.name(), "' has ", have,
                                                 " values in ", field, " but its shape needs ",
                                                 want));
}

// Bools read from bytes become 0 or 1, whatever the file held: any other byte read as a C++
// bool is undefined, and written back it would differ from what was read.
void NormalizeBools(Tensor* t) {
  if (t->type() != DataType::kBool) return;
  auto* b = static_cast<unsigned char*>(t->mutable_raw_data());
  for (std::size_t i = 0; i < t->byte_size(); ++i) b[i] = b[i] != 0;
}

// The TensorProto field that holds values of `type` (when not in raw_data), and its size.
std::pair<const char*, int64_t> TypedField(const onnx::TensorProto& proto, DataType type) {
  switch (type) {
    case DataType::kFloat:
      return {"float_data", proto.float_data_size()};
    case DataType::kDouble:
      return {"double_data", proto.double_data_size()};
    case DataType::kInt64:
      return {"int64_data", proto.int64_data_size()};
    case DataType::kUint32:
    case DataType::kUint64:
      return {"uint64_data", proto.uint64_data_size()};
    default:
      return {"int32_data", proto.int32_data_size()};
  }
}

}  // namespace

absl::StatusOr<Tensor> TensorFromProto(const onnx::TensorProto& proto,
                                       const std::string& base_dir) {
  if (!IsKnownDataType(proto.data_type())) {
    return absl::UnimplementedError(absl::StrCat("tensor '", proto.name(),
                                                 "' has unsupported data type ",
                                                 proto.data_type()));
  }
  const auto type = static_cast<DataType>(proto.data_type());
  if (proto.has_segment()) {
    return absl::UnimplementedError(
        absl::StrCat("tensor '", proto.name(), "' is segmented, which is not supported"));
  }
  std::vector<int64_t> shape(proto.dims().begin(), proto.dims().end());
  HALFCAST_ASSIGN_OR_RETURN(const int64_t count, CheckedElementCount(shape));
  if (io::HasExternalData(proto)) {
    if (base_dir.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor '", proto.name(), "' has external data but no base folder was given"));
    }
    if (type == DataType::kString) {
      return absl::UnimplementedError(
          absl::StrCat("tensor '", proto.name(), "': external string data is not supported"));
    }
    // ReadExternalData checks the location stays in base_dir and the length matches the shape.
    HALFCAST_ASSIGN_OR_RETURN(const std::string bytes, io::ReadExternalData(proto, base_dir));
    if (bytes.size() != static_cast<std::size_t>(count) * ElementSize(type)) {
      return absl::InvalidArgumentError(absl::StrCat("tensor '", proto.name(), "' has ",
                                                     bytes.size(), " bytes of external data"));
    }
    Tensor t = Tensor::Copy(type, std::move(shape), bytes.data());
    NormalizeBools(&t);
    return t;
  }
  if (type == DataType::kString) {
    HALFCAST_RETURN_IF_ERROR(
        CheckFieldSize(proto, "string_data", proto.string_data_size(), count));
    return Tensor::Strings(std::move(shape), std::vector<std::string>(proto.string_data().begin(),
                                                                      proto.string_data().end()));
  }
  const std::size_t element_size = ElementSize(type);
  if (proto.has_raw_data()) {
    const std::string& raw = proto.raw_data();
    if (static_cast<uint64_t>(count) > raw.size() / element_size ||
        raw.size() != static_cast<std::size_t>(count) * element_size) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor '", proto.name(), "' has ", raw.size(), " bytes of raw_data but its shape ",
          ShapeString(shape), " of ", DataTypeName(type), " needs ", count * element_size));
    }
    Tensor t = Tensor::Copy(type, std::move(shape), raw.data());
    NormalizeBools(&t);
    return t;
  }
  // Checked before allocating: a few bytes of dims can ask for terabytes no field holds.
  const auto [field, have] = TypedField(proto, type);
  HALFCAST_RETURN_IF_ERROR(CheckFieldSize(proto, field, have, count));
  Tensor t = Tensor::Zeros(type, std::move(shape));
  void* out = t.mutable_raw_data();
  switch (type) {
    case DataType::kFloat:
      CopyTypedField(proto.float_data(), static_cast<float*>(out));
      break;
    case DataType::kDouble:
      CopyTypedField(proto.double_data(), static_cast<double*>(out));
      break;
    case DataType::kInt64:
      CopyTypedField(proto.int64_data(), static_cast<int64_t*>(out));
      break;
    case DataType::kUint32:
    case DataType::kUint64:
      if (type == DataType::kUint32) {
        CopyTypedField(proto.uint64_data(), static_cast<uint32_t*>(out));
      } else {
        CopyTypedField(proto.uint64_data(), static_cast<uint64_t*>(out));
      }
      break;
    default:
      // int32, int16, int8, uint16, uint8, bool, float16 and bfloat16 live in int32_data;
      // 16-bit floats as their bit patterns.
      for (int64_t i = 0; i < count; ++i) {
        const int32_t v = proto.int32_data(static_cast<int>(i));
        auto* bytes = static_cast<unsigned char*>(out);
        switch (element_size) {
          case 1: bytes[i] = static_cast<unsigned char>(v); break;
          case 2: {
            const uint16_t bits = static_cast<uint16_t>(v);
            std::memcpy(bytes + 2 * i, &bits, 2);
            break;
          }
          default: std::memcpy(bytes + 4 * i, &v, 4); break;
        }
      }
      NormalizeBools(&t);
      break;
  }
  return t;
}

onnx::TensorProto TensorToProto(const Tensor& tensor, const std::string& name) {
  onnx::TensorProto proto;
  proto.set_name(name);
  proto.set_data_type(static_cast<int32_t>(tensor.type()));
  for (int64_t d : tensor.shape()) proto.add_dims(d);
  if (tensor.type() == DataType::kString) {
    for (const std::string& s : tensor.strings()) proto.add_string_data(s);
  } else if (tensor.byte_size() > 0) {
    proto.set_raw_data(tensor.raw_data(), tensor.byte_size());
  } else {
    proto.set_raw_data("");
  }
  return proto;
}

namespace {

struct NpyType {
  const char* descr;
  DataType type;
};

// bfloat16 has no numpy dtype: it is written as <u2 (its bit patterns) and reads back as uint16.
constexpr NpyType kNpyTypes[] = {
    {"f4", DataType::kFloat},  {"f8", DataType::kDouble}, {"f2", DataType::kFloat16},
    {"b1", DataType::kBool},   {"u1", DataType::kUint8},  {"i1", DataType::kInt8},
    {"i2", DataType::kInt16},  {"u2", DataType::kUint16}, {"i4", DataType::kInt32},
    {"u4", DataType::kUint32}, {"i8", DataType::kInt64},  {"u8", DataType::kUint64},
};

// Finds `'key':` in a .npy header dict and returns the text after the colon.
absl::StatusOr<absl::string_view> NpyHeaderValue(absl::string_view header, absl::string_view key,
                                                const std::string& path) {
  for (char quote : {'\'', '"'}) {
    const std::string quoted = absl::StrCat(std::string(1, quote), key, std::string(1, quote));
    std::size_t pos = header.find(quoted);
    if (pos == absl::string_view::npos) continue;
    absl::string_view rest = header.substr(pos + quoted.size());
    rest = absl::StripLeadingAsciiWhitespace(rest);
    if (!absl::ConsumePrefix(&rest, ":")) break;
    return absl::StripLeadingAsciiWhitespace(rest);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("'", path, "': .npy header has no '", key, "' entry"));
}

absl::StatusOr<Tensor> ParseNpy(const std::string& bytes, const std::string& path) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("'", path, "' is not a valid .npy file: ", why));
  };
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) return bad("bad magic");
  const int major = static_cast<unsigned char>(bytes[6]);
  std::size_t header_len;
  std::size_t header_start;
  const auto* u = reinterpret_cast<const unsigned char*>(bytes.data());
  if (major == 1) {
    header_len = u[8] | (u[9] << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return bad("truncated header");
    header_len = static_cast<std::size_t>(u[8]) | (static_cast<std::size_t>(u[9]) << 8) |
                 (static_cast<std::size_t>(u[10]) << 16) | (static_cast<std::size_t>(u[11]) << 24);
    header_start = 12;
  } else {
    return absl::UnimplementedError(
        absl::StrCat("'", path, "': .npy format version ", major, " is not supported"));
  }
  if (header_len > bytes.size() - header_start) return bad("truncated header");
  const absl::string_view header(bytes.data() + header_start, header_len);

  HALFCAST_ASSIGN_OR_RETURN(absl::string_view descr_text, NpyHeaderValue(header, "descr", path));
  if (descr_text.empty() || (descr_text[0] != '\'' && descr_text[0] != '"')) {
    return bad("descr is not a string (structured dtypes are not supported)");
  }
  const std::size_t descr_end = descr_text.find(descr_text[0], 1);
  if (descr_end == absl::string_view::npos) return bad("unterminated descr");
  absl::string_view descr = descr_text.substr(1, descr_end - 1);
  if (descr.size() != 3) {
    return absl::UnimplementedError(
        absl::StrCat("'", path, "': .npy dtype '", descr, "' is not supported"));
  }
  const char order = descr[0];
  descr.remove_prefix(1);
  DataType type = DataType::kUndefined;
  for (const NpyType& t : kNpyTypes) {
    if (descr == t.descr) type = t.type;
  }
  if (type == DataType::kUndefined) {
    return absl::UnimplementedError(
        absl::StrCat("'", path, "': .npy dtype '", descr_text.substr(1, descr_end - 1),
                     "' is not supported"));
  }
  if (order == '>' && ElementSize(type) > 1) {
    return absl::UnimplementedError(absl::StrCat("'", path, "': big-endian .npy is not supported"));
  }
  if (order != '<' && order != '|' && order != '=' && order != '>') return bad("bad byte order");

  HALFCAST_ASSIGN_OR_RETURN(absl::string_view fortran, NpyHeaderValue(header, "fortran_order", path));
  if (absl::StartsWith(fortran, "True")) {
    return absl::UnimplementedError(
        absl::StrCat("'", path, "': Fortran-order .npy is not supported"));
  }
  if (!absl::StartsWith(fortran, "False")) return bad("bad fortran_order");

  HALFCAST_ASSIGN_OR_RETURN(absl::string_view shape_text, NpyHeaderValue(header, "shape", path));
  if (!absl::ConsumePrefix(&shape_text, "(")) return bad("shape is not a tuple");
  const std::size_t close = shape_text.find(')');
  if (close == absl::string_view::npos) return bad("unterminated shape");
  std::vector<int64_t> shape;
  for (absl::string_view part : absl::StrSplit(shape_text.substr(0, close), ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (part.empty()) continue;
    int64_t d;
    if (!absl::SimpleAtoi(part, &d)) return bad(absl::StrCat("bad dimension '", part, "'"));
    shape.push_back(d);
  }
  HALFCAST_ASSIGN_OR_RETURN(const int64_t count, CheckedElementCount(shape));
  const std::size_t data_start = header_start + header_len;
  const std::size_t available = bytes.size() - data_start;
  if (static_cast<uint64_t>(count) > available / ElementSize(type) ||
      available != static_cast<std::size_t>(count) * ElementSize(type)) {
    return bad(absl::StrCat("data has ", available, " bytes, shape ", ShapeString(shape), " of ",
                            DataTypeName(type), " needs ", count * ElementSize(type)));
  }
  Tensor t = Tensor::Copy(type, std::move(shape), bytes.data() + data_start);
  NormalizeBools(&t);
  return t;
}

}  // namespace

absl::StatusOr<Tensor> ReadNpy(const std::string& path) {
  HALFCAST_ASSIGN_OR_RETURN(const std::string bytes, ReadFileBytes(path));
  return ParseNpy(bytes, path);
}

absl::Status WriteNpy(const Tensor& tensor, const std::string& path) {
  const char* descr = nullptr;
  const DataType type = tensor.type() == DataType::kBFloat16 ? DataType::kUint16 : tensor.type();
  for (const NpyType& t : kNpyTypes) {
    if (t.type == type) descr = t.descr;
  }
  if (descr == nullptr) {
    return absl::UnimplementedError(absl::StrCat("cannot write a ", DataTypeName(tensor.type()),
                                                 " tensor as .npy"));
  }
  std::string shape;
  for (int64_t d : tensor.shape()) absl::StrAppend(&shape, d, ", ");
  // numpy writes "(2, 3)" but "(2,)" and "()".
  if (tensor.shape().size() == 1) shape.resize(shape.size() - 1);
  if (tensor.shape().size() > 1) shape.resize(shape.size() - 2);
  std::string dict =
      absl::StrCat("{'descr': '", ElementSize(type) == 1 ? "|" : "<", descr,
                   "', 'fortran_order': False, 'shape': (", shape, "), }");
  // Version 1.0 when the header length fits 16 bits; the whole header is padded to 64 bytes.
  const bool v1 = dict.size() + 11 < 65535 - 64;
  const std::size_t prefix = v1 ? 10 : 12;
  const std::size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - prefix - dict.size() - 1, ' ');
  dict.push_back('\n');
  std::string header("\x93NUMPY", 6);
  header.push_back(v1 ? 1 : 2);
  header.push_back(0);
  const std::size_t len = dict.size();
  header.push_back(static_cast<char>(len & 0xFF));
  header.push_back(static_cast<char>((len >> 8) & 0xFF));
  if (!v1) {
    header.push_back(static_cast<char>((len >> 16) & 0xFF));
    header.push_back(static_cast<char>((len >> 24) & 0xFF));
  }
  header += dict;
  return WriteFileBytes(path, header, tensor.raw_data(), tensor.byte_size());
}

absl::StatusOr<Tensor> ReadTensorProtoFile(const std::string& path) {
  HALFCAST_ASSIGN_OR_RETURN(const std::string bytes, ReadFileBytes(path));
  onnx::TensorProto proto;
  if (!proto.ParseFromString(bytes)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "' is not a serialized onnx.TensorProto"));
  }
  return TensorFromProto(proto, DirName(path));
}

absl::StatusOr<Tensor> ReadTensorFile(const std::string& path) {
  if (absl::EndsWith(path, ".npy")) return ReadNpy(path);
  if (absl::EndsWith(path, ".pb")) return ReadTensorProtoFile(path);
  return absl::InvalidArgumentError(
      absl::StrCat("'", path, "': unknown tensor file type (expected .npy or .pb)"));
}

}  // namespace halfcast
