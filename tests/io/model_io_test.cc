#include "halfcast/model_io.h"

#include <sys/resource.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "io/external_data.h"
#include "io/model_io_internal.h"
#include "testing/onnx_text.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace halfcast {
namespace {

namespace fs = std::filesystem;
using ::google::protobuf::util::MessageDifferencer;
using ::halfcast::testing::ParseModelText;
using ::halfcast::testing::ReadFileBytes;
using ::halfcast::testing::StatusIs;
using ::halfcast::testing::TempDir;
using ::halfcast::testing::WriteFileBytes;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

std::vector<std::string> FolderEntries(const std::string& folder) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder)) {
    names.push_back(entry.path().filename().string());
  }
  return names;
}

// Load options that keep external references instead of reading the data.
LoadOptions References() {
  LoadOptions options;
  options.load_external_data = false;
  return options;
}

onnx::TensorProto FloatTensor(const std::string& name, int64_t count, float scale) {
  onnx::TensorProto tensor;
  tensor.set_name(name);
  tensor.set_data_type(onnx::TensorProto::FLOAT);
  tensor.add_dims(count);
  std::vector<float> values(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i)
    values[static_cast<size_t>(i)] = scale * static_cast<float>(i);
  tensor.set_raw_data(
      std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
  return tensor;
}

// y = If(c) { Add(t, w_then) } else { Identity(t) }, t = Add(x, w) + b: big initializers in the
// main graph, in a subgraph and in a Constant, and a small one (16 bytes).
onnx::ModelProto MakeModel() {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17], producer_name: "halfcast-test">
    g (float[N] x, bool c) => (float[N] y) {
      s = Add(x, w)
      k = Constant <value = float[1] {2.5}> ()
      t = Mul(s, k)
      y = If(c) <then_branch = g1 () => (float[N] o1) { o1 = Add(t, w_then) },
                 else_branch = g2 () => (float[N] o2) { o2 = Identity(t) }>
    }
  )");
  *model.mutable_graph()->add_initializer() = FloatTensor("w", 1000, 0.5f);
  *model.mutable_graph()->add_initializer() = FloatTensor("b", 4, 1.0f);
  onnx::NodeProto* if_node = model.mutable_graph()->mutable_node(3);
  *if_node->mutable_attribute(0)->mutable_g()->add_initializer() =
      FloatTensor("w_then", 1000, -2.0f);
  *model.mutable_graph()->mutable_node(1)->mutable_attribute(0)->mutable_t() =
      FloatTensor("", 1000, 0.25f);
  return model;
}

// What the saved model must equal: the model with the given initializers turned into stubs.
void ExpectSameModulo(const onnx::ModelProto& expected, const onnx::ModelProto& actual) {
  EXPECT_TRUE(MessageDifferencer::Equals(expected, actual))
      << "expected:\n"
      << expected.DebugString().substr(0, 2000) << "\nactual:\n"
      << actual.DebugString().substr(0, 2000);
}

// A serialization short enough for std::string's inline buffer once returned zeros: the stream
// flushed into a string already copied out (found by tests/fuzz).
TEST(ModelIoTest, SerializeShortModels) {
  for (int opsets = 0; opsets < 3; ++opsets) {
    onnx::ModelProto model;
    model.set_ir_version(opsets == 0 ? 0 : 8);
    model.mutable_graph();
    for (int i = 0; i < opsets; ++i) model.add_opset_import()->set_version(17);
    ASSERT_OK_AND_ASSIGN(std::string bytes, SerializeModel(model));
    EXPECT_EQ(bytes, model.SerializeAsString()) << bytes.size() << " bytes";
    EXPECT_OK(LoadModelFromBytes(bytes).status());
  }
}

TEST(ModelIoTest, SaveLoadRoundTripIsExact) {
  TempDir dir;
  const onnx::ModelProto model = MakeModel();
  ASSERT_OK(SaveModel(model, dir.File("m.onnx")));
  ASSERT_OK_AND_ASSIGN(onnx::ModelProto loaded, LoadModel(dir.File("m.onnx")));
  ExpectSameModulo(model, loaded);
  ASSERT_OK_AND_ASSIGN(std::string bytes, SerializeModel(model));
  EXPECT_EQ(ReadFileBytes(dir.File("m.onnx")), bytes);
  EXPECT_EQ(bytes, model.SerializeAsString());
  ASSERT_OK_AND_ASSIGN(onnx::ModelProto from_bytes, LoadModelFromBytes(bytes));
  ExpectSameModulo(model, from_bytes);
  EXPECT_THAT(FolderEntries(dir.path()), ElementsAre("m.onnx"));

  SaveOptions durable;  // the fsync path writes the same bytes, replacing the file
  durable.sync = true;
  durable.external_data = true;
  ASSERT_OK(SaveModel(model, dir.File("m.onnx"), durable));
  ASSERT_OK_AND_ASSIGN(onnx::ModelProto synced, LoadModel(dir.File("m.onnx")));
  ExpectSameModulo(model, synced);
  EXPECT_THAT(FolderEntries(dir.path()), UnorderedElementsAre("m.onnx", "m.onnx.data"));
}

