#include "io/external_data.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace halfcast::io {
namespace {

namespace fs = std::filesystem;

std::string TensorLabel(const onnx::TensorProto& tensor) {
  return absl::StrCat("tensor '", tensor.name(), "'");
}

// Bytes per element for types of fixed size, in 1/2 byte units (4-bit types pack two per byte);
// nullopt for strings, undefined and unknown types.
std::optional<int64_t> HalfBytesPerElement(int32_t data_type) {
  switch (data_type) {
    case onnx::TensorProto::UINT8:
    case onnx::TensorProto::INT8:
    case onnx::TensorProto::BOOL:
    case 17:  // FLOAT8E4M3FN (onnx >= 1.14)
    case 18:  // FLOAT8E4M3FNUZ
    case 19:  // FLOAT8E5M2
    case 20:  // FLOAT8E5M2FNUZ
      return 2;
    case 21:  // UINT4
    case 22:  // INT4
    case 23:  // FLOAT4E2M1
      return 1;
    case onnx::TensorProto::UINT16:
    case onnx::TensorProto::INT16:
    case onnx::TensorProto::FLOAT16:
    case onnx::TensorProto::BFLOAT16:
      return 4;
    case onnx::TensorProto::FLOAT:
    case onnx::TensorProto::INT32:
    case onnx::TensorProto::UINT32:
      return 8;
    case onnx::TensorProto::INT64:
    case onnx::TensorProto::UINT64:
    case onnx::TensorProto::DOUBLE:
    case onnx::TensorProto::COMPLEX64:
      return 16;
    case onnx::TensorProto::COMPLEX128:
      return 32;
    default:
      return std::nullopt;
  }
}

// The byte size the tensor's dims and type need, if known and representable.
std::optional<int64_t> ExpectedByteSize(const onnx::TensorProto& tensor) {
  const std::optional<int64_t> half_bytes = HalfBytesPerElement(tensor.data_type());
  if (!half_bytes) return std::nullopt;
  int64_t elements = 1;
  for (int64_t dim : tensor.dims()) {
    if (dim < 0) return std::nullopt;
    if (dim != 0 && elements > (int64_t{1} << 60) / dim) return std::nullopt;
    elements *= dim;
  }
  return (elements * *half_bytes + 1) / 2;
}

absl::StatusOr<int64_t> ParseNonNegative(const onnx::TensorProto& tensor, const std::string& key,
                                         const std::string& text) {
  int64_t value = 0;
  const bool digits_only =
      !text.empty() && std::all_of(text.begin(), text.end(), absl::ascii_isdigit);
  if (!digits_only || !absl::SimpleAtoi(text, &value)) {
    return absl::InvalidArgumentError(absl::StrCat(TensorLabel(tensor), ": external data ", key,
                                                   " '", text, "' is not a non-negative integer"));
  }
  return value;
}

bool IsInside(const fs::path& folder, const fs::path& path) {
  auto f = folder.begin();
  auto p = path.begin();
  for (; f != folder.end(); ++f, ++p) {
    if (f->empty()) continue;  // trailing separator of the folder
    if (p == path.end() || *f != *p) return false;
  }
  return p != path.end();  // strictly below the folder, not the folder itself
}

}  // namespace

bool HasExternalData(const onnx::TensorProto& tensor) {
  return tensor.data_location() == onnx::TensorProto::EXTERNAL;
}

std::string ModelFolder(const std::string& model_path) {
  const fs::path folder = fs::path(model_path).parent_path();
  return folder.empty() ? std::string(".") : folder.string();
}

absl::StatusOr<std::string> ResolveExternalDataPath(const std::string& base_dir,
                                                    const std::string& location) {
  if (location.empty() || location.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("external data location '", location, "' is not a file name"));
  }
  const fs::path relative(location);
  if (relative.has_root_path()) {
    return absl::InvalidArgumentError(
        absl::StrCat("external data location '", location,
                     "' is an absolute path; it must be relative to the model's folder"));
  }
  for (const fs::path& part : relative) {
    if (part == "..") {
      return absl::InvalidArgumentError(absl::StrCat("external data location '", location,
                                                     "' contains '..'; it must stay inside the "
                                                     "model's folder"));
    }
  }
  const fs::path base = base_dir.empty() ? fs::path(".") : fs::path(base_dir);
  std::error_code error;
  const fs::path real_base = fs::weakly_canonical(fs::absolute(base, error), error);
  if (error) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot resolve the model folder '", base_dir, "': ", error.message()));
  }
  // Symbolic links anywhere on the way are followed, so a link that leaves the folder shows up
  // as a real path outside it.
  const fs::path real_path = fs::weakly_canonical(real_base / relative, error);
  if (error) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot resolve external data location '", location, "': ", error.message()));
  }
  if (!IsInside(real_base, real_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("external data location '", location, "' resolves to '", real_path.string(),
                     "', outside the model's folder '", real_base.string(), "'"));
  }
  return real_path.string();
}

