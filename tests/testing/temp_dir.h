// A fresh folder under $TMPDIR (or /tmp), removed with everything in it when destroyed.
#ifndef HALFCAST_TESTING_TEMP_DIR_H_
#define HALFCAST_TESTING_TEMP_DIR_H_

#include <string>

namespace halfcast::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string File(const std::string& name) const;

 private:
  std::string path_;
};

// Reads a whole file as bytes ("" if missing); writes bytes to a file.
std::string ReadFileBytes(const std::string& path);
void WriteFileBytes(const std::string& path, const std::string& bytes);

}  // namespace halfcast::testing

#endif  // HALFCAST_TESTING_TEMP_DIR_H_
