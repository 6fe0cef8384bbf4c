// The helpers behind run, compare and auto: feeds from files and from the random generator,
// type matching, output file names, and numpy.allclose-style comparison.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "cli/compare.h"
#include "cli/feeds.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "numerics/float16.h"
#include "testing/onnx_text.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace halfcast::cli {
namespace {

using ::halfcast::testing::ParseModelText;
using ::halfcast::testing::StatusIs;
using ::halfcast::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

Tensor Floats(std::vector<int64_t> shape, std::vector<float> values) {
  return Tensor::Copy(DataType::kFloat, std::move(shape), values.data());
}

constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(CompareTensorsTest, FollowsNumpyAllclose) {
  const Tensor reference = Floats({3}, {1.0f, -2.0f, 0.0f});
  ASSERT_OK_AND_ASSIGN(TensorComparison same, CompareTensors(reference, reference, 0, 0));
  EXPECT_TRUE(same.close());
  EXPECT_EQ(same.max_abs_error, 0);

  // |c - r| <= atol + rtol * |r|, with r the reference: 1.01 vs 1 passes rtol 0.01 exactly;
  // the zero reference needs atol.
  const Tensor candidate = Floats({3}, {1.01f, -2.0f, 0.001f});
  ASSERT_OK_AND_ASSIGN(TensorComparison loose, CompareTensors(reference, candidate, 0.02, 0.002));
  EXPECT_TRUE(loose.close());
  EXPECT_NEAR(loose.max_abs_error, 0.01, 1e-6);
  // Relative error skips zero references: 0.01 / 1, not 0.001 / 0.
  EXPECT_NEAR(loose.max_rel_error, 0.01, 1e-6);

  ASSERT_OK_AND_ASSIGN(TensorComparison tight, CompareTensors(reference, candidate, 0.02, 0));
  EXPECT_FALSE(tight.close());
  EXPECT_EQ(tight.not_close, 1);  // only the element whose reference is 0
  ASSERT_OK_AND_ASSIGN(TensorComparison none, CompareTensors(reference, candidate, 0, 0));
  EXPECT_EQ(none.not_close, 2);
}

TEST(CompareTensorsTest, NanNeverCloseInfOnlyToItself) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  ASSERT_OK_AND_ASSIGN(TensorComparison nans,
                       CompareTensors(Floats({1}, {nan}), Floats({1}, {nan}), 1, 1));
  EXPECT_FALSE(nans.close());
  ASSERT_OK_AND_ASSIGN(TensorComparison infs,
                       CompareTensors(Floats({2}, {inf, -inf}), Floats({2}, {inf, -inf}), 0, 0));
  EXPECT_TRUE(infs.close());
  EXPECT_EQ(infs.max_abs_error, 0);
  ASSERT_OK_AND_ASSIGN(TensorComparison overflow,
                       CompareTensors(Floats({1}, {70000}), Floats({1}, {inf}), 1, 1));
  EXPECT_FALSE(overflow.close());
  EXPECT_EQ(overflow.max_abs_error, kInf);
}

TEST(CompareTensorsTest, ShapesMustMatch) {
  ASSERT_OK_AND_ASSIGN(TensorComparison result,
                       CompareTensors(Floats({2}, {1, 2}), Floats({1, 2}, {1, 2}), 1, 1));
  EXPECT_FALSE(result.same_shape);
  EXPECT_FALSE(result.close());
}

TEST(CompareTensorsTest, HalfCandidateAgainstFloatReference) {
  const Tensor reference = Floats({2}, {0.1f, 1000.3f});
  Tensor half = Tensor::Zeros(DataType::kFloat16, {2});
  half.mutable_data<uint16_t>()[0] = numerics::FloatToHalf(0.1f);
  half.mutable_data<uint16_t>()[1] = numerics::FloatToHalf(1000.3f);
  ASSERT_OK_AND_ASSIGN(TensorComparison result, CompareTensors(reference, half, 1e-3, 0));
  EXPECT_TRUE(result.close());
  // float16 spacing at 1000 is 0.5: 1000.3 is stored as 1000.5.
  EXPECT_NEAR(result.max_abs_error, 0.2, 1e-3);
  ASSERT_OK_AND_ASSIGN(TensorComparison strict, CompareTensors(reference, half, 1e-5, 0));
  EXPECT_FALSE(strict.close());
}