TEST(ModelIoTest, LoadsOntoAnArenaAndSavesTheSameBytes) {
  // ConvertFile's path: the model parsed onto an arena of huge-page blocks (several blocks here,
  // and big tensors beside them on the heap), saved with aliased writes of the tensor bytes.
  TempDir dir;
  onnx::ModelProto model = MakeModel();
  for (int i = 0; i < 20000; ++i) {
    onnx::NodeProto* node = model.mutable_graph()->add_node();
    node->set_op_type("Identity");
    node->add_input("x");
    node->add_output(absl::StrCat("copy_", i));
  }
  *model.mutable_graph()->add_initializer() = FloatTensor("large", 1 << 20, 0.5f);
  ASSERT_OK(SaveModel(model, dir.File("m.onnx")));
  const std::string bytes = ReadFileBytes(dir.File("m.onnx"));
  {
    google::protobuf::Arena arena(io::ModelArenaOptions());
    auto* loaded = google::protobuf::Arena::CreateMessage<onnx::ModelProto>(&arena);
    ASSERT_OK(io::LoadModelInto(dir.File("m.onnx"), {}, loaded));
    EXPECT_GT(arena.SpaceAllocated(), 2u << 20);
    ExpectSameModulo(model, *loaded);
    ASSERT_OK(SaveModel(*loaded, dir.File("again.onnx")));
    EXPECT_EQ(ReadFileBytes(dir.File("again.onnx")), bytes);
  }
  google::protobuf::Arena arena(io::ModelArenaOptions());
  auto* bad = google::protobuf::Arena::CreateMessage<onnx::ModelProto>(&arena);
  WriteFileBytes(dir.File("bad.onnx"), bytes.substr(0, bytes.size() / 2));
  EXPECT_THAT(io::LoadModelInto(dir.File("bad.onnx"), {}, bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bad.onnx")));
}

TEST(ModelIoTest, ModelsSpanningManyReadChunksRoundTrip) {
  // LoadModel hands the file to protobuf in 16 MiB chunks and drops parsed pages: tensors that
  // straddle chunk boundaries must come back intact.
  TempDir dir;
  onnx::ModelProto model = MakeModel();
  for (int i = 0; i < 3; ++i) {
    *model.mutable_graph()->add_initializer() =
        FloatTensor("big" + std::to_string(i), 3 << 20, 0.001f * static_cast<float>(i + 1));
  }
  ASSERT_OK(SaveModel(model, dir.File("big.onnx")));
  ASSERT_GT(fs::file_size(dir.File("big.onnx")), 36u << 20);
  ASSERT_OK_AND_ASSIGN(onnx::ModelProto loaded, LoadModel(dir.File("big.onnx")));
  ExpectSameModulo(model, loaded);
}

TEST(ModelIoTest, RealModelsRoundTrip) {
  for (const char* name : {"silero_vad.onnx", "ch_ppocr_mobile_v2.0_cls_infer.onnx"}) {
    SCOPED_TRACE(name);
    const std::string path = std::string(HALFCAST_TEST_DATA_DIR) + "/models/" + name;
    const std::string original = ReadFileBytes(path);
    ASSERT_OK_AND_ASSIGN(onnx::ModelProto model, LoadModel(path));
    EXPECT_GT(model.graph().node_size(), 0);
    ASSERT_OK_AND_ASSIGN(std::string bytes, SerializeModel(model));
    ASSERT_OK_AND_ASSIGN(onnx::ModelProto again, LoadModelFromBytes(bytes));
    ExpectSameModulo(model, again);

    TempDir dir;
    SaveOptions options;
    options.external_data = true;
    ASSERT_OK(SaveModel(model, dir.File("x.onnx"), options));
    EXPECT_TRUE(fs::exists(dir.File("x.onnx.data")));
    EXPECT_LT(fs::file_size(dir.File("x.onnx")), original.size() / 2);
    ASSERT_OK_AND_ASSIGN(onnx::ModelProto reloaded, LoadModel(dir.File("x.onnx")));
    ExpectSameModulo(model, reloaded);
    EXPECT_EQ(ReadFileBytes(path), original);  // the input is untouched
  }
}

TEST(ModelIoTest, ExternalDataSaveMatchesStubbedModelAndLeavesInputUnchanged) {
  TempDir dir;
  const onnx::ModelProto model = MakeModel();
  const std::string before = model.SerializeAsString();
  SaveOptions options;
  options.external_data = true;
  options.external_data_threshold = 1024;
  ASSERT_OK(SaveModel(model, dir.File("m.onnx"), options));
  EXPECT_EQ(model.SerializeAsString(), before);  // the caller's model is not changed
  EXPECT_THAT(FolderEntries(dir.path()), UnorderedElementsAre("m.onnx", "m.onnx.data"));

  // The file holds exactly the model with w, k and w_then (4000 bytes each) as external stubs;
  // b (16 bytes) stays inline.
  ASSERT_OK_AND_ASSIGN(onnx::ModelProto stubbed, LoadModel(dir.File("m.onnx"), References()));
  const onnx::TensorProto& w = stubbed.graph().initializer(0);
  const onnx::TensorProto& b = stubbed.graph().initializer(1);
  const onnx::TensorProto& w_then = stubbed.graph().node(3).attribute(0).g().initializer(0);
  EXPECT_TRUE(io::HasExternalData(w));
  EXPECT_FALSE(io::HasExternalData(b));
  EXPECT_TRUE(io::HasExternalData(w_then));
  const onnx::TensorProto& k = stubbed.graph().node(1).attribute(0).t();
  EXPECT_TRUE(io::HasExternalData(k));
  EXPECT_EQ(b.raw_data(), model.graph().initializer(1).raw_data());
  onnx::ModelProto expected = model;
  *expected.mutable_graph()->mutable_initializer(0) = w;
  *expected.mutable_graph()
       ->mutable_node(3)
       ->mutable_attribute(0)
       ->mutable_g()
       ->mutable_initializer(0) = w_then;
  *expected.mutable_graph()->mutable_node(1)->mutable_attribute(0)->mutable_t() = k;
  EXPECT_EQ(ReadFileBytes(dir.File("m.onnx")), expected.SerializeAsString());

  // The numbers come back: w[i] = 0.5 * i, w_then[i] = -2 * i.
  ASSERT_OK_AND_ASSIGN(onnx::ModelProto loaded, LoadModel(dir.File("m.onnx")));
  ExpectSameModulo(model, loaded);
  const std::string& raw = loaded.graph().initializer(0).raw_data();
  ASSERT_EQ(raw.size(), 4000u);
  float w999;
  std::memcpy(&w999, raw.data() + 999 * 4, 4);
  EXPECT_EQ(w999, 499.5f);
}

TEST(ModelIoTest, ExternalDataFileNameAndNothingToExternalize) {
  TempDir dir;
  const onnx::ModelProto model = MakeModel();
  SaveOptions options;
  options.external_data = true;
  options.external_data_file = "weights.bin";
  ASSERT_OK(SaveModel(model, dir.File("m.onnx"), options));
  EXPECT_THAT(FolderEntries(dir.path()), UnorderedElementsAre("m.onnx", "weights.bin"));

  TempDir small_dir;
  options.external_data_threshold = 1 << 20;  // nothing that big: no side file at all
  ASSERT_OK(SaveModel(model, small_dir.File("m.onnx"), options));
  EXPECT_THAT(FolderEntries(small_dir.path()), ElementsAre("m.onnx"));
  EXPECT_EQ(ReadFileBytes(small_dir.File("m.onnx")), model.SerializeAsString());

  options.external_data_file = "../escape.bin";
  options.external_data_threshold = 16;
  EXPECT_THAT(SaveModel(model, small_dir.File("n.onnx"), options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("..")));
}

TEST(ModelIoTest, OverTheSizeLimitNeedsExternalData) {
  TempDir dir;
  const onnx::ModelProto model = MakeModel();
  const int64_t limit = 2000;  // stands for protobuf's 2 GB; the model is ~12 KB
  WriteFileBytes(dir.File("m.onnx"), "previous version");
  EXPECT_THAT(io::SaveModelWithLimit(model, dir.File("m.onnx"), SaveOptions{}, limit),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("external data")));
  EXPECT_EQ(ReadFileBytes(dir.File("m.onnx")), "previous version");
  EXPECT_THAT(FolderEntries(dir.path()), ElementsAre("m.onnx"));

  SaveOptions external;
  external.external_data = true;
  ASSERT_OK(io::SaveModelWithLimit(model, dir.File("m.onnx"), external, limit));
  ASSERT_OK_AND_ASSIGN(onnx::ModelProto loaded, LoadModel(dir.File("m.onnx")));
  ExpectSameModulo(model, loaded);

  // Still too big with external data: an error, no side file left.
  TempDir other;
  EXPECT_THAT(io::SaveModelWithLimit(model, other.File("m.onnx"), external, 200),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("even with")));
  external.external_data_threshold = 5000;  // nothing qualifies
  EXPECT_THAT(io::SaveModelWithLimit(model, other.File("m.onnx"), external, limit),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("even with")));
  EXPECT_TRUE(FolderEntries(other.path()).empty());
}

