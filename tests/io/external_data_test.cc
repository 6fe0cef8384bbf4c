#include "io/external_data.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "io/atomic_file.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace halfcast::io {
namespace {

namespace fs = std::filesystem;
using ::halfcast::testing::ReadFileBytes;
using ::halfcast::testing::StatusIs;
using ::halfcast::testing::TempDir;
using ::halfcast::testing::WriteFileBytes;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

onnx::TensorProto ExternalTensor(const std::string& location, int64_t elements,
                                 const std::string& offset = "", const std::string& length = "") {
  onnx::TensorProto tensor;
  tensor.set_name("w");
  tensor.set_data_type(onnx::TensorProto::FLOAT);
  tensor.add_dims(elements);
  tensor.set_data_location(onnx::TensorProto::EXTERNAL);
  auto add = [&](const char* key, const std::string& value) {
    if (value.empty()) return;
    auto* entry = tensor.add_external_data();
    entry->set_key(key);
    entry->set_value(value);
  };
  add("location", location);
  add("offset", offset);
  add("length", length);
  return tensor;
}

std::string Bytes(size_t n) {
  std::string bytes(n, '\0');
  for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<char>(i * 7 + 3);
  return bytes;
}

std::vector<std::string> FolderEntries(const std::string& folder) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder)) {
    names.push_back(entry.path().filename().string());
  }
  return names;
}

TEST(ResolveExternalDataPathTest, AcceptsFilesInsideTheFolder) {
  TempDir dir;
  fs::create_directory(dir.File("sub"));
  ASSERT_OK_AND_ASSIGN(std::string plain, ResolveExternalDataPath(dir.path(), "w.bin"));
  EXPECT_EQ(plain, fs::weakly_canonical(dir.File("w.bin")).string());
  ASSERT_OK_AND_ASSIGN(std::string nested, ResolveExternalDataPath(dir.path(), "sub/./w.bin"));
  EXPECT_EQ(nested, fs::weakly_canonical(dir.File("sub/w.bin")).string());
}

