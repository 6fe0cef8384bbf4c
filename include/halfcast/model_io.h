// Loading and saving ONNX models, with external data.
//
//   absl::StatusOr<onnx::ModelProto> model = halfcast::LoadModel("in/model.onnx");
//   halfcast::SaveOptions save;
//   save.external_data = true;   // tensors >= 1 KiB go to out/model.onnx.data
//   absl::Status s = halfcast::SaveModel(*model, "out/model.onnx", save);
//
// External data locations resolve inside the model's folder: absolute paths, `..` components
// and symbolic links that leave the folder are InvalidArgument errors, as are offsets and lengths
// past the end of the data file.
//
// Threading: reentrant; no shared state.
#ifndef HALFCAST_MODEL_IO_H_
#define HALFCAST_MODEL_IO_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "onnx/onnx_pb.h"

namespace halfcast {

struct LoadOptions {
  // true: external data is read into each tensor's raw_data (the result is self-contained).
  // false: tensors keep their external references, relative to the model file's folder (the
  // path-based conversions stream them instead of loading them).
  bool load_external_data = true;
};

// Loads a model file. Errors: NotFound for a missing file (or a missing external data file),
// InvalidArgument for bytes that are not an ONNX model (naming the file: corrupt, truncated,
// another protobuf message, over 2 GB) or bad external data references (outside the model's
// folder, past the end of the data file, length not matching the tensor's shape).
absl::StatusOr<onnx::ModelProto> LoadModel(const std::string& path, const LoadOptions& options = {});

// Parses a model from memory. A model that refers to external data is an InvalidArgument error
// (there is no folder to resolve it in).
absl::StatusOr<onnx::ModelProto> LoadModelFromBytes(std::string_view bytes);

struct SaveOptions {
  // true: tensors of at least external_data_threshold bytes are written to a side file:
  // initializers and tensor attributes (Constant values) of every graph, subgraphs included,
  // whose bytes are in raw_data. Tensors of 4 KiB and more start at multiples of 4096 in the
  // file (mmap-friendly), smaller ones at multiples of 64. No side file is written when no
  // tensor qualifies. Tensors that already refer to external data are written unchanged (their
  // references must hold relative to the saved model's folder).
  bool external_data = false;
  int64_t external_data_threshold = 1024;
  // Side file name, relative to the model's folder; default: "<model file name>.data".
  std::string external_data_file;
  // true: flush the files to the disk (fsync) before the rename, so the saved model also
  // survives a power loss; waits for the disk (seconds for GB models). Without it the save is
  // still all-or-nothing for readers and for every failure short of a system crash.
  bool sync = false;
};

// Writes `model` to `path` atomically: a temporary file in the same folder, then rename. On error
// no file is left at `path` (nor at the side file) and an existing file there is unchanged. A
// model whose serialized size would exceed protobuf's 2 GB limit without external data is an
// InvalidArgument error suggesting external data. `model` is not modified or copied (the
// serialization streams into the file), so peak memory stays close to the model's size.
// Errors: NotFound (missing folder), PermissionDenied, ResourceExhausted (disk full),
// InvalidArgument (size, unsafe external_data_file).
absl::Status SaveModel(const onnx::ModelProto& model, const std::string& path,
                       const SaveOptions& options = {});

// Serializes a self-contained model to bytes. InvalidArgument if it refers to external data or
// is over 2 GB.
absl::StatusOr<std::string> SerializeModel(const onnx::ModelProto& model);

}  // namespace halfcast

#endif  // HALFCAST_MODEL_IO_H_
