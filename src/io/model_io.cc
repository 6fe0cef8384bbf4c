// Model load/save. Loading maps the file and parses it in place (no second copy of the bytes on
// the heap); saving streams the serialization into the output file instead of building a string.
#include "halfcast/model_io.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <new>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/wire_format.h"
#include "google/protobuf/wire_format_lite.h"
#include "io/atomic_file.h"
#include "io/external_data.h"
#include "io/model_io_internal.h"

namespace halfcast {
namespace io {
namespace {

// Protobuf message levels a model may nest (see ParseModelInto).
constexpr int kMaxMessageNesting = 1000;

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using google::protobuf::internal::WireFormat;
using google::protobuf::internal::WireFormatLite;

// A whole file mapped read-only and handed to protobuf in chunks. Pages already parsed are
// dropped as the parse moves on (protobuf copies what it keeps and never looks back past the
// previous chunk), so loading costs about the model's size in memory, not the model plus the file.
class MappedFileStream : public google::protobuf::io::ZeroCopyInputStream {
 public:
  static absl::StatusOr<std::unique_ptr<MappedFileStream>> Open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoToStatus(errno, "cannot open model file", path);
    struct stat info;
    if (::fstat(fd, &info) != 0) {
      const int error = errno;
      ::close(fd);
      return ErrnoToStatus(error, "cannot stat model file", path);
    }
    if (!S_ISREG(info.st_mode)) {
      ::close(fd);
      return absl::InvalidArgumentError(absl::StrCat("'", path, "' is not a regular file"));
    }
    if (info.st_size > kMaxProtobufBytes) {
      ::close(fd);
      return absl::InvalidArgumentError(absl::StrCat(
          "'", path, "' has ", info.st_size,
          " bytes, over protobuf's 2 GB limit: not a loadable ONNX model (models this big keep "
          "their weights in external data files)"));
    }
    auto stream = std::unique_ptr<MappedFileStream>(new MappedFileStream());
    stream->size_ = static_cast<size_t>(info.st_size);
    if (stream->size_ > 0) {
      void* data = ::mmap(nullptr, stream->size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (data == MAP_FAILED) {
        const int error = errno;
        ::close(fd);
        return ErrnoToStatus(error, "cannot map model file", path);
      }
      ::madvise(data, stream->size_, MADV_SEQUENTIAL);
      stream->data_ = static_cast<char*>(data);
    }
    ::close(fd);
    return stream;
  }

  ~MappedFileStream() override {
    if (data_ != nullptr) ::munmap(data_, size_);
  }

  bool Next(const void** data, int* size) override {
    if (position_ >= size_) return false;
    // Everything before position_ was consumed: the previous chunk is no longer referenced.
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    const size_t release_end = position_ / page * page;
    if (release_end > released_) {
      ::madvise(data_ + released_, release_end - released_, MADV_DONTNEED);
      released_ = release_end;
    }
    const size_t n = std::min(kChunk, size_ - position_);
    *data = data_ + position_;
    *size = static_cast<int>(n);
    position_ += n;
    return true;
  }
  void BackUp(int count) override { position_ -= static_cast<size_t>(count); }
  bool Skip(int count) override {
    const size_t step = std::min(static_cast<size_t>(count), size_ - position_);
    position_ += step;
    return step == static_cast<size_t>(count);
  }
  int64_t ByteCount() const override { return static_cast<int64_t>(position_); }

 private:
  static constexpr size_t kChunk = size_t{16} << 20;

