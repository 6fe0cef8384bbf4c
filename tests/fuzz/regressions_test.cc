// Inputs the fuzz targets (docs/reliability.md) crashed on, reduced to what mattered: each must
// now give a clear error naming what is wrong. The inputs themselves are in regressions/<target>
// (replayed by fuzz_regressions.<target>).
#include <filesystem>
#include <string>

#include "gmock/gmock.h"
#include "cli/feeds.h"
#include "gtest/gtest.h"
#include "halfcast/convert.h"
#include "halfcast/model_io.h"
#include "halfcast/tensor.h"
#include "testing/onnx_text.h"
#include "testing/status_matchers.h"

namespace halfcast {
namespace {

using ::halfcast::testing::ParseModelText;
using ::halfcast::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr char kEyeLike[] = R"(
  <ir_version: 8, opset_import: ["" : 17]>
  g (float[2,3] x) => (float[2,3] y, float[2,3] e) {
    s = Shape(x)
    z = ConstantOfShape <value = float[1] {1.0}> (s)
    y = Add(x, z)
    e = EyeLike <dtype = 1> (z)
  }
)";

// onnx 1.12's shape inference dereferenced the missing type of a main-graph input.
TEST(FuzzRegressionTest, GraphInputWithoutType) {
  onnx::ModelProto model = ParseModelText(kEyeLike);
  model.mutable_graph()->mutable_input(0)->clear_type();
  EXPECT_THAT(ConvertFloatToFloat16(model, {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("the main graph's input 'x' has no type")));

  model = ParseModelText(kEyeLike);
  onnx::TypeProto* e_type = model.mutable_graph()->mutable_output(1)->mutable_type();
  e_type->mutable_tensor_type()->clear_elem_type();
  EXPECT_THAT(ConvertFloatToFloat16(model, {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("output 'e' is a tensor with no element type")));
}

// A value from an op onnx has no schema for, read by EyeLike: onnx 1.12's inference crashed on
// it. It cannot be typed by anyone, so the error names it before onnx's inference runs.
TEST(FuzzRegressionTest, ValueOfAnUnknownOpWithoutValueInfo) {
  onnx::ModelProto model = ParseModelText(kEyeLike);
  model.mutable_graph()->mutable_node(1)->set_op_type("ConstantOfShapeX");
  EXPECT_THAT(ConvertFloatToFloat16(model, {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("value 'z'"), HasSubstr("ConstantOfShapeX"))));
}

// A Scan without its required num_scan_inputs crashed onnx 1.12's Scan inference, which runs
// here because `k` (a Constant with a misspelt attribute) has no type otherwise.
TEST(FuzzRegressionTest, NodeNotMatchingItsSchemaSkipsOnnxInference) {
  const onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 16]>
    g (float[2] init, float[3, 2] xs) => (float[2] total, float[3, 2] ys) {
      k = Constant <valuf = float[1] {1.0}> ()
      total, ys = Scan(init, xs) <body = b (float[2] acc, float[2] x)
          => (float[2] next, float[2] y) {
        next = Add(acc, x)
        y = Mul(next, k)
      }>
    }
  )");
  EXPECT_THAT(ConvertFloatToFloat16(model, {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("cannot determine the element type of value 'k'")));
}

std::string RegressionInput(const std::string& target, const std::string& name) {
  return std::string(HALFCAST_FUZZ_REGRESSIONS_DIR) + "/" + target + "/" + name;
}

// feeds: a 15-byte .pb whose dims ask for 2^40 floats and that holds none. The reader allocated
// the tensor (4 TiB) before comparing the float_data field with the dims: std::bad_alloc.
TEST(FuzzRegressionTest, TensorProtoDimsWithoutDataAreRefusedBeforeAllocating) {
  const std::string path = RegressionInput("feeds", "dims_without_data.pb");
  EXPECT_THAT(cli::ReadInputs({"x=" + path}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("--input x="), HasSubstr("tensor 'huge' has 0 values in "
                                                                "float_data but its shape needs "
                                                                "1099511627776"))));
  EXPECT_THAT(ReadTensorFile(RegressionInput("feeds", "int32_data_missing.pb")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("has 0 values in int32_data but its shape needs 1099511627776")));
  // The same tensor with its data reads.
  onnx::TensorProto proto;
  proto.set_name("small");
  proto.set_data_type(onnx::TensorProto::FLOAT);
  proto.add_dims(2);
  proto.add_float_data(1.5f);
  proto.add_float_data(-2.0f);
  absl::StatusOr<Tensor> small = TensorFromProto(proto);
  ASSERT_TRUE(small.ok()) << small.status();
  EXPECT_EQ(small->data<float>()[1], -2.0f);
}

// args: `--input x=<a folder>.pb` (the fuzzer's was ".\0...b.pb", a NUL cutting the name to
// "."): the folder opened as a file and libstdc++ threw std::ios_failure from the read, which
// ended the process. Anything but a regular file is refused before reading now (a device such
// as /dev/zero would never end), and so is a name holding NUL.
TEST(FuzzRegressionTest, InputFilesThatAreNotRegularFilesAreRefused) {
  const std::string folder = ::testing::TempDir() + "/fuzz_regression_folder.pb";
  std::filesystem::create_directories(folder);
  EXPECT_THAT(cli::ReadInputs({"x=" + folder}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("--input x="), HasSubstr("is not a regular file"))));
  std::filesystem::create_directories(::testing::TempDir() + "/fuzz_regression_folder.npy");
  EXPECT_THAT(ReadNpy(::testing::TempDir() + "/fuzz_regression_folder.npy"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is not a regular file")));
  EXPECT_THAT(ReadNpy("/dev/zero"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is not a regular file")));
  EXPECT_THAT(ReadTensorFile(std::string(".\0b.pb", 6)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cannot hold NUL")));
  EXPECT_THAT(ReadTensorFile(::testing::TempDir() + "/no_such_input.pb"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("cannot open")));
}

// load_convert: a graph input without a name was stored in the graph index by a memcpy from an
// empty name to a null block (undefined for UBSan, even for 0 bytes). The model is refused for
// the value its node reads, which no input defines.
TEST(FuzzRegressionTest, GraphInputWithoutANameIsAClearError) {
  absl::StatusOr<onnx::ModelProto> model =
      LoadModel(RegressionInput("load_convert", "graph_input_without_a_name.onnx"));
  ASSERT_TRUE(model.ok()) << model.status();
  ASSERT_EQ(model->graph().input(0).name(), "");
  EXPECT_THAT(ConvertFloatToFloat16(*model, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'opt_in'")));
}

// feeds: a BOOL .pb whose raw_data holds bytes like 0x80 and 0xb3 read as those bytes (only
// int32_data and .npy were made 0 or 1), so the tensor written back as .npy read differently,
// and a kernel reading such a byte as a C++ bool is undefined. Every reader gives 0 or 1 now.
TEST(FuzzRegressionTest, BoolsFromRawBytesAreZeroOrOne) {
  absl::StatusOr<Tensor> tensor =
      ReadTensorFile(RegressionInput("feeds", "bool_raw_data_not_0_or_1.pb"));
  ASSERT_TRUE(tensor.ok()) << tensor.status();
  ASSERT_EQ(tensor->type(), DataType::kBool);
  ASSERT_EQ(tensor->byte_size(), 16u);
  const auto* bytes = static_cast<const unsigned char*>(tensor->raw_data());
  // raw_data: 00 00 80 00 00 00 00 10 00 00 80 00 00 00 00 b3
  const unsigned char expected[16] = {0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1};
  for (int i = 0; i < 16; ++i) EXPECT_EQ(bytes[i], expected[i]) << "element " << i;
}

}  // namespace
}  // namespace halfcast
