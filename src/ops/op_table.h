// halfcast's own op tables: type knowledge for ops the linked onnx does not know (newer opsets of
// the default domain, ONNX Runtime's com.microsoft ops), as reviewable text in src/ops/tables/
// (format: docs/op-tables.md), turned into onnx::OpSchema objects that only halfcast sees.
#ifndef HALFCAST_OPS_OP_TABLE_H_
#define HALFCAST_OPS_OP_TABLE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "onnx/defs/schema.h"

namespace halfcast::ops {

// One record of a table: the schema, and what the table says beyond it.
struct TableOp {
  std::unique_ptr<onnx::OpSchema> schema;  // name, domain, since version, formals, constraints
  // `cpu PARAM = ...` lines: the types ONNX Runtime's CPU kernels register, per type parameter
  // (onnx type strings such as "tensor(float)"). Empty when the table says nothing.
  std::vector<std::pair<std::string, std::vector<std::string>>> cpu_types;
  std::string note;  // free text for reviewers
  int line = 0;      // where the record starts in its table
};

// A `kernel` record: what ONNX Runtime's CPU execution provider registers for an op whose schema
// comes from elsewhere (onnx's registry), from version `since` until the domain's next record of
// the op. Only `cpu` lines (and notes).
struct TableKernel {
  std::string domain;  // "" for ai.onnx
  std::string op_type;
  int since = 0;
  std::vector<std::pair<std::string, std::vector<std::string>>> cpu_types;
  std::string note;
  int line = 0;
};

// Parses one table. `file` names it in errors. InvalidArgument with "file:line: what" for any
// malformed statement: an unknown keyword, a type parameter used but not declared, a variadic
// formal that is not last, a duplicate record of one op and version, a record without outputs.
// Element types the linked onnx cannot represent (float8, int4, ...) are dropped from type lists.
absl::StatusOr<std::vector<TableOp>> ParseOpTable(absl::string_view text, absl::string_view file);
// As above; the table's `kernel` records go to `kernels` (the two-argument form checks and drops
// them).
absl::StatusOr<std::vector<TableOp>> ParseOpTable(absl::string_view text, absl::string_view file,
                                                  std::vector<TableKernel>* kernels);

// The tables compiled into the library (src/ops/tables/*.optable), as (file name, text).
const std::vector<std::pair<const char*, absl::string_view>>& BuiltinOpTables();

}  // namespace halfcast::ops

#endif  // HALFCAST_OPS_OP_TABLE_H_