TEST(ResolveExternalDataPathTest, RejectsAbsoluteDotDotAndEmpty) {
  TempDir dir;
  EXPECT_THAT(ResolveExternalDataPath(dir.path(), "/etc/passwd"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("absolute")));
  EXPECT_THAT(ResolveExternalDataPath(dir.path(), "../w.bin"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("..")));
  EXPECT_THAT(ResolveExternalDataPath(dir.path(), "sub/../../w.bin"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("..")));
  // `..` is rejected even when the path would come back inside.
  EXPECT_THAT(ResolveExternalDataPath(dir.path(), "sub/../w.bin"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("..")));
  EXPECT_THAT(ResolveExternalDataPath(dir.path(), ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a file name")));
  EXPECT_THAT(ResolveExternalDataPath(dir.path(), "."),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("outside")));
}

TEST(ResolveExternalDataPathTest, RejectsSymlinksThatLeaveTheFolder) {
  TempDir outside;
  TempDir dir;
  WriteFileBytes(outside.File("secret.bin"), Bytes(16));
  fs::create_symlink(outside.File("secret.bin"), dir.File("link.bin"));
  fs::create_directory_symlink(outside.path(), dir.File("linkdir"));
  EXPECT_THAT(
      ResolveExternalDataPath(dir.path(), "link.bin"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("outside the model's folder")));
  EXPECT_THAT(
      ResolveExternalDataPath(dir.path(), "linkdir/secret.bin"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("outside the model's folder")));
  // A link that stays inside is fine.
  WriteFileBytes(dir.File("real.bin"), Bytes(16));
  fs::create_symlink("real.bin", dir.File("alias.bin"));
  ASSERT_OK_AND_ASSIGN(std::string path, ResolveExternalDataPath(dir.path(), "alias.bin"));
  EXPECT_EQ(path, fs::canonical(dir.File("real.bin")).string());
}

TEST(ResolveExternalDataTest, ChecksOffsetLengthAndShape) {
  TempDir dir;
  WriteFileBytes(dir.File("w.bin"), Bytes(100));
  ASSERT_OK_AND_ASSIGN(ExternalDataRef whole,
                       ResolveExternalData(ExternalTensor("w.bin", 25), dir.path()));
  EXPECT_EQ(whole.offset, 0);
  EXPECT_EQ(whole.length, 100);
  ASSERT_OK_AND_ASSIGN(ExternalDataRef part,
                       ResolveExternalData(ExternalTensor("w.bin", 4, "84", "16"), dir.path()));
  EXPECT_EQ(part.offset, 84);
  EXPECT_EQ(part.length, 16);

  EXPECT_THAT(ResolveExternalData(ExternalTensor("w.bin", 4, "101"), dir.path()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("past the end")));
  EXPECT_THAT(ResolveExternalData(ExternalTensor("w.bin", 4, "90", "16"), dir.path()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("past the end")));
  EXPECT_THAT(ResolveExternalData(ExternalTensor("w.bin", 5, "0", "16"), dir.path()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("need 20")));
  EXPECT_THAT(ResolveExternalData(ExternalTensor("w.bin", 4, "-4", "16"), dir.path()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("non-negative")));
  EXPECT_THAT(ResolveExternalData(ExternalTensor("w.bin", 4, "0x10", "16"), dir.path()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("non-negative")));
  EXPECT_THAT(ResolveExternalData(ExternalTensor("missing.bin", 4), dir.path()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing.bin")));
  EXPECT_THAT(ResolveExternalData(ExternalTensor("", 4), dir.path()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no location")));
  fs::create_directory(dir.File("folder"));
  EXPECT_THAT(ResolveExternalData(ExternalTensor("folder", 4), dir.path()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a regular file")));
  EXPECT_THAT(ResolveExternalData(ExternalTensor("../w.bin", 4), dir.path()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tensor 'w'")));
}

TEST(ExternalDataReaderTest, ReadsInChunks) {
  TempDir dir;
  const std::string bytes = Bytes(1000);
  WriteFileBytes(dir.File("w.bin"), bytes);
  ASSERT_OK_AND_ASSIGN(
      ExternalDataReader reader,
      ExternalDataReader::Open(ExternalTensor("w.bin", 100, "200", "400"), dir.path()));
  EXPECT_EQ(reader.size(), 400);
  std::string read;
  char chunk[64];
  while (reader.remaining() > 0) {
    ASSERT_OK_AND_ASSIGN(size_t n, reader.Read(chunk, sizeof chunk));
    ASSERT_GT(n, 0u);
    read.append(chunk, n);
  }
  EXPECT_EQ(read, bytes.substr(200, 400));
  ASSERT_OK_AND_ASSIGN(size_t at_end, reader.Read(chunk, sizeof chunk));
  EXPECT_EQ(at_end, 0u);

  ASSERT_OK_AND_ASSIGN(std::string whole,
                       ReadExternalData(ExternalTensor("w.bin", 100, "200", "400"), dir.path()));
  EXPECT_EQ(whole, bytes.substr(200, 400));
}

TEST(ExternalDataReaderTest, FileThatShrankIsDataLoss) {
  TempDir dir;
  WriteFileBytes(dir.File("w.bin"), Bytes(400));
  ASSERT_OK_AND_ASSIGN(ExternalDataReader reader,
                       ExternalDataReader::Open(ExternalTensor("w.bin", 100), dir.path()));
  ASSERT_EQ(::truncate(dir.File("w.bin").c_str(), 100), 0);
  std::string buffer(400, '\0');
  EXPECT_THAT(reader.Read(buffer.data(), buffer.size()),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("w.bin")));
}

TEST(ExternalDataWriterTest, AlignsTensorsAndPublishesOnlyWithTheModel) {
  TempDir dir;
  const std::string model_path = dir.File("model.onnx");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ExternalDataWriter> writer,
                       ExternalDataWriter::Create(model_path));
  EXPECT_EQ(writer->location(), "model.onnx.data");

  onnx::TensorProto small;
  small.set_name("small");
  small.set_data_type(onnx::TensorProto::FLOAT);
  small.add_dims(3);
  small.set_raw_data(Bytes(12));
  ASSERT_OK(writer->WriteTensor(small.raw_data(), &small));

  onnx::TensorProto big;
  big.set_name("big");
  big.set_data_type(onnx::TensorProto::FLOAT);
  big.add_dims(2048);
  const std::string big_bytes = Bytes(8192);
  ASSERT_OK(writer->BeginTensor(8192));
  for (size_t at = 0; at < big_bytes.size(); at += 1000) {
    ASSERT_OK(writer->Append(big_bytes.data() + at, std::min<size_t>(1000, big_bytes.size() - at)));
  }
  EXPECT_THAT(writer->Append("x", 1),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("exceeds")));
  ASSERT_OK(writer->EndTensor(&big));

  onnx::TensorProto tiny;
  tiny.set_name("tiny");
  tiny.set_data_type(onnx::TensorProto::FLOAT);
  tiny.add_dims(1);
  ASSERT_OK(writer->WriteTensor(Bytes(4), &tiny));

  EXPECT_TRUE(HasExternalData(big));
  EXPECT_FALSE(big.has_raw_data());
  // Nothing is visible before the commit: the data file is still a temporary.
  EXPECT_FALSE(fs::exists(dir.File("model.onnx.data")));
  auto offset_of = [](const onnx::TensorProto& tensor) {
    for (const auto& entry : tensor.external_data()) {
      if (entry.key() == "offset") return std::stoll(entry.value());
    }
    return -1LL;
  };
  EXPECT_EQ(offset_of(small), 0);
  EXPECT_EQ(offset_of(big), kExternalDataAlignment);          // 4096-aligned: 8192 bytes >= a page
  EXPECT_EQ(offset_of(tiny), kExternalDataAlignment + 8192);  // a multiple of 64 already

  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(17);
  *model.mutable_graph()->add_initializer() = small;
  *model.mutable_graph()->add_initializer() = big;
  ASSERT_OK(CommitModelWithExternalData(model, writer.get()));
  EXPECT_TRUE(fs::exists(model_path));
  ASSERT_OK_AND_ASSIGN(std::string read_big, ReadExternalData(big, dir.path()));
  EXPECT_EQ(read_big, big_bytes);
  ASSERT_OK_AND_ASSIGN(std::string read_small, ReadExternalData(small, dir.path()));
  EXPECT_EQ(read_small, Bytes(12));
  EXPECT_EQ(FolderEntries(dir.path()).size(), 2u);  // model + data, no temporaries
}

TEST(ExternalDataWriterTest, AbandonedWriterLeavesNothing) {
  TempDir dir;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<ExternalDataWriter> writer,
                         ExternalDataWriter::Create(dir.File("model.onnx"), "weights.bin"));
    onnx::TensorProto tensor;
    ASSERT_OK(writer->WriteTensor(Bytes(5000), &tensor));
  }
  EXPECT_THAT(FolderEntries(dir.path()), IsEmpty());
}

TEST(ExternalDataWriterTest, RejectsUnsafeLocationsAndMisuse) {
  TempDir dir;
  EXPECT_THAT(ExternalDataWriter::Create(dir.File("model.onnx"), "../weights.bin"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("..")));
  EXPECT_THAT(ExternalDataWriter::Create(dir.File("model.onnx"), "/tmp/weights.bin"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("absolute")));
  EXPECT_THAT(ExternalDataWriter::Create(dir.File("model.onnx"), "model.onnx"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("names the model file")));
  EXPECT_THAT(ExternalDataWriter::Create(dir.File("model.onnx"), "./model.onnx"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("names the model file")));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ExternalDataWriter> writer,
                       ExternalDataWriter::Create(dir.File("model.onnx")));
  onnx::TensorProto tensor;
  EXPECT_THAT(writer->Append("x", 1),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("outside")));
  ASSERT_OK(writer->BeginTensor(8));
  EXPECT_THAT(writer->BeginTensor(8),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("previous")));
  ASSERT_OK(writer->Append("abcd", 4));
  EXPECT_THAT(writer->EndTensor(&tensor),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("4 of 8")));
}