  MappedFileStream() = default;
  char* data_ = nullptr;
  size_t size_ = 0;
  size_t position_ = 0;
  size_t released_ = 0;
};

// Another protobuf message read as a ModelProto leaves fields whose number is known but whose
// wire type is not; protobuf keeps them as unknown fields instead of failing.
bool HasMistypedFields(const Message& message) {
  const Descriptor* descriptor = message.GetDescriptor();
  const google::protobuf::UnknownFieldSet& unknown =
      message.GetReflection()->GetUnknownFields(message);
  for (int i = 0; i < unknown.field_count(); ++i) {
    if (descriptor->FindFieldByNumber(unknown.field(i).number()) != nullptr) return true;
  }
  return false;
}

// Calls fn(const TensorProto&) for every tensor of a graph: initializers, sparse initializers,
// tensor attributes, and those of subgraphs.
template <typename Fn>
absl::Status ForEachTensorInGraph(const onnx::GraphProto& graph, Fn& fn);

template <typename Fn>
absl::Status ForEachTensorInNodes(const google::protobuf::RepeatedPtrField<onnx::NodeProto>& nodes,
                                  Fn& fn) {
  for (const onnx::NodeProto& node : nodes) {
    for (const onnx::AttributeProto& attribute : node.attribute()) {
      if (attribute.has_t()) HALFCAST_RETURN_IF_ERROR(fn(attribute.t()));
      for (const onnx::TensorProto& tensor : attribute.tensors()) {
        HALFCAST_RETURN_IF_ERROR(fn(tensor));
      }
      if (attribute.has_sparse_tensor()) {
        HALFCAST_RETURN_IF_ERROR(fn(attribute.sparse_tensor().values()));
        HALFCAST_RETURN_IF_ERROR(fn(attribute.sparse_tensor().indices()));
      }
      for (const onnx::SparseTensorProto& sparse : attribute.sparse_tensors()) {
        HALFCAST_RETURN_IF_ERROR(fn(sparse.values()));
        HALFCAST_RETURN_IF_ERROR(fn(sparse.indices()));
      }
      if (attribute.has_g()) HALFCAST_RETURN_IF_ERROR(ForEachTensorInGraph(attribute.g(), fn));
      for (const onnx::GraphProto& subgraph : attribute.graphs()) {
        HALFCAST_RETURN_IF_ERROR(ForEachTensorInGraph(subgraph, fn));
      }
    }
  }
  return absl::OkStatus();
}

template <typename Fn>
absl::Status ForEachTensorInGraph(const onnx::GraphProto& graph, Fn& fn) {
  for (const onnx::TensorProto& tensor : graph.initializer()) {
    HALFCAST_RETURN_IF_ERROR(fn(tensor));
  }
  for (const onnx::SparseTensorProto& sparse : graph.sparse_initializer()) {
    HALFCAST_RETURN_IF_ERROR(fn(sparse.values()));
    HALFCAST_RETURN_IF_ERROR(fn(sparse.indices()));
  }
  return ForEachTensorInNodes(graph.node(), fn);
}

template <typename Fn>
absl::Status ForEachTensor(const onnx::ModelProto& model, Fn fn) {
  HALFCAST_RETURN_IF_ERROR(ForEachTensorInGraph(model.graph(), fn));
  for (const onnx::FunctionProto& function : model.functions()) {
    HALFCAST_RETURN_IF_ERROR(ForEachTensorInNodes(function.node(), fn));
  }
  for (const onnx::TrainingInfoProto& info : model.training_info()) {
    HALFCAST_RETURN_IF_ERROR(ForEachTensorInGraph(info.initialization(), fn));
    HALFCAST_RETURN_IF_ERROR(ForEachTensorInGraph(info.algorithm(), fn));
  }
  return absl::OkStatus();
}

absl::Status WithLabel(const absl::Status& status, const std::string& label) {
  return absl::Status(status.code(), absl::StrCat(label, ": ", status.message()));
}

absl::Status ResolveExternalTensors(onnx::ModelProto* model, const std::string& path,
                                    bool load_data) {
  const std::string folder = ModelFolder(path);
  absl::Status status = ForEachTensor(*model, [&](const onnx::TensorProto& tensor) -> absl::Status {
    if (!HasExternalData(tensor)) return absl::OkStatus();
    if (!load_data) return ResolveExternalData(tensor, folder).status();
    HALFCAST_ASSIGN_OR_RETURN(std::string bytes, ReadExternalData(tensor, folder));
    // `tensor` is part of *model, which we may modify; the walk is read-only to serve both uses.
    onnx::TensorProto* mutable_tensor = const_cast<onnx::TensorProto*>(&tensor);
    mutable_tensor->set_raw_data(std::move(bytes));
    mutable_tensor->clear_external_data();
    mutable_tensor->clear_data_location();
    return absl::OkStatus();
  });
  return status.ok() ? status : WithLabel(status, path);
}

// Serializes a model in which some tensors are replaced (by their external-data stubs) without
// copying or modifying the model. Only messages on the path to a replaced tensor ("dirty") are
// walked field by field with reflection, in field-number order as protobuf itself writes them;
// everything else is serialized by its generated code. The bytes equal those of the model with
// the replacements applied.
class ReplacingSerializer {
 public:
  using Replacements = absl::flat_hash_map<const Message*, onnx::TensorProto>;

