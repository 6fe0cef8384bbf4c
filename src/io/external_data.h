// External data: tensor bytes stored outside the model file (TensorProto.data_location EXTERNAL,
// external_data keys "location", "offset", "length", "checksum").
//
// Safety: a location resolves only inside the model's folder. Absolute locations, `..`
// components and symbolic links whose target leaves the folder are InvalidArgument errors, as are
// offset/length ranges past the end of the file and lengths that disagree with the tensor's shape.
//
// Streaming conversion of a model whose data does not fit in memory (what ConvertFile does):
//
//   // Load the graph only; tensors keep their external references.
//   LoadOptions references;
//   references.load_external_data = false;
//   HALFCAST_ASSIGN_OR_RETURN(onnx::ModelProto model, LoadModel(in_path, references));
//   const std::string in_dir = ModelFolder(in_path);
//   HALFCAST_ASSIGN_OR_RETURN(std::unique_ptr<ExternalDataWriter> out,
//                             ExternalDataWriter::Create(out_path));  // out_path + ".data"
//   for (onnx::TensorProto* tensor : <every float32 initializer with external data>) {
//     HALFCAST_ASSIGN_OR_RETURN(ExternalDataReader in, ExternalDataReader::Open(*tensor, in_dir));
//     HALFCAST_RETURN_IF_ERROR(out->BeginTensor(in.size() / 2));
//     while (in.remaining() > 0) {
//       HALFCAST_ASSIGN_OR_RETURN(size_t n, in.Read(chunk32.data(), chunk32.size() * 4));
//       numerics::ConvertFloatTo16(chunk32.data(), chunk16.data(), n / 4, target, clip, &counts);
//       HALFCAST_RETURN_IF_ERROR(out->Append(chunk16.data(), n / 2));
//     }
//     tensor->set_data_type(onnx::TensorProto::FLOAT16);
//     HALFCAST_RETURN_IF_ERROR(out->EndTensor(tensor));  // tensor now points into the new file
//   }
//   // Other external tensors: copy them through out->WriteTensor or chunked Append likewise.
//   HALFCAST_RETURN_IF_ERROR(CommitModelWithExternalData(model, out.get()));
//
// Nothing is visible at out_path or its side file until CommitModelWithExternalData succeeds;
// destroying the writer without committing removes its temporary file. Read chunks with a size
// that is a multiple of the element size (Read never splits an element if you do).
//
// Threading: readers and writers are used by one thread at a time; distinct objects are
// independent. The free functions are reentrant.
#ifndef HALFCAST_IO_EXTERNAL_DATA_H_
#define HALFCAST_IO_EXTERNAL_DATA_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "io/atomic_file.h"
#include "onnx/onnx_pb.h"

namespace halfcast::io {

// Tensors of at least this many bytes start at a multiple of it in files written by
// ExternalDataWriter (the page size: readers can mmap a tensor in place, as ONNX Runtime does when
// offsets are aligned). Smaller tensors start at a multiple of kSmallTensorAlignment, so tiny
// tensors do not waste a page each.
inline constexpr int64_t kExternalDataAlignment = 4096;
inline constexpr int64_t kSmallTensorAlignment = 64;

// true if the tensor's data_location is EXTERNAL.
bool HasExternalData(const onnx::TensorProto& tensor);

// The folder a model's external data locations are relative to ("." for a bare file name).
std::string ModelFolder(const std::string& model_path);

// Resolves `location` against `base_dir` (the model's folder) and returns the path to open. The
// file need not exist; if it (or a symbolic link on the way) does, its real target must be inside
// base_dir. Errors: InvalidArgument for an empty or absolute location, a `..` component, or a
// path that leaves base_dir through a symbolic link.
absl::StatusOr<std::string> ResolveExternalDataPath(const std::string& base_dir,
                                                    const std::string& location);

// A tensor's external data reference, checked against the file on disk.
struct ExternalDataRef {
  std::string location;  // as written in the model
  std::string path;      // resolved file path, inside the model's folder
  int64_t offset = 0;
  int64_t length = 0;  // the "length" key, or the rest of the file when it is absent
};

// Parses and checks a tensor's external_data entries: the location resolves (see above), the file
// exists and is a regular file (NotFound if missing), offset and length are non-negative decimal
// integers and lie within the file, and the length equals the size the tensor's dims and
// data_type need (for fixed-size types). Errors name the tensor and the file.
absl::StatusOr<ExternalDataRef> ResolveExternalData(const onnx::TensorProto& tensor,
                                                    const std::string& base_dir);

// Reads a tensor's whole external data (ResolveExternalData's checks first).
absl::StatusOr<std::string> ReadExternalData(const onnx::TensorProto& tensor,
                                             const std::string& base_dir);

// Reads one tensor's external bytes in chunks, so a converter holds only a chunk in memory.
// Movable, not copyable; closes its file when destroyed.
class ExternalDataReader {
 public:
  // Checks the reference (as ResolveExternalData) and opens the file.
  static absl::StatusOr<ExternalDataReader> Open(const onnx::TensorProto& tensor,
                                                 const std::string& base_dir);