absl::StatusOr<ExternalDataRef> ResolveExternalData(const onnx::TensorProto& tensor,
                                                    const std::string& base_dir) {
  if (!HasExternalData(tensor)) {
    return absl::InvalidArgumentError(
        absl::StrCat(TensorLabel(tensor), " does not use external data"));
  }
  ExternalDataRef ref;
  std::optional<int64_t> length;
  for (const onnx::StringStringEntryProto& entry : tensor.external_data()) {
    if (entry.key() == "location") {
      ref.location = entry.value();
    } else if (entry.key() == "offset") {
      HALFCAST_ASSIGN_OR_RETURN(ref.offset, ParseNonNegative(tensor, "offset", entry.value()));
    } else if (entry.key() == "length") {
      HALFCAST_ASSIGN_OR_RETURN(length, ParseNonNegative(tensor, "length", entry.value()));
    }
    // "checksum" and unknown keys are not checked (onnx does not either).
  }
  if (ref.location.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(TensorLabel(tensor), ": external data has no location"));
  }
  absl::StatusOr<std::string> path = ResolveExternalDataPath(base_dir, ref.location);
  if (!path.ok()) {
    return absl::Status(path.status().code(),
                        absl::StrCat(TensorLabel(tensor), ": ", path.status().message()));
  }
  ref.path = *std::move(path);

  struct stat info;
  if (::stat(ref.path.c_str(), &info) != 0) {
    const std::string message = absl::StrCat(TensorLabel(tensor), ": external data file '",
                                             ref.path, "': ", std::strerror(errno));
    return errno == ENOENT ? absl::NotFoundError(message) : absl::InvalidArgumentError(message);
  }
  if (!S_ISREG(info.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(TensorLabel(tensor), ": external data file '",
                                                   ref.path, "' is not a regular file"));
  }
  const int64_t file_size = static_cast<int64_t>(info.st_size);
  if (ref.offset > file_size) {
    return absl::InvalidArgumentError(absl::StrCat(TensorLabel(tensor), ": external data offset ",
                                                   ref.offset, " is past the end of '", ref.path,
                                                   "' (", file_size, " bytes)"));
  }
  ref.length = length ? *length : file_size - ref.offset;
  if (ref.length > file_size - ref.offset) {
    return absl::InvalidArgumentError(
        absl::StrCat(TensorLabel(tensor), ": external data offset ", ref.offset, " + length ",
                     ref.length, " is past the end of '", ref.path, "' (", file_size, " bytes)"));
  }
  const std::optional<int64_t> expected = ExpectedByteSize(tensor);
  if (expected && *expected != ref.length) {
    return absl::InvalidArgumentError(
        absl::StrCat(TensorLabel(tensor), ": external data has ", ref.length,
                     " bytes but its type and shape need ", *expected));
  }
  return ref;
}

absl::StatusOr<std::string> ReadExternalData(const onnx::TensorProto& tensor,
                                             const std::string& base_dir) {
  HALFCAST_ASSIGN_OR_RETURN(ExternalDataReader reader, ExternalDataReader::Open(tensor, base_dir));
  std::string bytes(static_cast<size_t>(reader.size()), '\0');
  HALFCAST_ASSIGN_OR_RETURN(const size_t done, reader.Read(bytes.data(), bytes.size()));
  if (done != bytes.size()) return absl::InternalError("short read of external data");
  return bytes;
}

absl::StatusOr<ExternalDataReader> ExternalDataReader::Open(const onnx::TensorProto& tensor,
                                                            const std::string& base_dir) {
  HALFCAST_ASSIGN_OR_RETURN(ExternalDataRef ref, ResolveExternalData(tensor, base_dir));
  const int fd = ::open(ref.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat(TensorLabel(tensor), ": cannot open '", ref.path,
                                            "': ", std::strerror(errno)));
  }
  return ExternalDataReader(std::move(ref), fd);
}

ExternalDataReader::ExternalDataReader(ExternalDataReader&& other) noexcept
    : ref_(std::move(other.ref_)), fd_(std::exchange(other.fd_, -1)), position_(other.position_) {}

ExternalDataReader& ExternalDataReader::operator=(ExternalDataReader&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    ref_ = std::move(other.ref_);
    fd_ = std::exchange(other.fd_, -1);
    position_ = other.position_;
  }
  return *this;
}

ExternalDataReader::~ExternalDataReader() {
  if (fd_ >= 0) ::close(fd_);
}