TEST(ModelIoTest, SaveErrorsLeaveNothing) {
  TempDir dir;
  const onnx::ModelProto model = MakeModel();
  EXPECT_THAT(SaveModel(model, dir.File("missing/m.onnx")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing/m.onnx")));
  // The destination is a non-empty folder: the rename at the very end fails.
  fs::create_directory(dir.File("m.onnx"));
  WriteFileBytes(dir.File("m.onnx/keep"), "x");
  SaveOptions options;
  options.external_data = true;
  EXPECT_FALSE(SaveModel(model, dir.File("m.onnx"), options).ok());
  EXPECT_THAT(FolderEntries(dir.path()), ElementsAre("m.onnx"));
  EXPECT_FALSE(SaveModel(model, dir.File("m.onnx")).ok());
  EXPECT_THAT(FolderEntries(dir.path()), ElementsAre("m.onnx"));
}

// Lowers the file size limit for the scope: writes past it fail with EFBIG, as on a full disk.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    previous_signal_ = std::signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &previous_);
    rlimit limit = previous_;
    limit.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &limit);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &previous_);
    std::signal(SIGXFSZ, previous_signal_);
  }

 private:
  rlimit previous_;
  void (*previous_signal_)(int);
};

TEST(ModelIoTest, WriteFailuresMidwayLeaveNothing) {
  TempDir dir;
  onnx::ModelProto model = MakeModel();
  *model.mutable_graph()->add_initializer() = FloatTensor("big", 100000, 0.5f);
  WriteFileBytes(dir.File("m.onnx"), "previous version");
  SaveOptions external;
  external.external_data = true;
  {
    FileSizeLimit limit(64 << 10);  // the model needs ~400 KB
    EXPECT_THAT(SaveModel(model, dir.File("m.onnx")),
                StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("m.onnx")));
    EXPECT_THAT(SaveModel(model, dir.File("m.onnx"), external),
                StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("m.onnx.data")));
  }
  EXPECT_THAT(FolderEntries(dir.path()), ElementsAre("m.onnx"));
  EXPECT_EQ(ReadFileBytes(dir.File("m.onnx")), "previous version");
  // The same saves work without the limit.
  ASSERT_OK(SaveModel(model, dir.File("m.onnx"), external));
  ASSERT_OK_AND_ASSIGN(onnx::ModelProto loaded, LoadModel(dir.File("m.onnx")));
  ExpectSameModulo(model, loaded);
}