  ExternalDataReader(ExternalDataReader&& other) noexcept;
  ExternalDataReader& operator=(ExternalDataReader&& other) noexcept;
  ExternalDataReader(const ExternalDataReader&) = delete;
  ExternalDataReader& operator=(const ExternalDataReader&) = delete;
  ~ExternalDataReader();

  // Copies the next min(max_bytes, remaining()) bytes into `buffer` (which holds at least
  // max_bytes) and returns how many; 0 once everything was read. Errors: DataLoss if the file
  // shrank since Open, Internal for other read errors.
  absl::StatusOr<size_t> Read(void* buffer, size_t max_bytes);

  int64_t size() const { return ref_.length; }
  int64_t remaining() const { return ref_.length - position_; }
  const ExternalDataRef& ref() const { return ref_; }

 private:
  ExternalDataReader(ExternalDataRef ref, int fd) : ref_(std::move(ref)), fd_(fd) {}

  ExternalDataRef ref_;
  int fd_ = -1;
  int64_t position_ = 0;
};

// Appends tensors' bytes to a new side file of a model and points the tensors at them. The file
// is written under a temporary name and published by CommitModelWithExternalData together with
// the model; destroying the writer before that removes it.
class ExternalDataWriter {
 public:
  // `model_path`: the model file the data belongs to (it is written later, by
  // CommitModelWithExternalData). `location`: the side file's name relative to the model's folder
  // (default "<model file name>.data"); it must pass ResolveExternalDataPath and must not name
  // the model file itself. Errors: InvalidArgument for those, AtomicFile::Create's errors.
  static absl::StatusOr<std::unique_ptr<ExternalDataWriter>> Create(const std::string& model_path,
                                                                    std::string location = "");

  // Starts a tensor of `size` bytes at the next aligned offset (see kExternalDataAlignment).
  absl::Status BeginTensor(int64_t size);
  // Appends bytes of the current tensor; more than the size given to BeginTensor is an error.
  absl::Status Append(const void* data, size_t size);
  // Ends the current tensor (all its bytes must have been appended) and rewrites `tensor` to
  // refer to them: data_location EXTERNAL, external_data {location, offset, length}, inline data
  // fields (raw_data, float_data, ...) cleared. Other fields (name, dims, data_type) are kept.
  absl::Status EndTensor(onnx::TensorProto* tensor);
  // BeginTensor + Append + EndTensor for bytes already in memory.
  absl::Status WriteTensor(std::string_view bytes, onnx::TensorProto* tensor);

  const std::string& model_path() const { return model_path_; }
  // The side file the data goes to once committed.
  const std::string& data_path() const { return file_->path(); }
  const std::string& location() const { return location_; }
  // Bytes written to the side file so far (padding included).
  int64_t size() const { return file_->size(); }
  AtomicFile* file() { return file_.get(); }

 private:
  ExternalDataWriter(std::string model_path, std::string location, std::unique_ptr<AtomicFile> file)
      : model_path_(std::move(model_path)),
        location_(std::move(location)),
        file_(std::move(file)) {}

  std::string model_path_;
  std::string location_;
  std::unique_ptr<AtomicFile> file_;
  bool in_tensor_ = false;
  int64_t tensor_offset_ = 0;
  int64_t tensor_size_ = 0;
  int64_t tensor_written_ = 0;
};

// Writes `model` to data->model_path() atomically and publishes it together with the writer's
// side file (the data file first, so a visible model always finds its data). On error neither
// file is left behind. The model's tensors that refer to external data must refer to the
// writer's file (EndTensor does that). Defined in model_io.cc, next to SaveModel.
// `sync`: as SaveOptions::sync.
absl::Status CommitModelWithExternalData(const onnx::ModelProto& model, ExternalDataWriter* data,
                                         bool sync = false);

}  // namespace halfcast::io

#endif  // HALFCAST_IO_EXTERNAL_DATA_H_