TEST(AtomicFileTest, CommitPublishesWithUmaskPermissions) {
  TempDir dir;
  const std::string path = dir.File("out.bin");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<AtomicFile> file, AtomicFile::Create(path));
  ASSERT_OK(file->Write("hello", 5));
  ASSERT_OK(file->WriteZeros(3));
  EXPECT_EQ(file->size(), 8);
  EXPECT_FALSE(fs::exists(path));
  ASSERT_OK(file->Commit());
  EXPECT_EQ(ReadFileBytes(path), std::string("hello\0\0\0", 8));
  struct stat info;
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  const mode_t mask = ::umask(0);
  ::umask(mask);
  EXPECT_EQ(info.st_mode & 0777, 0666 & ~mask);
  EXPECT_EQ(FolderEntries(dir.path()).size(), 1u);
}

TEST(AtomicFileTest, FailedRenameLeavesOldFileAndNoTemporary) {
  TempDir dir;
  // The destination is a non-empty folder: rename() fails after everything was written.
  fs::create_directory(dir.File("out"));
  WriteFileBytes(dir.File("out/keep"), "old");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<AtomicFile> file, AtomicFile::Create(dir.File("out")));
  ASSERT_OK(file->Write("new", 3));
  EXPECT_FALSE(file->Commit().ok());
  file.reset();
  EXPECT_EQ(FolderEntries(dir.path()), std::vector<std::string>{"out"});
  EXPECT_EQ(ReadFileBytes(dir.File("out/keep")), "old");
}

TEST(AtomicFileTest, MissingFolderIsNotFound) {
  TempDir dir;
  EXPECT_THAT(AtomicFile::Create(dir.File("no/such/out.bin")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no/such/out.bin")));
}

TEST(AtomicFileTest, PublishAllRollsBackWhenALaterFileFails) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<AtomicFile> data, AtomicFile::Create(dir.File("m.data")));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<AtomicFile> model, AtomicFile::Create(dir.File("m.onnx")));
  ASSERT_OK(data->Write("d", 1));
  ASSERT_OK(model->Write("m", 1));
  ASSERT_OK(data->Finish());
  ASSERT_OK(model->Finish());
  fs::create_directory(dir.File("m.onnx"));
  WriteFileBytes(dir.File("m.onnx/x"), "x");
  EXPECT_FALSE(PublishAll({data.get(), model.get()}).ok());
  data.reset();
  model.reset();
  EXPECT_EQ(FolderEntries(dir.path()), std::vector<std::string>{"m.onnx"});
}

}  // namespace
}  // namespace halfcast::io
