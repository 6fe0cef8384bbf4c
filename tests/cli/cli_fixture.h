// What the tests of the built `halfcast` executable (HALFCAST_CLI, from CMake) share: running it
// as a user would (files, a pipe, a pseudo-terminal), fixture files and small models.
#ifndef HALFCAST_TESTS_CLI_CLI_FIXTURE_H_
#define HALFCAST_TESTS_CLI_CLI_FIXTURE_H_

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "halfcast/model_io.h"
#include "halfcast/tensor.h"
#include "testing/onnx_text.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace halfcast::cli_testing {

inline constexpr int kOk = 0;
inline constexpr int kNotClose = 1;
inline constexpr int kError = 2;

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string Quote(const std::string& arg) {
  std::string quoted = "'";
  for (char c : arg) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

inline std::string ModelsDir() { return std::string(HALFCAST_TEST_DATA_DIR) + "/models"; }

class CliTest : public ::testing::Test {
 protected:
  CliResult Run(const std::vector<std::string>& args) {
    std::string command = CommandLine(args);
    absl::StrAppend(&command, " >", Quote(dir_.File("stdout")), " 2>", Quote(dir_.File("stderr")));
    const int status = std::system(command.c_str());
    CliResult result;
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.out = ::halfcast::testing::ReadFileBytes(dir_.File("stdout"));
    result.err = ::halfcast::testing::ReadFileBytes(dir_.File("stderr"));
    return result;
  }

  static std::string CommandLine(const std::vector<std::string>& args) {
    std::string command = Quote(HALFCAST_CLI);
    for (const std::string& arg : args) absl::StrAppend(&command, " ", Quote(arg));
    return command;
  }

  // Runs the tool with stdout and stderr on a pseudo-terminal (util-linux `script`), as in an
  // interactive shell; `out` is everything the terminal showed.
  CliResult RunOnTerminal(const std::vector<std::string>& args) {
    const std::string command =
        absl::StrCat("script -qec ", Quote(CommandLine(args)), " /dev/null </dev/null >",
                     Quote(dir_.File("tty")), " 2>&1");
    const int status = std::system(command.c_str());
    CliResult result;
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.out = ::halfcast::testing::ReadFileBytes(dir_.File("tty"));
    return result;
  }

  // Writes a model in ONNX text syntax to dir/name and returns its path.
  std::string WriteModel(const std::string& name, const char* text) {
    return WriteModelProto(name, ::halfcast::testing::ParseModelText(text));
  }
  std::string WriteModelProto(const std::string& name, const onnx::ModelProto& model) {
    const std::string path = dir_.File(name);
    ::halfcast::testing::WriteFileBytes(path, model.SerializeAsString());
    return path;
  }

  std::string WriteFloats(const std::string& name, std::vector<int64_t> shape,
                          std::vector<float> values) {
    const std::string path = dir_.File(name);
    EXPECT_OK(WriteNpy(Tensor::Copy(DataType::kFloat, std::move(shape), values.data()), path));
    return path;
  }

  // Expects a failed run: status 2, `message` on stderr, nothing on stdout.
  void ExpectError(const std::vector<std::string>& args, const std::string& message) {
    const CliResult result = Run(args);
    EXPECT_EQ(result.exit_code, kError) << result.out << result.err;
    EXPECT_THAT(result.err, ::testing::HasSubstr(message));
    EXPECT_THAT(result.out, ::testing::IsEmpty());
  }

  bool Exists(const std::string& path) { return std::filesystem::exists(path); }

  ::halfcast::testing::TempDir dir_;
};

// y = Max(Add(x, c), x): Max is in the default op block list.
inline const char kAddMax[] = R"(
  <ir_version: 8, opset_import: ["" : 17]>
  g (float[N, 2] x) => (float[N, 2] y) <float[2] c = {0.5, -0.25}> {
    a = Add(x, c)
    y = Max(a, x)
  }
)";

// Two inputs, two outputs; tests that need a node name set it after parsing (onnx 1.12's text
// syntax has no node names).
inline const char kTwoOutputs[] = R"(
  <ir_version: 8, opset_import: ["" : 17]>
  g (float[2] x, float[2] z) => (float[2] y, float[2] w) {
    y = Relu(x)
    w = Mul(x, z)
  }
)";

// float16 overflows in the middle (x * 300 * 300 > 65504 for |x| > 0.73) and the end divides it
// back: only mixed precision keeps the outputs right.
inline const char kOverflow[] = R"(
  <ir_version: 8, opset_import: ["" : 17]>
  g (float[4] x) => (float[4] y) <float a = {300.0}, float b = {300.0}, float d = {90000.0}> {
    p = Mul(x, a)
    q = Mul(p, b)
    r = Div(q, d)
    y = Relu(r)
  }
)";

inline onnx::ModelProto LoadOrDie(const std::string& path) {
  absl::StatusOr<onnx::ModelProto> model = LoadModel(path);
  EXPECT_OK(model.status());
  return model.ok() ? *std::move(model) : onnx::ModelProto();
}

inline int InputType(const onnx::ModelProto& model, int index) {
  return model.graph().input(index).type().tensor_type().elem_type();
}
inline int OutputType(const onnx::ModelProto& model, int index) {
  return model.graph().output(index).type().tensor_type().elem_type();
}

}  // namespace halfcast::cli_testing

#endif  // HALFCAST_TESTS_CLI_CLI_FIXTURE_H_
