// ConvertFile: conversion from file to file, with external data streamed chunk by chunk.
#include <atomic>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "convert/conversion.h"
#include "convert/tensor_convert.h"
#include "google/protobuf/arena.h"
#include "graph/graph_index.h"
#include "halfcast/convert.h"
#include "io/atomic_file.h"
#include "io/external_data.h"
#include "io/model_io_internal.h"
#include "numerics/bulk_convert.h"
#include "onnx/defs/schema.h"

namespace halfcast {
namespace convert {
namespace {

void CollectExternalTensors(onnx::GraphProto* graph, std::vector<onnx::TensorProto*>* out) {
  for (onnx::TensorProto& t : *graph->mutable_initializer()) {
    if (t.data_location() == onnx::TensorProto::EXTERNAL) out->push_back(&t);
  }
  for (onnx::NodeProto& node : *graph->mutable_node()) {
    // A Constant's tensor may be external too (onnx's convert_attribute=True).
    for (onnx::AttributeProto& attr : *node.mutable_attribute()) {
      if (attr.has_t() && attr.t().data_location() == onnx::TensorProto::EXTERNAL) {
        out->push_back(attr.mutable_t());
      }
    }
    graph::ForEachSubgraph(node, [&](onnx::GraphProto* sub, const std::string&) {
      CollectExternalTensors(sub, out);
    });
  }
}

void CollectLargeInlineTensors(onnx::GraphProto* graph, int64_t threshold,
                               std::vector<onnx::TensorProto*>* out) {
  for (onnx::TensorProto& t : *graph->mutable_initializer()) {
    if (t.data_location() != onnx::TensorProto::EXTERNAL && t.has_raw_data() &&
        static_cast<int64_t>(t.raw_data().size()) >= threshold) {
      out->push_back(&t);
    }
  }
  for (onnx::NodeProto& node : *graph->mutable_node()) {
    graph::ForEachSubgraph(node, [&](onnx::GraphProto* sub, const std::string&) {
      CollectLargeInlineTensors(sub, threshold, out);
    });
  }
}

// Copies (or converts, with clipping) one external tensor from the input's side file to the
// output's, a chunk at a time.
absl::Status StreamTensor(onnx::TensorProto* tensor, const std::string& in_dir, bool convert,
                          const ClipSettings& clip, io::ExternalDataWriter* out,
                          ConvertReport* report) {
  HALFCAST_ASSIGN_OR_RETURN(io::ExternalDataReader in,
                            io::ExternalDataReader::Open(*tensor, in_dir));
  constexpr size_t kChunkFloats = size_t{1} << 20;
  std::vector<float> chunk32(kChunkFloats);
  std::vector<uint16_t> chunk16(convert ? kChunkFloats : 0);
  HALFCAST_RETURN_IF_ERROR(out->BeginTensor(convert ? in.size() / 2 : in.size()));
  ClipCounts counts;
  while (in.remaining() > 0) {
    HALFCAST_ASSIGN_OR_RETURN(size_t n, in.Read(chunk32.data(), kChunkFloats * sizeof(float)));
    if (n == 0) break;
    if (convert) {
      numerics::ConvertFloatTo16(chunk32.data(), chunk16.data(), n / 4, clip.target, clip.clip,
                                 &counts);
      HALFCAST_RETURN_IF_ERROR(out->Append(chunk16.data(), n / 2));
    } else {
      HALFCAST_RETURN_IF_ERROR(out->Append(chunk32.data(), n));
    }
  }
  if (convert) {
    tensor->set_data_type(OnnxType(clip.target));
    if (counts.below_min != 0 || counts.above_max != 0) {
      report->clipped.push_back({tensor->name(), counts.below_min, counts.above_max});
    }
  }
  return out->EndTensor(tensor);
}

// onnx builds its schema registry (every op of every opset: about 10 ms) on first use. This
// builds it on another core while the caller's thread reads the model, and joins when destroyed.
// onnx guards the registry with a function-local static, so a lookup made meanwhile just waits.
// (halfcast's op tables are parsed only by models that need them, see ops/op_catalog.h.)
class SchemaRegistryWarmer {
 public:
  SchemaRegistryWarmer() {
    if (built_.load(std::memory_order_acquire)) return;  // no thread once the registry exists
    try {
      thread_ = std::thread([] {
        try {
          onnx::OpSchemaRegistry::Schema("Cast", 13, "");
        } catch (...) {
          // The converter's own lookups will meet the same problem and report it.
        }
        built_.store(true, std::memory_order_release);
      });
    } catch (const std::system_error&) {
      // No thread: the registry is built on first use instead.
    }
  }
  ~SchemaRegistryWarmer() {
    if (thread_.joinable()) thread_.join();
  }
  SchemaRegistryWarmer(const SchemaRegistryWarmer&) = delete;
  SchemaRegistryWarmer& operator=(const SchemaRegistryWarmer&) = delete;