  ReplacingSerializer(const Replacements& replacements,
                      const absl::flat_hash_set<const Message*>& dirty)
      : replacements_(replacements), dirty_(dirty) {}

  // Must be called on the root before Write (caches the sizes Write uses).
  size_t Size(const Message& message) {
    if (auto it = replacements_.find(&message); it != replacements_.end()) {
      return it->second.ByteSizeLong();
    }
    if (!dirty_.contains(&message)) return message.ByteSizeLong();
    const Reflection* reflection = message.GetReflection();
    std::vector<const FieldDescriptor*> fields;
    reflection->ListFields(message, &fields);
    size_t size = 0;
    for (const FieldDescriptor* field : fields) {
      if (field->type() != FieldDescriptor::TYPE_MESSAGE) {
        size += WireFormat::FieldByteSize(field, message);
        continue;
      }
      const size_t tag_size =
          WireFormatLite::TagSize(field->number(), WireFormatLite::TYPE_MESSAGE);
      ForEachMessage(message, field, [&](const Message& child) {
        const size_t child_size = Size(child);
        sizes_[&child] = child_size;
        size += tag_size + WireFormatLite::UInt64Size(child_size) + child_size;
      });
    }
    size += WireFormat::ComputeUnknownFieldsSize(reflection->GetUnknownFields(message));
    return size;
  }

  void Write(const Message& message, google::protobuf::io::CodedOutputStream* out) {
    if (auto it = replacements_.find(&message); it != replacements_.end()) {
      it->second.SerializeWithCachedSizes(out);
      return;
    }
    if (!dirty_.contains(&message)) {
      message.SerializeWithCachedSizes(out);
      return;
    }
    const Reflection* reflection = message.GetReflection();
    std::vector<const FieldDescriptor*> fields;
    reflection->ListFields(message, &fields);
    for (const FieldDescriptor* field : fields) {
      if (field->type() != FieldDescriptor::TYPE_MESSAGE) {
        WireFormat::SerializeFieldWithCachedSizes(field, message, out);
        continue;
      }
      ForEachMessage(message, field, [&](const Message& child) {
        out->WriteTag(
            WireFormatLite::MakeTag(field->number(), WireFormatLite::WIRETYPE_LENGTH_DELIMITED));
        out->WriteVarint64(sizes_.at(&child));
        Write(child, out);
      });
    }
    WireFormat::SerializeUnknownFields(reflection->GetUnknownFields(message), out);
  }

 private:
  template <typename Fn>
  static void ForEachMessage(const Message& message, const FieldDescriptor* field, Fn fn) {
    const Reflection* reflection = message.GetReflection();
    if (!field->is_repeated()) {
      fn(reflection->GetMessage(message, field));
      return;
    }
    const int count = reflection->FieldSize(message, field);
    for (int i = 0; i < count; ++i) fn(reflection->GetRepeatedMessage(message, field, i));
  }

  const Replacements& replacements_;
  const absl::flat_hash_set<const Message*>& dirty_;
  absl::flat_hash_map<const Message*, size_t> sizes_;
};

// Which tensors go to the side file: initializers and tensor attributes (Constant values: some
// exporters keep every weight there) of every graph, subgraphs included, whose bytes are in
// raw_data and reach the threshold. onnx's helper does the same with convert_attribute=True.
class ExternalTensorPicker {
 public:
  explicit ExternalTensorPicker(int64_t threshold) : threshold_(threshold) {}

  void Pick(const onnx::ModelProto& model) {
    path_.push_back(&model);
    PickInGraph(model.graph());
    path_.pop_back();
  }

  const std::vector<const onnx::TensorProto*>& tensors() const { return tensors_; }
  const absl::flat_hash_set<const Message*>& dirty() const { return dirty_; }

 private:
  void Consider(const onnx::TensorProto& tensor) {
    if (!HasExternalData(tensor) && tensor.data_type() != onnx::TensorProto::STRING &&
        static_cast<int64_t>(tensor.raw_data().size()) >= threshold_) {
      tensors_.push_back(&tensor);
      dirty_.insert(path_.begin(), path_.end());
    }
  }

