#include "ops/op_catalog.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace halfcast::ops {
namespace {

std::string Key(absl::string_view domain, absl::string_view op_type) {
  return absl::StrCat(CanonicalDomain(domain), "\n", op_type);
}

}  // namespace

const char* OpSourceName(OpSource source) {
  switch (source) {
    case OpSource::kOnnx:
      return "onnx";
    case OpSource::kTable:
      return "halfcast_table";
    case OpSource::kLocalFunction:
      return "local_function";
    case OpSource::kUnknown:
      return "unknown";
  }
  return "unknown";
}

OpCatalog::OpCatalog(std::vector<std::pair<const char*, absl::string_view>> tables)
    : sources_(std::move(tables)) {}

const OpCatalog::Parsed& OpCatalog::Tables() const {
  absl::call_once(parsed_once_, [this] {
    for (const auto& [file, text] : sources_) {
      absl::StatusOr<std::vector<TableOp>> ops = ParseOpTable(text, file, &parsed_.kernels);
      if (!ops.ok()) {
        // Every builtin table is parsed by tests/ops, so this is a broken build; the catalog goes
        // on without that table rather than take the user's process down.
        parsed_.errors.push_back(std::string(ops.status().message()));
        continue;
      }
      for (TableOp& op : *ops) parsed_.ops.push_back(std::move(op));
    }
    for (const TableOp& op : parsed_.ops) {
      const onnx::OpSchema& schema = *op.schema;
      parsed_.by_op[Key(schema.domain(), schema.Name())].push_back(&op);
      int& newest = parsed_.newest[schema.domain()];
      newest = std::max(newest, schema.SinceVersion());
    }
    for (const TableKernel& kernel : parsed_.kernels) {
      parsed_.kernels_by_op[Key(kernel.domain, kernel.op_type)].push_back(&kernel);
    }
    for (auto& [key, records] : parsed_.kernels_by_op) {
      std::sort(records.begin(), records.end(),
                [](const TableKernel* a, const TableKernel* b) { return a->since < b->since; });
    }
    for (auto& [key, records] : parsed_.by_op) {
      std::sort(records.begin(), records.end(), [](const TableOp* a, const TableOp* b) {
        return a->schema->SinceVersion() < b->schema->SinceVersion();
      });
    }
  });
  return parsed_;
}

const OpCatalog& OpCatalog::Instance() {
  // Destroyed at exit, unlike a leaked singleton: protobuf tags the string pointers of the
  // schemas' attribute defaults, so leak checkers (the C API's valgrind test) would report a
  // never-freed catalog as possibly lost.
  static const OpCatalog kCatalog(BuiltinOpTables());
  return kCatalog;
}

int OpCatalog::OnnxNewestOpset(absl::string_view domain) {
  const auto& known = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  auto it = known.find(std::string(CanonicalDomain(domain)));
  return it == known.end() ? 0 : it->second.second;
}

int OpCatalog::TableNewestOpset(absl::string_view domain) const {
  const Parsed& tables = Tables();
  auto it = tables.newest.find(CanonicalDomain(domain));
  return it == tables.newest.end() ? 0 : it->second;
}

OpInfo OpCatalog::Find(absl::string_view domain, absl::string_view op_type, int opset) const {
  const std::string canonical(CanonicalDomain(domain));
  OpInfo found;
  found.schema = onnx::OpSchemaRegistry::Schema(std::string(op_type), opset, canonical);
  if (found.schema != nullptr) found.source = OpSource::kOnnx;
  // The tables hold only ops onnx does not know and versions newer than it knows: with an onnx
  // schema at an opset onnx covers, they cannot hold a newer one.
  if (found.schema != nullptr && opset <= OnnxNewestOpset(canonical)) return found;
  const Parsed& tables = Tables();
  auto it = tables.by_op.find(Key(canonical, op_type));
  if (it == tables.by_op.end()) return found;
  // The newest record not above the model's opset; onnx keeps a tie.
  for (auto r = it->second.rbegin(); r != it->second.rend(); ++r) {
    const onnx::OpSchema* schema = (*r)->schema.get();
    if (schema->SinceVersion() > opset) continue;
    if (found.schema == nullptr || schema->SinceVersion() > found.schema->SinceVersion()) {
      found = OpInfo{schema, OpSource::kTable, *r};
    }
    break;
  }
  return found;
}

const std::vector<std::pair<std::string, std::vector<std::string>>>* OpCatalog::OrtCpuTypes(
    absl::string_view domain, absl::string_view op_type, int opset) const {
  const Parsed& tables = Tables();
  const std::string key = Key(domain, op_type);
  if (auto it = tables.kernels_by_op.find(key); it != tables.kernels_by_op.end()) {
    for (auto r = it->second.rbegin(); r != it->second.rend(); ++r) {
      if ((*r)->since <= opset) return &(*r)->cpu_types;
    }
    return nullptr;
  }
  if (auto it = tables.by_op.find(key); it != tables.by_op.end()) {
    for (auto r = it->second.rbegin(); r != it->second.rend(); ++r) {
      if ((*r)->schema->SinceVersion() <= opset && !(*r)->cpu_types.empty()) {
        return &(*r)->cpu_types;
      }
    }
  }
  return nullptr;
}

bool OpCatalog::OrtCpuAccepts(absl::string_view domain, absl::string_view op_type, int opset,
                              absl::string_view type) const {
  const auto* types = OrtCpuTypes(domain, op_type, opset);
  if (types == nullptr) return false;
  for (const auto& [param, allowed] : *types) {
    if (std::find(allowed.begin(), allowed.end(), type) != allowed.end()) return true;
  }
  return false;
}

SchemaLookup::SchemaLookup(const onnx::ModelProto& model, const OpCatalog& catalog)
    : catalog_(catalog) {
  for (const auto& opset : model.opset_import()) {
    opsets_[std::string(CanonicalDomain(opset.domain()))] = static_cast<int>(opset.version());
  }
  for (const auto& function : model.functions()) {
    functions_.insert(absl::StrCat(function.domain(), "\n", function.name()));
  }
}

bool SchemaLookup::IsLocalFunction(const onnx::NodeProto& node) const {
  if (functions_.empty()) return false;
  return functions_.contains(absl::StrCat(node.domain(), "\n", node.op_type()));
}

int SchemaLookup::ModelOpset(absl::string_view domain) const {
  auto it = opsets_.find(CanonicalDomain(domain));
  return it == opsets_.end() ? 0 : it->second;
}

OpInfo SchemaLookup::Info(const onnx::NodeProto& node) const {
  if (IsLocalFunction(node)) return OpInfo{nullptr, OpSource::kLocalFunction, nullptr};
  // Cached by (domain, op type) as written: the registry's lookup goes through three string-keyed
  // maps, and the same few ops repeat thousands of times in large graphs.
  auto& by_op = node.domain().empty() ? default_domain_cache_ : cache_[node.domain()];
  if (auto cached = by_op.find(node.op_type()); cached != by_op.end()) return cached->second;
  const int opset = ModelOpset(node.domain());
  const OpInfo info = opset == 0 ? OpInfo{} : catalog_.Find(node.domain(), node.op_type(), opset);
  by_op.emplace(node.op_type(), info);
  return info;
}

}  // namespace halfcast::ops
