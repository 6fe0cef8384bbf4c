// Atomic file writes: a temporary file in the destination's folder, fsync, then rename over the
// destination, so a reader sees either the old file or the complete new one, never a part.
//
//   HALFCAST_ASSIGN_OR_RETURN(std::unique_ptr<AtomicFile> file, AtomicFile::Create(path));
//   HALFCAST_RETURN_IF_ERROR(file->Write(bytes.data(), bytes.size()));
//   HALFCAST_RETURN_IF_ERROR(file->Commit());
//   // Any early return destroys `file`, which removes the temporary: nothing appears at `path`.
//
// Threading: one AtomicFile is used by one thread at a time; distinct objects are independent.
#ifndef HALFCAST_IO_ATOMIC_FILE_H_
#define HALFCAST_IO_ATOMIC_FILE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace halfcast::io {

class AtomicFile {
 public:
  // Creates a temporary file next to `path` (same folder, so the rename cannot cross file
  // systems), with the permissions a plain create would give (0666 minus the umask).
  // Errors: NotFound if the folder does not exist, PermissionDenied if it is not writable,
  // Internal for other system errors; each message names the path.
  static absl::StatusOr<std::unique_ptr<AtomicFile>> Create(const std::string& path);

  // Removes the temporary file unless Commit() succeeded.
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Appends `size` bytes at the end of the file. Error: ResourceExhausted when the disk is full,
  // Internal otherwise.
  absl::Status Write(const void* data, size_t size);
  // Appends `count` zero bytes (padding).
  absl::Status WriteZeros(size_t count);

  // Closes the descriptor; after this only Publish() (rename) or destruction (removal) remain.
  // `sync`: first flush the data to the disk (fsync), and the folder entry at Publish(), so the
  // file survives a power loss; that waits for the disk (seconds for GB files). Without it, the
  // rename still makes the write all-or-nothing for every reader and for any failure short of
  // a system crash. Commit() = Finish() + Publish().
  absl::Status Finish(bool sync = false);
  // Renames the finished temporary file over the destination.
  absl::Status Publish();
  absl::Status Commit(bool sync = false);

  // The open descriptor of the temporary file (for protobuf's FileOutputStream); -1 after
  // Finish(). Bytes written through it directly are counted by calling AddWritten().
  int fd() const { return fd_; }
  void AddWritten(int64_t bytes) { size_ += bytes; }
  // Bytes written so far: the offset where the next Write() lands.
  int64_t size() const { return size_; }
  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return temp_path_; }

 private:
  AtomicFile(std::string path, std::string temp_path, int fd);

  std::string path_;
  std::string temp_path_;
  int fd_ = -1;
  int64_t size_ = 0;
  bool published_ = false;
  bool synced_ = false;
};

// A status for a failed system call: NotFound (ENOENT, ENOTDIR), PermissionDenied (EACCES,
// EPERM, EROFS), ResourceExhausted (ENOSPC, EDQUOT, EFBIG), Internal otherwise; the message is
// "<what> '<path>': <strerror>".
absl::Status ErrnoToStatus(int error, const std::string& what, const std::string& path);

// Whether two paths name one file: equal strings, or both exist and are the same file (links,
// `./` prefixes and hard links included).
bool SameFile(const std::string& a, const std::string& b);

// Publishes finished files in order; if one fails, removes those already published in this call
// (best effort; an earlier version of a file already renamed over is then gone) and returns the
// error. Publish a model's side data file before the model, so a visible model file always has
// its data.
absl::Status PublishAll(const std::vector<AtomicFile*>& files);

}  // namespace halfcast::io

#endif  // HALFCAST_IO_ATOMIC_FILE_H_
