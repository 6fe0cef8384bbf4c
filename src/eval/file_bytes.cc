#include "eval/file_bytes.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace halfcast::eval {

absl::StatusOr<std::string> ReadFileBytes(const std::string& path) {
  if (path.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("'", path, "': a file name cannot hold NUL"));
  }
  std::error_code error;
  const std::filesystem::file_status status = std::filesystem::status(path, error);
  if (std::filesystem::exists(status) && !std::filesystem::is_regular_file(status)) {
    return absl::InvalidArgumentError(absl::StrCat("'", path, "' is not a regular file"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open '", path, "'"));
  try {
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.bad()) return bytes;
  } catch (const std::ios_base::failure&) {
    // An I/O error while reading (libstdc++ throws it whatever the stream's exception mask).
  }
  return absl::DataLossError(absl::StrCat("error reading '", path, "'"));
}

absl::Status WriteFileBytes(const std::string& path, absl::string_view header,
                            const void* data, std::size_t size) {
  const std::string temp = path + ".tmp-halfcast";
  std::FILE* f = std::fopen(temp.c_str(), "wb");
  if (f == nullptr) return absl::PermissionDeniedError(absl::StrCat("cannot write '", path, "'"));
  bool ok = std::fwrite(header.data(), 1, header.size(), f) == header.size();
  if (ok && size > 0) ok = std::fwrite(data, 1, size, f) == size;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(temp.c_str(), path.c_str()) != 0) {
    std::remove(temp.c_str());
    return absl::DataLossError(absl::StrCat("error writing '", path, "'"));
  }
  return absl::OkStatus();
}

std::string DirName(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace halfcast::eval
