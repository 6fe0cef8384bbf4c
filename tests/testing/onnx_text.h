// Test fixtures written in ONNX textual syntax (onnx/defs/parser.h), so a test reads like the
// graph it checks:
//
//   onnx::ModelProto model = ParseModelText(R"(
//     <ir_version: 8, opset_import: ["" : 17]>
//     g (float[N] x) => (float[N] y) { y = Relu(x) }
//   )");
#ifndef HALFCAST_TESTING_ONNX_TEXT_H_
#define HALFCAST_TESTING_ONNX_TEXT_H_

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "onnx/onnx_pb.h"

namespace halfcast::testing {

// Parses a model; InvalidArgument with the parser's message on a syntax error.
absl::StatusOr<onnx::ModelProto> TryParseModelText(std::string_view text);
// Parses a model or fails the current test (returns an empty model then).
onnx::ModelProto ParseModelText(std::string_view text);

// (float[2] x, bool c) => y: an If whose then-branch holds an If whose then-branch ... `depth`
// bodies deep, each branch returning Identity(x). Built in memory, as no file that deep parses.
onnx::ModelProto NestedIfs(int depth);

// onnx 1.12's text syntax has no sequence or optional types: tests declare them after parsing.
// Makes `value` a sequence (or an optional) of `elem` tensors (TensorProto::DataType).
void DeclareSequenceOf(onnx::ValueInfoProto* value, int32_t elem);
void DeclareOptionalOf(onnx::ValueInfoProto* value, int32_t elem);

}  // namespace halfcast::testing

#endif  // HALFCAST_TESTING_ONNX_TEXT_H_