  void PickInGraph(const onnx::GraphProto& graph) {
    path_.push_back(&graph);
    for (const onnx::TensorProto& tensor : graph.initializer()) Consider(tensor);
    for (const onnx::NodeProto& node : graph.node()) {
      path_.push_back(&node);
      for (const onnx::AttributeProto& attribute : node.attribute()) {
        path_.push_back(&attribute);
        if (attribute.has_t()) Consider(attribute.t());
        for (const onnx::TensorProto& tensor : attribute.tensors()) Consider(tensor);
        if (attribute.has_g()) PickInGraph(attribute.g());
        for (const onnx::GraphProto& subgraph : attribute.graphs()) PickInGraph(subgraph);
        path_.pop_back();
      }
      path_.pop_back();
    }
    path_.pop_back();
  }

  int64_t threshold_;
  std::vector<const Message*> path_;  // messages from the model down to the current graph
  std::vector<const onnx::TensorProto*> tensors_;
  absl::flat_hash_set<const Message*> dirty_;
};

// The tensor without its inline bytes: what ExternalDataWriter::EndTensor completes into a stub.
onnx::TensorProto TensorWithoutData(const onnx::TensorProto& tensor) {
  onnx::TensorProto stub;
  *stub.mutable_dims() = tensor.dims();
  stub.set_data_type(tensor.data_type());
  if (tensor.has_segment()) *stub.mutable_segment() = tensor.segment();
  if (tensor.has_name()) stub.set_name(tensor.name());
  if (tensor.has_doc_string()) stub.set_doc_string(tensor.doc_string());
  stub.mutable_unknown_fields()->MergeFrom(tensor.unknown_fields());
  return stub;
}

absl::Status TooBig(const std::string& path, size_t size, int64_t limit, bool external) {
  return absl::InvalidArgumentError(
      absl::StrCat("cannot save '", path, "': the model serializes to ", size,
                   " bytes, over protobuf's ", limit, "-byte limit",
                   external ? " even with its large initializers in external data"
                            : "; save it with external data (SaveOptions.external_data)"));
}

// Writes the model file through `serializer` and publishes it (after `data`'s file, if any).
// Bytes per write(2) when saving: few system calls for big models, little memory.
constexpr int kWriteBlock = 1 << 20;

// A buffered output stream over a file descriptor that writes large byte fields (tensor data)
// straight from the message with write(2): protobuf hands them over through WriteAliasedRaw
// once CodedOutputStream::EnableAliasing is on, instead of copying them through the buffer
// (a copy of every weight, 8% of saving a 1.5 GB model).
class FdOutputStream : public google::protobuf::io::ZeroCopyOutputStream {
 public:
  explicit FdOutputStream(int fd) : fd_(fd), buffer_(new char[kWriteBlock]) {}

  bool Next(void** data, int* size) override {
    if (used_ == kWriteBlock && !Flush()) return false;
    *data = buffer_.get() + used_;
    *size = kWriteBlock - used_;
    count_ += kWriteBlock - used_;
    used_ = kWriteBlock;
    return true;
  }
  void BackUp(int count) override {
    used_ -= count;
    count_ -= count;
  }
  int64_t ByteCount() const override { return count_; }
  bool AllowsAliasing() const override { return true; }
  bool WriteAliasedRaw(const void* data, int size) override {
    if (!Flush() || !WriteAll(static_cast<const char*>(data), size)) return false;
    count_ += size;
    return true;
  }

  // Writes what the buffer holds; false (see error()) if a write failed.
  bool Flush() {
    if (!WriteAll(buffer_.get(), used_)) return false;
    used_ = 0;
    return true;
  }
  int error() const { return error_; }

 private:
  bool WriteAll(const char* data, size_t size) {
    while (size > 0 && error_ == 0) {
      const ssize_t n = ::write(fd_, data, size);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error_ = n < 0 ? errno : EIO;
        break;
      }
      data += n;
      size -= static_cast<size_t>(n);
    }
    return error_ == 0;
  }