TEST(CompareTensorsTest, IntegersAndStrings) {
  const std::vector<int64_t> a = {1, 5};
  const std::vector<int64_t> b = {1, 7};
  ASSERT_OK_AND_ASSIGN(TensorComparison ints,
                       CompareTensors(Tensor::Copy(DataType::kInt64, {2}, a.data()),
                                      Tensor::Copy(DataType::kInt64, {2}, b.data()), 0, 0));
  EXPECT_EQ(ints.max_abs_error, 2);
  EXPECT_EQ(ints.not_close, 1);
  const Tensor strings = Tensor::Strings({1}, {"a"});
  EXPECT_THAT(CompareTensors(strings, strings, 0, 0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("string")));
}

TEST(SanitizeFileNameTest, ReplacesEverythingOutsideTheSafeSet) {
  EXPECT_EQ(SanitizeFileName("softmax_0.tmp_0"), "softmax_0.tmp_0");
  EXPECT_EQ(SanitizeFileName("a/b:0 c"), "a_b_0_c");
  EXPECT_EQ(SanitizeFileName("../x"), ".._x");
  EXPECT_EQ(SanitizeFileName("Z-9"), "Z-9");
  EXPECT_EQ(SanitizeFileName("\xc3\xa9"), "__");  // UTF-8 bytes of an accented letter
}

const char kModel[] = R"(
  <ir_version: 8, opset_import: ["" : 17]>
  g (float[N, 3] x, int64[2] n, float16[2] h) => (float[N, 3] y) {
    y = Relu(x)
  }
)";

TEST(ReadInputsTest, ReadsNpyAndRejectsBadSpecs) {
  TempDir dir;
  ASSERT_OK(WriteNpy(Floats({2}, {1.5f, -2}), dir.File("x.npy")));
  ASSERT_OK_AND_ASSIGN(ValueMap feeds, ReadInputs({"x=" + dir.File("x.npy")}));
  ASSERT_EQ(feeds.count("x"), 1u);
  EXPECT_EQ(feeds.at("x").tensor().data<float>()[0], 1.5f);
  EXPECT_THAT(
      ReadInputs({"x=" + dir.File("x.npy"), "x=" + dir.File("x.npy")}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'x' is given more than once")));
  EXPECT_THAT(ReadInputs({"x"}), StatusIs(absl::StatusCode::kInvalidArgument,
                                          HasSubstr("--input: expected NAME=VALUE")));
  absl::StatusOr<ValueMap> missing = ReadInputs({"x=" + dir.File("missing.npy")});
  EXPECT_FALSE(missing.ok());
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("missing.npy"));
}

// Sets come in test_data_set_N order (10 after 2); an unnamed input_K.pb feeds the K-th input
// to feed, NAME.npy the input NAME, also under its file-safe name.
TEST(ReadInputDirTest, SetsInNumericOrderAndInputsByNameOrPosition) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2] a, float[2] b) => (float[2] y) { y = Add(a, b) }
  )");
  model.mutable_graph()->mutable_input(1)->set_name("b/c");  // no file may be named so
  model.mutable_graph()->mutable_node(0)->set_input(1, "b/c");
  TempDir dir;
  auto write_pb = [&](const std::string& path, const std::string& name, float value) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path, std::ios::binary)
        << TensorToProto(Floats({2}, {value, value}), name).SerializeAsString();
  };
  for (int n : {10, 2, 0}) {
    const std::string set = dir.File("test_data_set_" + std::to_string(n));
    write_pb(set + "/input_0.pb", "", static_cast<float>(n));
    ASSERT_OK(WriteNpy(Floats({2}, {-1, -1}), set + "/b_c.npy"));
  }
  std::filesystem::create_directories(dir.File("test_data_set_x"));  // not a set
  ASSERT_OK_AND_ASSIGN(std::vector<FeedSet> sets, ReadInputDir(dir.path(), model));
  ASSERT_EQ(sets.size(), 3u);
  EXPECT_THAT(sets[0].label, ::testing::EndsWith("test_data_set_0"));
  EXPECT_THAT(sets[2].label, ::testing::EndsWith("test_data_set_10"));
  EXPECT_EQ(sets[1].feeds.at("a").tensor().data<float>()[0], 2.0f);
  EXPECT_EQ(sets[2].feeds.at("b/c").tensor().data<float>()[0], -1.0f);
  write_pb(dir.File("test_data_set_3/input_1.pb"), "", 1);  // position 1 is b/c
  write_pb(dir.File("test_data_set_3/input_0.pb"), "b/c", 1);
  EXPECT_THAT(ReadInputDir(dir.path(), model),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("both feed input 'b/c'")));
}