absl::StatusOr<size_t> ExternalDataReader::Read(void* buffer, size_t max_bytes) {
  const size_t want = static_cast<size_t>(
      std::min<int64_t>(remaining(), static_cast<int64_t>(std::min<size_t>(max_bytes, INT64_MAX))));
  char* out = static_cast<char*>(buffer);
  size_t done = 0;
  while (done < want) {
    const ssize_t n = ::pread(fd_, out + done, want - done, ref_.offset + position_);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError(
          absl::StrCat("cannot read '", ref_.path, "': ", std::strerror(errno)));
    }
    if (n == 0) {
      return absl::DataLossError(absl::StrCat("'", ref_.path, "' ended at ",
                                              ref_.offset + position_,
                                              " bytes, before its tensor's data"));
    }
    done += static_cast<size_t>(n);
    position_ += n;
  }
  return done;
}

absl::StatusOr<std::unique_ptr<ExternalDataWriter>> ExternalDataWriter::Create(
    const std::string& model_path, std::string location) {
  if (location.empty()) location = fs::path(model_path).filename().string() + ".data";
  HALFCAST_ASSIGN_OR_RETURN(const std::string path,
                            ResolveExternalDataPath(ModelFolder(model_path), location));
  std::error_code error;
  if (fs::path(path) == fs::weakly_canonical(fs::absolute(model_path), error)) {
    return absl::InvalidArgumentError(absl::StrCat("external data location '", location,
                                                   "' names the model file '", model_path, "'"));
  }
  HALFCAST_ASSIGN_OR_RETURN(std::unique_ptr<AtomicFile> file, AtomicFile::Create(path));
  return std::unique_ptr<ExternalDataWriter>(
      new ExternalDataWriter(model_path, std::move(location), std::move(file)));
}

absl::Status ExternalDataWriter::BeginTensor(int64_t size) {
  if (in_tensor_) {
    return absl::FailedPreconditionError("BeginTensor called before the previous tensor ended");
  }
  if (size < 0) return absl::InvalidArgumentError("negative tensor size");
  const int64_t alignment =
      size >= kExternalDataAlignment ? kExternalDataAlignment : kSmallTensorAlignment;
  const int64_t padding = (alignment - file_->size() % alignment) % alignment;
  HALFCAST_RETURN_IF_ERROR(file_->WriteZeros(static_cast<size_t>(padding)));
  in_tensor_ = true;
  tensor_offset_ = file_->size();
  tensor_size_ = size;
  tensor_written_ = 0;
  return absl::OkStatus();
}

absl::Status ExternalDataWriter::Append(const void* data, size_t size) {
  if (!in_tensor_) return absl::FailedPreconditionError("Append called outside a tensor");
  if (static_cast<int64_t>(size) > tensor_size_ - tensor_written_) {
    return absl::FailedPreconditionError(absl::StrCat("Append of ", size,
                                                      " bytes exceeds the tensor size ",
                                                      tensor_size_, " given to BeginTensor"));
  }
  HALFCAST_RETURN_IF_ERROR(file_->Write(data, size));
  tensor_written_ += static_cast<int64_t>(size);
  return absl::OkStatus();
}

absl::Status ExternalDataWriter::EndTensor(onnx::TensorProto* tensor) {
  if (!in_tensor_) return absl::FailedPreconditionError("EndTensor called outside a tensor");
  if (tensor_written_ != tensor_size_) {
    return absl::FailedPreconditionError(absl::StrCat(TensorLabel(*tensor), ": ", tensor_written_,
                                                      " of ", tensor_size_,
                                                      " bytes appended before EndTensor"));
  }
  in_tensor_ = false;
  tensor->clear_raw_data();
  tensor->clear_float_data();
  tensor->clear_int32_data();
  tensor->clear_string_data();
  tensor->clear_int64_data();
  tensor->clear_double_data();
  tensor->clear_uint64_data();
  tensor->clear_external_data();
  auto add = [tensor](const char* key, std::string value) {
    onnx::StringStringEntryProto* entry = tensor->add_external_data();
    entry->set_key(key);
    entry->set_value(std::move(value));
  };
  add("location", location_);
  add("offset", absl::StrCat(tensor_offset_));
  add("length", absl::StrCat(tensor_size_));
  tensor->set_data_location(onnx::TensorProto::EXTERNAL);
  return absl::OkStatus();
}

absl::Status ExternalDataWriter::WriteTensor(std::string_view bytes, onnx::TensorProto* tensor) {
  HALFCAST_RETURN_IF_ERROR(BeginTensor(static_cast<int64_t>(bytes.size())));
  HALFCAST_RETURN_IF_ERROR(Append(bytes.data(), bytes.size()));
  return EndTensor(tensor);
}

}  // namespace halfcast::io
