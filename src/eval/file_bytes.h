// Whole-file reads and atomic whole-file writes for the tensor and value file formats.
#ifndef HALFCAST_EVAL_FILE_BYTES_H_
#define HALFCAST_EVAL_FILE_BYTES_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace halfcast::eval {

// Reads a whole regular file; NotFound when it cannot be opened, InvalidArgument for a folder
// or a device (refused before reading: libstdc++ throws on a folder, and a device may never end).
absl::StatusOr<std::string> ReadFileBytes(const std::string& path);

// Writes `header` then `size` bytes of `data` through a temporary file and a rename, so a
// failure never leaves a half-written file.
absl::Status WriteFileBytes(const std::string& path, absl::string_view header, const void* data,
                            std::size_t size);

// The folder of `path` ("." when it has none), for data stored beside a file.
std::string DirName(const std::string& path);

}  // namespace halfcast::eval

#endif  // HALFCAST_EVAL_FILE_BYTES_H_