TEST(CheckFeedNamesTest, EveryInputFedAndNoStranger) {
  const onnx::ModelProto model = ParseModelText(kModel);
  ValueMap feeds = {{"x", Floats({1, 3}, {1, 2, 3})},
                     {"n", Tensor::Zeros(DataType::kInt64, {2})},
                     {"h", Floats({2}, {0, 0})}};
  EXPECT_OK(CheckFeedNames(model, feeds));
  feeds.erase("n");
  EXPECT_THAT(CheckFeedNames(model, feeds),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("input 'n'")));
  feeds["n"] = Tensor::Zeros(DataType::kInt64, {2});
  feeds["z"] = Floats({1}, {0});
  EXPECT_THAT(CheckFeedNames(model, feeds),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("no input 'z' (its inputs: x, n, h)")));
}

TEST(RandomFeedsTest, DeterministicUniformAndTyped) {
  const onnx::ModelProto model = ParseModelText(kModel);
  const std::map<std::string, std::vector<int64_t>> shapes = {{"x", {4, 3}}};
  ASSERT_OK_AND_ASSIGN(ValueMap first, CompleteWithRandomFeeds(model, {}, shapes, 7));
  ASSERT_OK_AND_ASSIGN(ValueMap again, CompleteWithRandomFeeds(model, {}, shapes, 7));
  ASSERT_OK_AND_ASSIGN(ValueMap other, CompleteWithRandomFeeds(model, {}, shapes, 8));
  const Tensor& x = first.at("x").tensor();
  EXPECT_EQ(x.type(), DataType::kFloat);
  EXPECT_THAT(x.shape(), ElementsAre(4, 3));
  bool differs = false;
  double sum = 0;
  for (int64_t i = 0; i < 12; ++i) {
    const float value = x.data<float>()[i];
    EXPECT_GE(value, -1.0f);
    EXPECT_LE(value, 1.0f);
    EXPECT_EQ(value, again.at("x").tensor().data<float>()[i]);
    differs = differs || value != other.at("x").tensor().data<float>()[i];
    sum += std::abs(value);
  }
  EXPECT_TRUE(differs);
  EXPECT_GT(sum, 0);
  EXPECT_EQ(first.at("n").tensor().type(), DataType::kInt64);
  EXPECT_EQ(first.at("n").tensor().data<int64_t>()[1], 0);
  EXPECT_EQ(first.at("h").tensor().type(), DataType::kFloat16);
  EXPECT_LE(std::abs(numerics::HalfToFloat(first.at("h").tensor().data<uint16_t>()[0])), 1.0f);
}

TEST(RandomFeedsTest, KeepsGivenFeedsAndChecksShapes) {
  const onnx::ModelProto model = ParseModelText(kModel);
  const ValueMap given = {{"x", Floats({1, 3}, {5, 6, 7})}};
  ASSERT_OK_AND_ASSIGN(ValueMap feeds, CompleteWithRandomFeeds(model, given, {}, 0));
  EXPECT_EQ(feeds.at("x").tensor().data<float>()[2], 7);
  EXPECT_EQ(feeds.size(), 3u);

  EXPECT_THAT(CompleteWithRandomFeeds(model, {}, {}, 0),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("input 'x' has a dynamic dimension 'N'; give --shape x=")));
  EXPECT_THAT(CompleteWithRandomFeeds(model, {}, {{"x", {2, 4}}}, 0),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--shape x=2,4 does not fit the model's declared shape")));
  EXPECT_THAT(CompleteWithRandomFeeds(model, {}, {{"x", {2}}}, 0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("does not fit")));
  EXPECT_THAT(CompleteWithRandomFeeds(model, {}, {{"q", {2}}}, 0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no input 'q'")));
  EXPECT_THAT(CompleteWithRandomFeeds(model, given, {{"x", {1, 3}}}, 0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("already given")));
}

TEST(MatchInputTypesTest, RoundsFloatFeedsForHalfInputs) {
  const onnx::ModelProto model = ParseModelText(kModel);
  const ValueMap feeds = {{"x", Floats({1, 3}, {0.1f, 0.2f, 0.3f})},
                           {"h", Floats({2}, {0.1f, 70000.0f})}};
  const ValueMap matched = MatchInputTypes(model, feeds);
  EXPECT_EQ(matched.at("x").tensor().type(), DataType::kFloat);  // declared float: unchanged
  ASSERT_EQ(matched.at("h").tensor().type(), DataType::kFloat16);
  EXPECT_EQ(matched.at("h").tensor().data<uint16_t>()[0], numerics::FloatToHalf(0.1f));
  EXPECT_EQ(matched.at("h").tensor().data<uint16_t>()[1], numerics::kHalfPositiveInfinity);
}

}  // namespace
}  // namespace halfcast::cli
