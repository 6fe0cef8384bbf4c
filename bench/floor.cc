// The floor of an end-to-end float32 -> float16 conversion: the work no converter can avoid.
// Reads a model file, parses it, replaces each float32 initializer's raw data with 16-bit values
// (the high half of each float: one memory pass, no rounding - the values are not meaningful),
// serializes the float16 model and writes it. bench/end_to_end.py times halfcast against it.
//
//   halfcast_bench_floor IN OUT      prints "read parse narrow serialize write total" seconds
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "onnx/onnx_pb.h"

namespace {

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

void Narrow(onnx::TensorProto* tensor) {
  if (tensor->data_type() != onnx::TensorProto::FLOAT || !tensor->has_raw_data()) return;
  std::string* raw = tensor->mutable_raw_data();
  const std::size_t count = raw->size() / 4;
  char* bytes = raw->data();
  for (std::size_t i = 0; i < count; ++i) {
    uint32_t bits;
    std::memcpy(&bits, bytes + 4 * i, 4);
    const uint16_t half = static_cast<uint16_t>(bits >> 16);
    std::memcpy(bytes + 2 * i, &half, 2);
  }
  raw->resize(count * 2);
  tensor->set_data_type(onnx::TensorProto::FLOAT16);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s IN OUT\n", argv[0]);
    return 2;
  }
  const auto start = std::chrono::steady_clock::now();
  auto phase = start;
  std::string bytes;
  {
    std::ifstream in(argv[1], std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "cannot read %s\n", argv[1]);
      return 2;
    }
    in.seekg(0, std::ios::end);
    bytes.resize(static_cast<std::size_t>(in.tellg()));
    in.seekg(0);
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  const double read = Seconds(phase);
  phase = std::chrono::steady_clock::now();
  onnx::ModelProto model;
  if (!model.ParseFromString(bytes)) {
    std::fprintf(stderr, "%s is not an ONNX model\n", argv[1]);
    return 2;
  }
  bytes.clear();
  bytes.shrink_to_fit();
  const double parse = Seconds(phase);
  phase = std::chrono::steady_clock::now();
  for (onnx::TensorProto& tensor : *model.mutable_graph()->mutable_initializer()) Narrow(&tensor);
  const double narrow = Seconds(phase);
  phase = std::chrono::steady_clock::now();
  std::string out;
  if (!model.SerializeToString(&out)) {
    std::fprintf(stderr, "cannot serialize\n");
    return 2;
  }
  const double serialize = Seconds(phase);
  phase = std::chrono::steady_clock::now();
  const int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::size_t done = 0;
  while (fd >= 0 && done < out.size()) {
    const ssize_t n = write(fd, out.data() + done, out.size() - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  if (fd < 0 || done != out.size() || close(fd) != 0) {
    std::fprintf(stderr, "cannot write %s\n", argv[2]);
    return 2;
  }
  const double write_seconds = Seconds(phase);
  std::printf("read %.3f parse %.3f narrow %.3f serialize %.3f write %.3f total %.3f\n", read,
              parse, narrow, serialize, write_seconds, Seconds(start));
  return 0;
}
