// libFuzzer target over the readers of `--input NAME=FILE`: the bytes are written to a file in a
// private folder and read back through ReadTensorFile, as `.npy` when they start with numpy's
// magic and as a serialized onnx.TensorProto (`.pb`) otherwise. The folder holds a data file a
// .pb may name as its external data, and a symlink out of the folder it must not follow.
// What reads successfully goes on the way a feed goes: rounded to the float16 input of a model
// (MatchInputTypes), and written as .npy and read back, which must give the same tensor.
// Crashes, sanitizer reports, escaping exceptions and the checks below are bugs; errors are fine.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "cli/feeds.h"
#include "halfcast/tensor.h"
#include "halfcast/value.h"
#include "onnx/onnx_pb.h"

namespace {

// Bytes no input may ever be read from: they sit outside the folder (reached only by a symlink).
constexpr char kOutsideMarker[] = "HALFCAST-FUZZ-OUTSIDE-THE-FOLDER";

struct Folder {
  std::string npy;
  std::string pb;
  std::string out;
};

void WriteFile(const std::string& path, std::string_view bytes) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// <tmp>/halfcast-fuzz-feeds-XXXXXX/{outside.bin, in/{data.bin, link.bin -> ../outside.bin}}.
const Folder& TheFolder() {
  static const Folder* folder = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
    if (tmp != nullptr && *tmp != '\0') base = tmp;
    std::string root_template = base + "/halfcast-fuzz-feeds-XXXXXX";
    if (mkdtemp(root_template.data()) == nullptr) std::abort();
    const std::filesystem::path root(root_template);
    std::filesystem::create_directory(root / "in");
    WriteFile((root / "outside.bin").string(), std::string(kOutsideMarker) + kOutsideMarker);
    // 64 bytes: 16 floats, 8 doubles or int64s, 32 halves...
    std::string data;
    for (int i = 0; i < 64; ++i) data.push_back(static_cast<char>(i * 7 + 1));
    WriteFile((root / "in" / "data.bin").string(), data);
    std::filesystem::create_symlink("../outside.bin", root / "in" / "link.bin");
    static std::filesystem::path removed_at_exit = root;
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(removed_at_exit, ignored);
    });
    auto* f = new Folder;
    f->npy = (root / "in" / "input.npy").string();
    f->pb = (root / "in" / "input.pb").string();
    f->out = (root / "in" / "written.npy").string();
    return f;
  }();
  return *folder;
}

onnx::ModelProto Float16InputModel(const halfcast::Tensor& feed) {
  onnx::ModelProto model;
  onnx::ValueInfoProto* input = model.mutable_graph()->add_input();
  input->set_name("x");
  input->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT16);
  for (int64_t d : feed.shape()) {
    input->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(d);
  }
  return model;
}

// bfloat16 is written as its bit patterns and reads back as uint16.
bool SameTensor(const halfcast::Tensor& a, const halfcast::Tensor& b) {
  const bool same_type = a.type() == b.type() || (a.type() == halfcast::DataType::kBFloat16 &&
                                                   b.type() == halfcast::DataType::kUint16);
  return same_type && a.shape() == b.shape() && a.byte_size() == b.byte_size() &&
         (a.byte_size() == 0 || std::memcmp(a.raw_data(), b.raw_data(), a.byte_size()) == 0);
}

void CheckNothingFromOutside(const halfcast::Tensor& tensor) {
  if (tensor.type() == halfcast::DataType::kString || tensor.byte_size() == 0) return;
  const std::string_view bytes(static_cast<const char*>(tensor.raw_data()), tensor.byte_size());
  if (bytes.find(std::string_view(kOutsideMarker, 8)) != std::string_view::npos) {
    std::fprintf(stderr, "feeds_fuzzer: a tensor holds bytes from outside its folder\n");
    __builtin_trap();
  }
}

// The same bytes read as an onnx.SequenceProto and an OptionalProto (as a .pb feed for an input
// declared a sequence or optional is): an error or values holding nothing from outside.
void CheckSequenceAndOptionalReads(const std::string& path) {
  onnx::TypeProto sequence;
  sequence.mutable_sequence_type()->mutable_elem_type()->mutable_tensor_type();
  onnx::TypeProto optional;
  *optional.mutable_optional_type()->mutable_elem_type() = sequence;
  for (const onnx::TypeProto* type : {&sequence, &optional}) {
    absl::StatusOr<halfcast::Value> value = halfcast::ReadValueProtoFile(path, *type);
    if (!value.ok()) continue;
    const halfcast::Value& held =
        value->is_optional() && value->has_element() ? value->element() : *value;
    for (const halfcast::Tensor& element : held.elements()) CheckNothingFromOutside(element);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Folder& folder = TheFolder();
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const bool npy = bytes.substr(0, 6) == std::string_view("\x93NUMPY", 6);
  const std::string& path = npy ? folder.npy : folder.pb;
  WriteFile(path, bytes);
  if (!npy) CheckSequenceAndOptionalReads(path);
  absl::StatusOr<halfcast::ValueMap> feeds = halfcast::cli::ReadInputs({"x=" + path});
  if (!feeds.ok()) return 0;
  const halfcast::Tensor& tensor = feeds->at("x").tensor();
  CheckNothingFromOutside(tensor);
  // A float32 feed for a float16 input is rounded; anything else passes through.
  const halfcast::ValueMap matched =
      halfcast::cli::MatchInputTypes(Float16InputModel(tensor), *feeds);
  if (matched.at("x").tensor().shape() != tensor.shape()) __builtin_trap();
  // What was read writes as .npy (when numpy has its type) and reads back the same.
  if (halfcast::WriteNpy(tensor, folder.out).ok()) {
    absl::StatusOr<halfcast::Tensor> back = halfcast::ReadNpy(folder.out);
    if (!back.ok() || !SameTensor(tensor, *back)) {
      std::fprintf(stderr, "feeds_fuzzer: a tensor written as .npy does not read back: %s\n",
                   back.ok() ? "different contents" : std::string(back.status().message()).c_str());
      __builtin_trap();
    }
  }
  return 0;
}