 private:
  static inline std::atomic<bool> built_{false};
  std::thread thread_;
};

}  // namespace
}  // namespace convert

absl::StatusOr<ConvertReport> ConvertFile(const std::string& input_path,
                                          const std::string& output_path,
                                          const ConvertOptions& options,
                                          const SaveOptions& save_options) {
  HALFCAST_RETURN_IF_ERROR(convert::ValidateOptions(options));
  if (io::SameFile(input_path, output_path)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the output '", output_path, "' is the input file; the input is never modified, so "
        "write to another path"));
  }
  // The model lives on an arena: it parses about twice as fast as on the heap for graphs of many
  // small nodes, and goes away at once instead of message by message. Only the graph's messages
  // are on it; tensor bytes are on the heap (or never loaded, for external data).
  google::protobuf::Arena arena(io::ModelArenaOptions());
  onnx::ModelProto& model = *google::protobuf::Arena::CreateMessage<onnx::ModelProto>(&arena);
  LoadOptions load;
  load.load_external_data = false;
  {
    convert::SchemaRegistryWarmer warm;
    HALFCAST_RETURN_IF_ERROR(io::LoadModelInto(input_path, load, &model));
  }
  ConvertReport report;
  convert::Conversion conversion(&model, options, &report);
  conversion.StreamExternalData();
  HALFCAST_RETURN_IF_ERROR(conversion.Run());
  if (!conversion.has_external_initializers()) {
    HALFCAST_RETURN_IF_ERROR(SaveModel(model, output_path, save_options));
    return report;
  }
  std::vector<onnx::TensorProto*> external;
  convert::CollectExternalTensors(model.mutable_graph(), &external);
  // Tensors stored outside the input are rewritten into the output's side file; nothing appears
  // at output_path until CommitModelWithExternalData succeeds.
  HALFCAST_ASSIGN_OR_RETURN(
      std::unique_ptr<io::ExternalDataWriter> writer,
      io::ExternalDataWriter::Create(output_path, save_options.external_data_file));
  const std::string in_dir = io::ModelFolder(input_path);
  // Publishing the side file must not replace data the input still refers to.
  for (const onnx::TensorProto* tensor : external) {
    HALFCAST_ASSIGN_OR_RETURN(const io::ExternalDataRef ref,
                              io::ResolveExternalData(*tensor, in_dir));
    if (io::SameFile(ref.path, writer->data_path())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the output's external data file '", writer->data_path(), "' is the input's ('",
          ref.location, "'); the input is never modified, so choose another external_data_file"));
    }
  }
  convert::ClipSettings clip;
  clip.target = options.target;
  clip.clip.min_positive_val = options.min_positive_val;
  clip.clip.max_finite_val = options.max_finite_val;
  for (onnx::TensorProto* tensor : external) {
    const bool convert = conversion.external_to_convert().contains(tensor);
    HALFCAST_RETURN_IF_ERROR(
        convert::StreamTensor(tensor, in_dir, convert, clip, writer.get(), &report));
  }
  if (save_options.external_data) {
    std::vector<onnx::TensorProto*> large;
    convert::CollectLargeInlineTensors(model.mutable_graph(),
                                       save_options.external_data_threshold, &large);
    for (onnx::TensorProto* tensor : large) {
      const std::string bytes = std::move(*tensor->mutable_raw_data());
      HALFCAST_RETURN_IF_ERROR(writer->WriteTensor(bytes, tensor));
    }
  }
  report.bytes_after = convert::CountTensorBytes(model.graph());
  HALFCAST_RETURN_IF_ERROR(
      io::CommitModelWithExternalData(model, writer.get(), save_options.sync));
  return report;
}

}  // namespace halfcast