  int fd_;
  std::unique_ptr<char[]> buffer_;
  int used_ = 0;  // bytes of buffer_ holding data
  int64_t count_ = 0;
  int error_ = 0;
};

// `external`: whether external data was asked for (for the error message).
absl::Status WriteModelFile(const onnx::ModelProto& model, const std::string& path,
                            ReplacingSerializer* serializer, ExternalDataWriter* data,
                            int64_t max_model_bytes, bool external, bool sync) {
  const size_t size = serializer->Size(model);
  if (size > static_cast<size_t>(max_model_bytes)) {
    return TooBig(path, size, max_model_bytes, external);
  }
  HALFCAST_ASSIGN_OR_RETURN(std::unique_ptr<AtomicFile> file, AtomicFile::Create(path));
  {
    FdOutputStream stream(file->fd());
    {
      google::protobuf::io::CodedOutputStream coded(&stream);
      coded.SetSerializationDeterministic(true);
      coded.EnableAliasing(true);
      serializer->Write(model, &coded);
    }
    if (!stream.Flush()) return ErrnoToStatus(stream.error(), "cannot write", path);
  }
  file->AddWritten(static_cast<int64_t>(size));
  if (data == nullptr) return file->Commit(sync);
  HALFCAST_RETURN_IF_ERROR(data->file()->Finish(sync));
  HALFCAST_RETURN_IF_ERROR(file->Finish(sync));
  return PublishAll({data->file(), file.get()});
}

bool HasAnyExternalData(const onnx::ModelProto& model) {
  const absl::Status found = ForEachTensor(model, [](const onnx::TensorProto& tensor) {
    return HasExternalData(tensor) ? absl::CancelledError() : absl::OkStatus();
  });
  return !found.ok();
}

}  // namespace

absl::Status ParseModelInto(google::protobuf::io::ZeroCopyInputStream* input,
                            const std::string& label, onnx::ModelProto* model) {
  auto not_onnx = [&label](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(label, ": not an ONNX model (", why, ")"));
  };
  google::protobuf::io::CodedInputStream coded(input);
  coded.SetTotalBytesLimit(static_cast<int>(kMaxProtobufBytes));
  // Each nested If/Loop/Scan body costs three message levels (graph, node, attribute), so
  // protobuf's default of 100 would refuse bodies nested 33 deep; graph::ValidateModel refuses
  // what nests deeper than it supports with a clearer error.
  coded.SetRecursionLimit(kMaxMessageNesting);
  if (!model->ParseFromCodedStream(&coded) || !coded.ConsumedEntireMessage()) {
    return not_onnx(absl::StrCat("protobuf parse failed: corrupt or truncated, or messages nested "
                                 "deeper than ", kMaxMessageNesting,
                                 " levels (subgraphs nested about ", kMaxMessageNesting / 3,
                                 " deep)"));
  }
  if (!model->has_ir_version()) return not_onnx("no ir_version");
  if (!model->has_graph()) return not_onnx("no graph");
  if (model->ir_version() >= 3 && model->opset_import_size() == 0) {
    return not_onnx("no opset_import: truncated?");
  }
  if (HasMistypedFields(*model) || HasMistypedFields(model->graph())) {
    return not_onnx("fields of the wrong type: another protobuf message?");
  }
  return absl::OkStatus();
}

absl::StatusOr<onnx::ModelProto> ParseModel(google::protobuf::io::ZeroCopyInputStream* input,
                                            const std::string& label) {
  onnx::ModelProto model;
  HALFCAST_RETURN_IF_ERROR(ParseModelInto(input, label, &model));
  return model;
}

absl::StatusOr<onnx::ModelProto> ParseModel(std::string_view bytes, const std::string& label) {
  if (bytes.size() > static_cast<size_t>(kMaxProtobufBytes)) {
    return absl::InvalidArgumentError(
        absl::StrCat(label, ": not an ONNX model (over protobuf's 2 GB limit)"));
  }
  google::protobuf::io::ArrayInputStream array(bytes.data(), static_cast<int>(bytes.size()));
  return ParseModel(&array, label);
}

absl::Status SaveModelWithLimit(const onnx::ModelProto& model, const std::string& path,
                                const SaveOptions& options, int64_t max_model_bytes) {
  const ReplacingSerializer::Replacements no_replacements;
  const absl::flat_hash_set<const Message*> nothing_dirty;
  if (!options.external_data) {
    ReplacingSerializer plain(no_replacements, nothing_dirty);
    return WriteModelFile(model, path, &plain, nullptr, max_model_bytes, false, options.sync);
  }
  ExternalTensorPicker picker(options.external_data_threshold);
  picker.Pick(model);
  if (picker.tensors().empty()) {  // no side file for nothing
    ReplacingSerializer plain(no_replacements, nothing_dirty);
    return WriteModelFile(model, path, &plain, nullptr, max_model_bytes, true, options.sync);
  }
  HALFCAST_ASSIGN_OR_RETURN(std::unique_ptr<ExternalDataWriter> data,
                            ExternalDataWriter::Create(path, options.external_data_file));
  ReplacingSerializer::Replacements replacements;
  for (const onnx::TensorProto* tensor : picker.tensors()) {
    onnx::TensorProto stub = TensorWithoutData(*tensor);
    HALFCAST_RETURN_IF_ERROR(data->WriteTensor(tensor->raw_data(), &stub));
    replacements.emplace(tensor, std::move(stub));
  }
  ReplacingSerializer serializer(replacements, picker.dirty());
  return WriteModelFile(model, path, &serializer, data.get(), max_model_bytes, true, options.sync);
}

