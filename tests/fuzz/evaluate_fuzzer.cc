// libFuzzer target over the built-in evaluator, which `halfcast run` and `halfcast auto` point
// at untrusted models: load -> Prepare -> run on generated feeds (every graph input, small
// deterministic values, symbolic or large dimensions as 1..3) under a 256 MB memory cap and a
// 2 s deadline (an int64 feed can be a Loop's trip count of 10^17).
// Crashes, sanitizer reports and escaping exceptions are bugs; returned errors are fine.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <string_view>
#include <vector>

#include "halfcast/evaluator.h"
#include "halfcast/model_io.h"

namespace {

constexpr int64_t kMaxFeedElements = 1 << 16;

// A feed for `input`, or nothing when its type is not a plain tensor of a numeric type.
bool MakeFeed(const onnx::ValueInfoProto& input, halfcast::Tensor* feed) {
  if (!input.type().has_tensor_type()) return false;
  const auto& type = input.type().tensor_type();
  const auto element = static_cast<halfcast::DataType>(type.elem_type());
  if (halfcast::ElementSize(element) == 0) return false;
  std::vector<int64_t> shape;
  int64_t count = 1;
  for (const auto& dim : type.shape().dim()) {
    const int64_t d = dim.has_dim_value() && dim.dim_value() >= 0 && dim.dim_value() <= 64
                          ? dim.dim_value()
                          : 1 + static_cast<int64_t>(shape.size() % 3);
    shape.push_back(d);
    count *= d;
    if (count > kMaxFeedElements) return false;
  }
  *feed = halfcast::Tensor::Zeros(element, shape);
  // Bytes cycling through small values: indices stay mostly in range; bools must be 0 or 1.
  const int cycle = element == halfcast::DataType::kBool ? 2 : 7;
  auto* bytes = static_cast<uint8_t*>(feed->mutable_raw_data());
  for (std::size_t i = 0; i < feed->byte_size(); ++i) bytes[i] = static_cast<uint8_t>(i % cycle);
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::StatusOr<onnx::ModelProto> model =
      halfcast::LoadModelFromBytes(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!model.ok()) return 0;
  halfcast::ReferenceEvaluatorOptions options;
  options.memory_limit_bytes = int64_t{256} << 20;
  halfcast::ReferenceEvaluator evaluator(options);
  halfcast::TensorMap feeds;
  for (const onnx::ValueInfoProto& input : model->graph().input()) {
    halfcast::Tensor feed;
    if (MakeFeed(input, &feed)) feeds[input.name()] = std::move(feed);
  }
  halfcast::RunOptions run_options;
  run_options.return_all_values = true;
  run_options.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  (void)evaluator.Run(*model, feeds, run_options);
  return 0;
}
