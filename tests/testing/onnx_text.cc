#include "testing/onnx_text.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "onnx/defs/parser.h"

namespace halfcast::testing {

absl::StatusOr<onnx::ModelProto> TryParseModelText(std::string_view text) {
  onnx::ModelProto model;
  const std::string source(text);
  onnx::Common::Status status = onnx::OnnxParser::Parse(model, source.c_str());
  if (!status.IsOK()) {
    return absl::InvalidArgumentError(absl::StrCat("ONNX text: ", status.ErrorMessage()));
  }
  return model;
}

onnx::ModelProto ParseModelText(std::string_view text) {
  absl::StatusOr<onnx::ModelProto> model = TryParseModelText(text);
  EXPECT_TRUE(model.ok()) << model.status();
  return model.ok() ? *std::move(model) : onnx::ModelProto();
}

}  // namespace halfcast::testing
