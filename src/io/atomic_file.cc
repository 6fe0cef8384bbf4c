#include "io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace halfcast::io {

absl::Status ErrnoToStatus(int error, const std::string& what, const std::string& path) {
  const std::string message = absl::StrCat(what, " '", path, "': ", std::strerror(error));
  switch (error) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(message);
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
      return absl::ResourceExhaustedError(message);
    default:
      return absl::InternalError(message);
  }
}

namespace {

std::string FolderOf(const std::string& path) {
  std::filesystem::path folder = std::filesystem::path(path).parent_path();
  return folder.empty() ? std::string(".") : folder.string();
}

// The folder entry of a rename is durable only once the folder itself is synced.
void SyncFolder(const std::string& folder) {
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

AtomicFile::AtomicFile(std::string path, std::string temp_path, int fd)
    : path_(std::move(path)), temp_path_(std::move(temp_path)), fd_(fd) {}

absl::StatusOr<std::unique_ptr<AtomicFile>> AtomicFile::Create(const std::string& path) {
  const std::filesystem::path target(path);
  if (target.filename().empty()) {
    return absl::InvalidArgumentError(absl::StrCat("output path '", path, "' names no file"));
  }
  // O_EXCL with a fresh name instead of mkstemp: mkstemp creates 0600 files, and reading the
  // umask to fix that up is not thread-safe; open()'s mode argument applies the umask for us.
  static std::atomic<uint64_t> counter{0};
  const uint64_t salt =
      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  for (int attempt = 0; attempt < 100; ++attempt) {
    const std::string temp =
        (target.parent_path() / absl::StrCat(".", target.filename().string(), ".tmp-", ::getpid(),
                                             "-", salt % 1000000, "-", counter++))
            .string();
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) return std::unique_ptr<AtomicFile>(new AtomicFile(path, temp, fd));
    if (errno != EEXIST) return ErrnoToStatus(errno, "cannot create a file in the folder of", path);
  }
  return absl::InternalError(
      absl::StrCat("cannot find a free temporary name next to '", path, "'"));
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!published_) ::unlink(temp_path_.c_str());
}

absl::Status AtomicFile::Write(const void* data, size_t size) {
  if (fd_ < 0) return absl::FailedPreconditionError(absl::StrCat("'", path_, "' is finished"));
  const char* bytes = static_cast<const char*>(data);
  size_t left = size;
  while (left > 0) {
    const ssize_t written = ::write(fd_, bytes, left);
    if (written < 0) {
      if (errno == EINTR) continue;
      return ErrnoToStatus(errno, "cannot write", path_);
    }
    bytes += written;
    left -= static_cast<size_t>(written);
  }
  size_ += static_cast<int64_t>(size);
  return absl::OkStatus();
}

absl::Status AtomicFile::WriteZeros(size_t count) {
  static constexpr char kZeros[4096] = {};
  while (count > 0) {
    const size_t n = count < sizeof kZeros ? count : sizeof kZeros;
    HALFCAST_RETURN_IF_ERROR(Write(kZeros, n));
    count -= n;
  }
  return absl::OkStatus();
}

absl::Status AtomicFile::Finish(bool sync) {
  if (fd_ < 0) return absl::FailedPreconditionError(absl::StrCat("'", path_, "' is finished"));
  const int fd = fd_;
  fd_ = -1;
  if (sync && ::fsync(fd) != 0) {
    const int error = errno;
    ::close(fd);
    return ErrnoToStatus(error, "cannot flush", path_);
  }
  synced_ = sync;
  if (::close(fd) != 0) return ErrnoToStatus(errno, "cannot close", path_);
  return absl::OkStatus();
}

absl::Status AtomicFile::Publish() {
  if (fd_ >= 0 || published_) {
    return absl::FailedPreconditionError(
        absl::StrCat("'", path_, "' must be finished (and not yet published) to publish it"));
  }
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    return ErrnoToStatus(errno, "cannot rename the temporary file onto", path_);
  }
  published_ = true;
  if (synced_) SyncFolder(FolderOf(path_));
  return absl::OkStatus();
}

absl::Status AtomicFile::Commit(bool sync) {
  HALFCAST_RETURN_IF_ERROR(Finish(sync));
  return Publish();
}

absl::Status PublishAll(const std::vector<AtomicFile*>& files) {
  for (size_t i = 0; i < files.size(); ++i) {
    absl::Status status = files[i]->Publish();
    if (!status.ok()) {
      for (size_t j = 0; j < i; ++j) ::unlink(files[j]->path().c_str());
      return status;
    }
  }
  return absl::OkStatus();
}

bool SameFile(const std::string& a, const std::string& b) {
  std::error_code error;
  return a == b || std::filesystem::equivalent(a, b, error);
}

}  // namespace halfcast::io
