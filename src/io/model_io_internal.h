// Internals of model_io.cc that tests and ConvertFile reach: the 2 GB decision with an injectable
// limit, the parser shared by LoadModel and LoadModelFromBytes, and loading onto an arena.
#ifndef HALFCAST_IO_MODEL_IO_INTERNAL_H_
#define HALFCAST_IO_MODEL_IO_INTERNAL_H_

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/io/zero_copy_stream.h"
#include "halfcast/model_io.h"
#include "onnx/onnx_pb.h"

namespace halfcast::io {

// protobuf parses at most INT_MAX bytes in one message.
inline constexpr int64_t kMaxProtobufBytes = std::numeric_limits<int32_t>::max();

// Parses an ONNX model; `label` (a file name, or "model bytes") starts every error message.
// InvalidArgument "not an ONNX model" when the bytes do not parse, or parse into a message
// without ir_version or graph, without opset_import (IR >= 3), or with fields of the wrong wire
// type (another protobuf message read as a ModelProto).
absl::StatusOr<onnx::ModelProto> ParseModel(std::string_view bytes, const std::string& label);
absl::StatusOr<onnx::ModelProto> ParseModel(google::protobuf::io::ZeroCopyInputStream* input,
                                            const std::string& label);

// ParseModel into `model`, which may live on an arena (see ModelArenaOptions).
absl::Status ParseModelInto(google::protobuf::io::ZeroCopyInputStream* input,
                            const std::string& label, onnx::ModelProto* model);

// LoadModel into `model`, which may live on an arena; same errors as LoadModel.
absl::Status LoadModelInto(const std::string& path, const LoadOptions& options,
                           onnx::ModelProto* model);

// Options for an arena holding a whole model (ConvertFile's): blocks of 2 MiB and up, mapped with
// transparent huge pages where the system offers them. Parsing a graph of many small messages
// into it takes about half the time of a heap parse, and dropping it frees everything at once.
google::protobuf::ArenaOptions ModelArenaOptions();

// SaveModel with the size limit of the serialized model file as a parameter.
absl::Status SaveModelWithLimit(const onnx::ModelProto& model, const std::string& path,
                                const SaveOptions& options, int64_t max_model_bytes);

}  // namespace halfcast::io

#endif  // HALFCAST_IO_MODEL_IO_INTERNAL_H_