absl::Status CommitModelWithExternalData(const onnx::ModelProto& model, ExternalDataWriter* data,
                                         bool sync) {
  const ReplacingSerializer::Replacements no_replacements;
  const absl::flat_hash_set<const Message*> nothing_dirty;
  ReplacingSerializer plain(no_replacements, nothing_dirty);
  return WriteModelFile(model, data->model_path(), &plain, data, kMaxProtobufBytes, true, sync);
}

absl::Status LoadModelInto(const std::string& path, const LoadOptions& options,
                           onnx::ModelProto* model) {
  HALFCAST_ASSIGN_OR_RETURN(std::unique_ptr<MappedFileStream> file, MappedFileStream::Open(path));
  HALFCAST_RETURN_IF_ERROR(ParseModelInto(file.get(), path, model));
  file.reset();  // the parsed model owns copies of every byte it needs
  return ResolveExternalTensors(model, path, options.load_external_data);
}

namespace {

constexpr size_t kHugePage = size_t{2} << 20;

// Arena blocks straight from mmap, asking for transparent huge pages: a model of many small
// messages otherwise spends much of its parse in page faults, one per 4 KiB (on a VM, about
// half of the parse of a 50,000-node graph).
void* MapBlock(size_t size) {
  void* block = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (block == MAP_FAILED) throw std::bad_alloc();
  if (size >= kHugePage) ::madvise(block, size, MADV_HUGEPAGE);
  return block;
}

void UnmapBlock(void* block, size_t size) { ::munmap(block, size); }

}  // namespace

google::protobuf::ArenaOptions ModelArenaOptions() {
  google::protobuf::ArenaOptions options;
  options.start_block_size = kHugePage;
  options.max_block_size = 16 * kHugePage;
  options.block_alloc = MapBlock;
  options.block_dealloc = UnmapBlock;
  return options;
}

}  // namespace io

absl::StatusOr<onnx::ModelProto> LoadModel(const std::string& path, const LoadOptions& options) {
  onnx::ModelProto model;
  HALFCAST_RETURN_IF_ERROR(io::LoadModelInto(path, options, &model));
  return model;
}

absl::StatusOr<onnx::ModelProto> LoadModelFromBytes(std::string_view bytes) {
  HALFCAST_ASSIGN_OR_RETURN(onnx::ModelProto model, io::ParseModel(bytes, "model bytes"));
  if (io::HasAnyExternalData(model)) {
    return absl::InvalidArgumentError(
        "model bytes: the model refers to external data, which needs the model's folder; load "
        "it from its file with LoadModel");
  }
  return model;
}

absl::Status SaveModel(const onnx::ModelProto& model, const std::string& path,
                       const SaveOptions& options) {
  return io::SaveModelWithLimit(model, path, options, io::kMaxProtobufBytes);
}

absl::StatusOr<std::string> SerializeModel(const onnx::ModelProto& model) {
  if (io::HasAnyExternalData(model)) {
    return absl::InvalidArgumentError(
        "cannot serialize to bytes a model that refers to external data; save it with SaveModel");
  }
  const size_t size = model.ByteSizeLong();
  if (size > static_cast<size_t>(io::kMaxProtobufBytes)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the model serializes to ", size,
                     " bytes, over protobuf's 2 GB limit; save it to a file with external data"));
  }
  std::string bytes(size, '\0');
  {
    // The stream writes its last bytes when destroyed: it must be gone before `bytes` is
    // returned (a short string is copied, not moved; found by tests/fuzz).
    google::protobuf::io::ArrayOutputStream array(bytes.data(), static_cast<int>(size));
    google::protobuf::io::CodedOutputStream coded(&array);
    coded.SetSerializationDeterministic(true);
    model.SerializeWithCachedSizes(&coded);
    if (coded.HadError()) return absl::InternalError("serializing the model failed");
  }
  return bytes;
}

}  // namespace halfcast
