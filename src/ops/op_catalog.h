// Where halfcast's knowledge of ops lives: onnx's schema registry and halfcast's own tables
// (op_table.h), behind one lookup that the converter's op policy, the element-type propagation
// and the evaluator share.
//
// For a node, the schema used is the one with the highest since-version not above the model's
// import of the node's domain, from onnx or from a table; onnx wins a tie, so a newer linked onnx
// that knows an op takes over from the table by itself. Models importing opsets newer than
// anything knows get the newest schema known.
#ifndef HALFCAST_OPS_OP_CATALOG_H_
#define HALFCAST_OPS_OP_CATALOG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/call_once.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "onnx/defs/schema.h"
#include "onnx/onnx_pb.h"
#include "ops/op_table.h"

namespace halfcast::ops {

// Who typed an op.
enum class OpSource : uint8_t {
  kOnnx,           // the linked onnx library's schema registry
  kTable,          // halfcast's tables (src/ops/tables)
  kLocalFunction,  // a function of the model itself (ModelProto.functions)
  kUnknown,        // nothing describes it (a vendor's custom domain, an unimported domain)
};

// Stable lower-case names: "onnx", "halfcast_table", "local_function", "unknown".
const char* OpSourceName(OpSource source);

struct OpInfo {
  const onnx::OpSchema* schema = nullptr;  // null for kLocalFunction and kUnknown
  OpSource source = OpSource::kUnknown;
  const TableOp* table = nullptr;  // the table record, for kTable
};

// The process-wide catalog, safe to use from any thread. The tables are parsed once, on the first
// lookup that can need them (an op onnx does not know, or an opset newer than onnx knows), so a
// model onnx describes whole never pays for them.
class OpCatalog {
 public:
  static const OpCatalog& Instance();

  // The op `op_type` of `domain` ("" or "ai.onnx" for the default domain) in a model importing
  // version `opset` of that domain.
  OpInfo Find(absl::string_view domain, absl::string_view op_type, int opset) const;
  // The newest opset of `domain` the linked onnx knows (0 if none), and that the tables know.
  static int OnnxNewestOpset(absl::string_view domain);
  int TableNewestOpset(absl::string_view domain) const;
  // Every table record, in table order.
  const std::vector<TableOp>& table_ops() const { return Tables().ops; }
  // Every `kernel` record, in table order.
  const std::vector<TableKernel>& table_kernels() const { return Tables().kernels; }

  // The `cpu` lines that apply to `op_type` of `domain` at `opset`: ONNX Runtime's CPU kernel
  // types per type parameter, from the newest `kernel` record not above `opset`, else from the
  // newest op record not above it that has cpu lines. nullptr when the tables say nothing (for the
  // default domain: ONNX Runtime's CPU provider has no kernel beyond the ones listed for float).
  const std::vector<std::pair<std::string, std::vector<std::string>>>* OrtCpuTypes(
      absl::string_view domain, absl::string_view op_type, int opset) const;
  // Whether some type parameter of those cpu lines allows `type` (an onnx type string such as
  // "tensor(float16)"): ONNX Runtime's CPU provider computes the op in that type itself rather
  // than through the Casts to float32 it inserts around ops it has no such kernel for.
  bool OrtCpuAccepts(absl::string_view domain, absl::string_view op_type, int opset,
                     absl::string_view type) const;

  // Why a table was left out (its parse error, naming the line); empty for the builtin tables,
  // which tests/ops checks.
  const std::vector<std::string>& errors() const { return Tables().errors; }

  // A catalog over the given tables (the builtin ones for Instance()), which must outlive it; a
  // malformed table is left out and its error kept in errors().
  explicit OpCatalog(std::vector<std::pair<const char*, absl::string_view>> tables);

 private:
  struct Parsed {
    std::vector<TableOp> ops;
    std::vector<TableKernel> kernels;
    std::vector<std::string> errors;
    // "domain\nop_type" -> records sorted by since-version.
    absl::flat_hash_map<std::string, std::vector<const TableOp*>> by_op;
    absl::flat_hash_map<std::string, int> newest;
    // "domain\nop_type" -> kernel records sorted by since-version.
    absl::flat_hash_map<std::string, std::vector<const TableKernel*>> kernels_by_op;
  };
  const Parsed& Tables() const;

  std::vector<std::pair<const char*, absl::string_view>> sources_;
  mutable absl::once_flag parsed_once_;
  mutable Parsed parsed_;
};

// Finds op schemas the way one model's opset imports ask for them (one object per conversion: it
// caches lookups, so it is not shared between threads).
class SchemaLookup {
 public:
  explicit SchemaLookup(const onnx::ModelProto& model,
                        const OpCatalog& catalog = OpCatalog::Instance());
  // The op of `node`; source kLocalFunction for model-local functions.
  OpInfo Info(const onnx::NodeProto& node) const;
  // Info(node).schema.
  const onnx::OpSchema* Find(const onnx::NodeProto& node) const { return Info(node).schema; }
  bool IsLocalFunction(const onnx::NodeProto& node) const;
  // The model's import of `domain` (0 if none).
  int ModelOpset(absl::string_view domain) const;

 private:
  const OpCatalog& catalog_;
  absl::flat_hash_map<std::string, int> opsets_;
  absl::flat_hash_set<std::string> functions_;  // "domain\n" + name
  // Info's results by op type, for the empty domain and by domain (as written) for the others.
  using OpCache = absl::flat_hash_map<std::string, OpInfo>;
  mutable OpCache default_domain_cache_;
  mutable absl::flat_hash_map<std::string, OpCache> cache_;
};

// "" for "ai.onnx", any other domain as it is.
inline absl::string_view CanonicalDomain(absl::string_view domain) {
  return domain == "ai.onnx" ? absl::string_view() : domain;
}

}  // namespace halfcast::ops

#endif  // HALFCAST_OPS_OP_CATALOG_H_
