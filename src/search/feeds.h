// Checking the caller's feeds against the model's inputs before anything runs.
#ifndef HALFCAST_SEARCH_FEEDS_H_
#define HALFCAST_SEARCH_FEEDS_H_

#include <vector>

#include "absl/status/status.h"
#include "halfcast/tensor.h"
#include "onnx/onnx_pb.h"

namespace halfcast::search {

// InvalidArgument naming the feed set and input when `feeds` is empty, a feed set misses a graph
// input (inputs with an initializer are optional), names a value that is not a graph input, or
// gives a tensor whose element type or fixed dimensions differ from the input's declaration.
absl::Status CheckFeeds(const onnx::GraphProto& graph, const std::vector<TensorMap>& feeds);

}  // namespace halfcast::search

#endif  // HALFCAST_SEARCH_FEEDS_H_