TEST(ModelIoTest, LoadErrorsNameTheFile) {
  TempDir dir;
  EXPECT_THAT(LoadModel(dir.File("nope.onnx")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("nope.onnx")));
  EXPECT_THAT(LoadModel(dir.path()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a regular file")));
  WriteFileBytes(dir.File("empty.onnx"), "");
  EXPECT_THAT(
      LoadModel(dir.File("empty.onnx")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty.onnx: not an ONNX model")));

  std::mt19937 random(42);
  for (int trial = 0; trial < 20; ++trial) {
    std::string bytes(1 + random() % 4096, '\0');
    for (char& c : bytes) c = static_cast<char>(random());
    WriteFileBytes(dir.File("random.onnx"), bytes);
    EXPECT_THAT(
        LoadModel(dir.File("random.onnx")),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("random.onnx: not an ONNX model")))
        << "trial " << trial;
  }
}

TEST(ModelIoTest, EveryTruncationIsRejected) {
  TempDir dir;
  const std::string bytes = MakeModel().SerializeAsString();
  for (size_t length = 0; length < bytes.size(); length += 1 + length / 64) {
    WriteFileBytes(dir.File("cut.onnx"), bytes.substr(0, length));
    EXPECT_THAT(LoadModel(dir.File("cut.onnx")),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not an ONNX model")))
        << "cut at " << length << " of " << bytes.size();
  }
}

TEST(ModelIoTest, CorruptedBytesNeverCrash) {
  // Flipped bytes in a valid model: each either parses into a model or is a clean
  // InvalidArgument, never a crash or another error code.
  const std::string bytes = MakeModel().SerializeAsString();
  std::mt19937 random(1);
  int rejected = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::string corrupt = bytes;
    const int flips = 1 + static_cast<int>(random() % 4);
    for (int f = 0; f < flips; ++f) {
      corrupt[random() % corrupt.size()] ^= static_cast<char>(1 + random() % 255);
    }
    absl::StatusOr<onnx::ModelProto> model = LoadModelFromBytes(corrupt);
    if (!model.ok()) {
      ++rejected;
      ASSERT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument) << model.status();
    }
  }
  EXPECT_GT(rejected, 50);  // most flips land in weights, yet structural damage is caught
}

TEST(ModelIoTest, OtherProtobufMessagesAreRejected) {
  TempDir dir;
  const onnx::ModelProto model = MakeModel();
  const std::string graph = model.graph().SerializeAsString();
  const std::string tensor = model.graph().initializer(0).SerializeAsString();
  onnx::NodeProto node = model.graph().node(0);
  for (const std::string& bytes : {graph, tensor, node.SerializeAsString()}) {
    EXPECT_THAT(LoadModelFromBytes(bytes),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not an ONNX model")));
  }
}

TEST(ModelIoTest, UnsafeExternalDataIsRejectedAndInputUntouched) {
  TempDir outside;
  WriteFileBytes(outside.File("w.bin"), std::string(4000, 'x'));
  struct Case {
    const char* name;
    std::string location;
    std::string offset;
    std::string length;
    const char* message;
    absl::StatusCode code = absl::StatusCode::kInvalidArgument;
  };
  const std::vector<Case> cases = {
      {"absolute", outside.File("w.bin"), "0", "4000", "absolute"},
      {"dotdot", "../" + fs::path(outside.path()).filename().string() + "/w.bin", "0", "4000",
       ".."},
      {"symlink", "link.bin", "0", "4000", "outside the model's folder"},
      {"offset", "inside.bin", "4001", "", "past the end"},
      {"length", "inside.bin", "8", "4000", "past the end"},
      {"short", "inside.bin", "0", "", "need 4000"},
      {"missing", "missing.bin", "0", "4000", "missing.bin", absl::StatusCode::kNotFound},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TempDir dir;
    WriteFileBytes(dir.File("inside.bin"),
                   std::string(c.name == std::string("short") ? 40 : 4000, 'y'));
    fs::create_symlink(outside.File("w.bin"), dir.File("link.bin"));
    onnx::ModelProto model = MakeModel();
    onnx::TensorProto* w = model.mutable_graph()->mutable_initializer(0);
    w->clear_raw_data();
    w->set_data_location(onnx::TensorProto::EXTERNAL);
    auto* location = w->add_external_data();
    location->set_key("location");
    location->set_value(c.location);
    auto* offset = w->add_external_data();
    offset->set_key("offset");
    offset->set_value(c.offset);
    if (!c.length.empty()) {
      auto* length = w->add_external_data();
      length->set_key("length");
      length->set_value(c.length);
    }
    const std::string bytes = model.SerializeAsString();
    WriteFileBytes(dir.File("m.onnx"), bytes);
    for (bool load_data : {true, false}) {
      EXPECT_THAT(LoadModel(dir.File("m.onnx"), load_data ? LoadOptions() : References()),
                  StatusIs(c.code, ::testing::AllOf(HasSubstr("m.onnx"), HasSubstr("tensor 'w'"),
                                                    HasSubstr(c.message))));
    }
    EXPECT_EQ(ReadFileBytes(dir.File("m.onnx")), bytes);
    EXPECT_EQ(ReadFileBytes(outside.File("w.bin")), std::string(4000, 'x'));
  }
}

TEST(ModelIoTest, ModelsReferringToExternalDataNeedAFolder) {
  TempDir dir;
  SaveOptions options;
  options.external_data = true;
  ASSERT_OK(SaveModel(MakeModel(), dir.File("m.onnx"), options));
  const std::string bytes = ReadFileBytes(dir.File("m.onnx"));
  EXPECT_THAT(LoadModelFromBytes(bytes),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("external data")));
  ASSERT_OK_AND_ASSIGN(onnx::ModelProto stubbed, LoadModel(dir.File("m.onnx"), References()));
  EXPECT_THAT(SerializeModel(stubbed),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("external data")));
}

}  // namespace
}  // namespace halfcast
