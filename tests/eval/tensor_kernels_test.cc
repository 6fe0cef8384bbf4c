// Data-movement kernels (kernels/tensor.cc): each op on hand-computed cases, its opset
// variants, and bad input as a clear error.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "eval/kernel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "halfcast/tensor.h"
#include "tensor_kernel_test_util.h"
#include "testing/status_matchers.h"

namespace halfcast::eval {
namespace {

using ::halfcast::eval::testing::Ints;
using ::halfcast::eval::testing::Make;
using ::halfcast::eval::testing::Run1;
using ::halfcast::eval::testing::RunError;
using ::halfcast::eval::testing::RunNode;
using ::halfcast::eval::testing::Values;
using ::halfcast::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using Shape = std::vector<int64_t>;

Tensor Ints(Shape shape, const std::vector<int64_t>& values) { return Make(shape, values); }
Tensor Floats(Shape shape, const std::vector<float>& values) { return Make(shape, values); }
Tensor Halves(Shape shape, const std::vector<uint16_t>& bits) {
  return Tensor::Copy(DataType::kFloat16, std::move(shape), bits.data());
}

TEST(ReshapeTest, ZeroCopiesAndMinusOneInfers) {
  const Tensor x = Floats({2, 3, 4}, std::vector<float>(24, 1.0f));
  const Tensor shape = Ints({0, -1, 2});
  const Tensor y = Run1("y = Reshape(x, s)", 13, {&x, &shape});
  EXPECT_EQ(y.shape(), (Shape{2, 6, 2}));
  EXPECT_EQ(Values<float>(y), std::vector<float>(24, 1.0f));
}

TEST(ReshapeTest, AllowZeroMakesAZeroDimension) {
  const Tensor x = Floats({0, 3}, {});
  const Tensor shape = Ints({3, 0});
  EXPECT_EQ(Run1("y = Reshape <allowzero = 1> (x, s)", 14, {&x, &shape}).shape(), (Shape{3, 0}));
  // Without allowzero (or before opset 14) the 0 copies dimension 1: [3, 3] has 9 != 0 elements.
  EXPECT_THAT(RunError("y = Reshape <allowzero = 1> (x, s)", 13, {&x, &shape}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cannot reshape")));
}

TEST(ReshapeTest, BadShapesAreErrors) {
  const Tensor x = Floats({2, 3}, std::vector<float>(6));
  const Tensor two_inferred = Ints({-1, -1});
  const Tensor wrong_count = Ints({4, 2});
  const Tensor not_divisible = Ints({4, -1});
  EXPECT_THAT(RunError("y = Reshape(x, s)", 13, {&x, &two_inferred}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("more than one -1")));
  EXPECT_THAT(RunError("y = Reshape(x, s)", 13, {&x, &wrong_count}),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  EXPECT_THAT(RunError("y = Reshape(x, s)", 13, {&x, &not_divisible}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cannot infer")));
}

TEST(ShapeTest, StartAndEndFromOpset15) {
  const Tensor x = Floats({2, 3, 4, 5}, std::vector<float>(120));
  EXPECT_THAT(Values<int64_t>(Run1("y = Shape <start = 1, end = -1> (x)", 15, {&x})),
              ElementsAre(3, 4));
  EXPECT_THAT(Values<int64_t>(Run1("y = Shape <start = -10, end = 10> (x)", 15, {&x})),
              ElementsAre(2, 3, 4, 5));
  EXPECT_EQ(Run1("y = Shape <start = 3, end = 1> (x)", 15, {&x}).shape(), (Shape{0}));
  // Before 15 the attributes do not exist.
  EXPECT_THAT(Values<int64_t>(Run1("y = Shape <start = 1> (x)", 13, {&x})),
              ElementsAre(2, 3, 4, 5));
}

TEST(SizeTest, IsAnInt64Scalar) {
  const Tensor x = Floats({2, 3, 0}, {});
  const Tensor y = Run1("y = Size(x)", 13, {&x});
  EXPECT_TRUE(y.shape().empty());
  EXPECT_THAT(Values<int64_t>(y), ElementsAre(0));
}

TEST(ConcatTest, NegativeAxis) {
  const Tensor a = Ints({2, 1}, {1, 2});
  const Tensor b = Ints({2, 2}, {3, 4, 5, 6});
  const Tensor y = Run1("y = Concat <axis = -1> (a, b)", 13, {&a, &b});
  EXPECT_EQ(y.shape(), (Shape{2, 3}));
  EXPECT_THAT(Values<int64_t>(y), ElementsAre(1, 3, 4, 2, 5, 6));
}

TEST(ConcatTest, MismatchedShapesAndTypesAreErrors) {
  const Tensor a = Ints({2, 1}, {1, 2});
  const Tensor b = Ints({3, 1}, {3, 4, 5});
  const Tensor c = Floats({2, 1}, {1, 2});
  EXPECT_THAT(RunError("y = Concat <axis = 1> (a, b)", 13, {&a, &b}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("incompatible")));
  EXPECT_THAT(RunError("y = Concat <axis = 1> (a, c)", 13, {&a, &c}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("float")));
  EXPECT_THAT(RunError("y = Concat <axis = 2> (a, a)", 13, {&a, &a}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("out of range")));
}

TEST(ConcatTest, Strings) {
  const Tensor a = Tensor::Strings({1}, {"a"});
  const Tensor b = Tensor::Strings({2}, {"b", "c"});
  EXPECT_THAT(Run1("y = Concat <axis = 0> (a, b)", 13, {&a, &b}).strings(),
              ElementsAre("a", "b", "c"));
}

TEST(SplitTest, AttributeBefore13InputFrom13) {
  const Tensor x = Ints({2, 3}, {1, 2, 3, 4, 5, 6});
  absl::StatusOr<std::vector<Tensor>> parts =
      RunNode("a, b = Split <axis = 1, split = [1, 2]> (x)", 11, {&x});
  ASSERT_TRUE(parts.ok()) << parts.status();
  EXPECT_THAT(Values<int64_t>((*parts)[0]), ElementsAre(1, 4));
  EXPECT_THAT(Values<int64_t>((*parts)[1]), ElementsAre(2, 3, 5, 6));
  const Tensor sizes = Ints({2, 1});
  parts = RunNode("a, b = Split <axis = -1> (x, s)", 13, {&x, &sizes});
  ASSERT_TRUE(parts.ok()) << parts.status();
  EXPECT_EQ((*parts)[0].shape(), (Shape{2, 2}));
  EXPECT_THAT(Values<int64_t>((*parts)[0]), ElementsAre(1, 2, 4, 5));
  EXPECT_THAT(Values<int64_t>((*parts)[1]), ElementsAre(3, 6));
}

TEST(SplitTest, UnevenSplitOnlyWithNumOutputsFrom18) {
  const Tensor x = Ints({7}, {0, 1, 2, 3, 4, 5, 6});
  absl::StatusOr<std::vector<Tensor>> parts =
      RunNode("a, b, c = Split <num_outputs = 3> (x)", 18, {&x});
  ASSERT_TRUE(parts.ok()) << parts.status();
  EXPECT_THAT(Values<int64_t>((*parts)[0]), ElementsAre(0, 1, 2));
  EXPECT_THAT(Values<int64_t>((*parts)[1]), ElementsAre(3, 4, 5));
  EXPECT_THAT(Values<int64_t>((*parts)[2]), ElementsAre(6));
  EXPECT_THAT(RunError("a, b, c = Split(x)", 13, {&x}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("equal parts")));
  const Tensor bad = Ints({3, 3});
  EXPECT_THAT(RunError("a, b = Split(x, s)", 13, {&x, &bad}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("add up to 6")));
  // A node without outputs is an error, not a division by zero.
  onnx::NodeProto no_outputs;
  no_outputs.set_op_type("Split");
  const Value x_value = x;
  KernelContext context(no_outputs, 13, {&x_value}, 1, nullptr);
  EXPECT_THAT(FindKernel("", "Split", 13)->fn(context),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no outputs")));
}

TEST(SliceTest, NegativeStepReversesAndClamps) {
  const Tensor x = Ints({5}, {0, 1, 2, 3, 4});
  const Tensor starts = Ints({-1}), ends = Ints({std::numeric_limits<int64_t>::min()});
  const Tensor axes = Ints({0}), steps = Ints({-2});
  EXPECT_THAT(
      Values<int64_t>(Run1("y = Slice(x, s, e, a, t)", 13, {&x, &starts, &ends, &axes, &steps})),
      ElementsAre(4, 2, 0));
  const Tensor big_start = Ints({100}), big_end = Ints({-100}), minus_one = Ints({-1});
  EXPECT_THAT(Values<int64_t>(Run1("y = Slice(x, s, e, a, t)", 13,
                                   {&x, &big_start, &big_end, &axes, &minus_one})),
              ElementsAre(4, 3, 2, 1, 0));
  const Tensor zero = Ints({0}), huge = Ints({1000});
  EXPECT_THAT(Values<int64_t>(Run1("y = Slice(x, s, e)", 13, {&x, &zero, &huge})),
              ElementsAre(0, 1, 2, 3, 4));
  EXPECT_EQ(Run1("y = Slice(x, s, e)", 13, {&x, &huge, &zero}).shape(), (Shape{0}));
}

TEST(SliceTest, AxesAndStepsOn2D) {
  const Tensor x = Ints({2, 4}, {0, 1, 2, 3, 4, 5, 6, 7});
  const Tensor starts = Ints({1}), ends = Ints({4}), axes = Ints({-1}), steps = Ints({2});
  const Tensor y = Run1("y = Slice(x, s, e, a, t)", 13, {&x, &starts, &ends, &axes, &steps});
  EXPECT_EQ(y.shape(), (Shape{2, 2}));
  EXPECT_THAT(Values<int64_t>(y), ElementsAre(1, 3, 5, 7));
}

TEST(SliceTest, AttributesBeforeOpset10) {
  const Tensor x = Ints({2, 4}, {0, 1, 2, 3, 4, 5, 6, 7});
  const Tensor y = Run1("y = Slice <starts = [1, 1], ends = [2, -1], axes = [0, 1]> (x)", 9, {&x});
  EXPECT_EQ(y.shape(), (Shape{1, 2}));
  EXPECT_THAT(Values<int64_t>(y), ElementsAre(5, 6));
}

TEST(SliceTest, ZeroStepAndRepeatedAxisAreErrors) {
  const Tensor x = Ints({5}, {0, 1, 2, 3, 4});
  const Tensor zero = Ints({0}), one = Ints({1}), axes = Ints({0, 0}), two = Ints({0, 0});
  EXPECT_THAT(RunError("y = Slice(x, s, e, a, t)", 13, {&x, &zero, &one, &zero, &zero}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("step")));
  EXPECT_THAT(RunError("y = Slice(x, s, e, a)", 13, {&x, &two, &two, &axes}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("repeated")));
}

TEST(GatherTest, AxisAndNegativeIndices) {
  const Tensor x = Floats({2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor indices = Ints({2, 1}, {-1, 0});
  const Tensor y = Run1("y = Gather <axis = 1> (x, i)", 13, {&x, &indices});
  EXPECT_EQ(y.shape(), (Shape{2, 2, 1}));
  EXPECT_THAT(Values<float>(y), ElementsAre(3, 1, 6, 4));
}

TEST(GatherTest, OutOfRangeIndexIsAnError) {
  const Tensor x = Floats({3}, {1, 2, 3});
  const Tensor too_big = Ints({3}), too_small = Ints({-4});
  EXPECT_THAT(RunError("y = Gather(x, i)", 13, {&x, &too_big}),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("index 3")));
  EXPECT_THAT(RunError("y = Gather(x, i)", 13, {&x, &too_small}),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("index -4")));
  const Tensor float_indices = Floats({1}, {0});
  EXPECT_THAT(RunError("y = Gather(x, i)", 13, {&x, &float_indices}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("int32 or int64")));
}

TEST(GatherTest, Strings) {
  const Tensor x = Tensor::Strings({3}, {"a", "b", "c"});
  const Tensor indices = Make<int32_t>({2}, {2, 0});
  EXPECT_THAT(Run1("y = Gather(x, i)", 13, {&x, &indices}).strings(), ElementsAre("c", "a"));
}

TEST(GatherElementsTest, SpecExampleAndBounds) {
  const Tensor x = Ints({2, 2}, {1, 2, 3, 4});
  const Tensor indices = Ints({2, 2}, {0, 0, 1, 0});
  EXPECT_THAT(Values<int64_t>(Run1("y = GatherElements <axis = 1> (x, i)", 13, {&x, &indices})),
              ElementsAre(1, 1, 4, 3));
  // Indices smaller than the data along the other axes.
  const Tensor x3 = Ints({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  const Tensor column = Ints({2, 1}, {-1, 0});
  EXPECT_THAT(Values<int64_t>(Run1("y = GatherElements <axis = 0> (x, i)", 13, {&x3, &column})),
              ElementsAre(7, 1));
  const Tensor bad = Ints({2, 2}, {0, 2, 0, 0});
  EXPECT_THAT(RunError("y = GatherElements <axis = 1> (x, i)", 13, {&x, &bad}),
              StatusIs(absl::StatusCode::kOutOfRange, ::testing::_));
}

TEST(GatherNDTest, BatchDims) {
  const Tensor x = Ints({2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  const Tensor indices = Ints({2, 1}, {1, 0});
  const Tensor y = Run1("y = GatherND <batch_dims = 1> (x, i)", 13, {&x, &indices});
  EXPECT_EQ(y.shape(), (Shape{2, 2}));
  EXPECT_THAT(Values<int64_t>(y), ElementsAre(2, 3, 4, 5));
  const Tensor full = Ints({2, 3}, {0, 1, 1, 1, 0, -1});
  EXPECT_THAT(Values<int64_t>(Run1("y = GatherND(x, i)", 13, {&x, &full})), ElementsAre(3, 5));
  const Tensor too_long = Ints({1, 4}, {0, 0, 0, 0});
  EXPECT_THAT(RunError("y = GatherND(x, i)", 13, {&x, &too_long}),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
}

TEST(ScatterElementsTest, ReductionsFromOpset16) {
  const Tensor x = Floats({1, 5}, {1, 2, 3, 4, 5});
  const Tensor indices = Ints({1, 2}, {1, 1});
  const Tensor updates = Floats({1, 2}, {1.5f, 2.5f});
  EXPECT_THAT(Values<float>(Run1("y = ScatterElements <axis = 1, reduction = \"add\"> (x, i, u)",
                                 16, {&x, &indices, &updates})),
              ElementsAre(1, 6, 3, 4, 5));
  EXPECT_THAT(Values<float>(Run1("y = ScatterElements <axis = 1, reduction = \"mul\"> (x, i, u)",
                                 16, {&x, &indices, &updates})),
              ElementsAre(1, 7.5f, 3, 4, 5));
  EXPECT_THAT(Values<float>(Run1("y = ScatterElements <axis = 1, reduction = \"max\"> (x, i, u)",
                                 18, {&x, &indices, &updates})),
              ElementsAre(1, 2.5f, 3, 4, 5));
  const Tensor negative = Ints({1, 1}, {-1});
  const Tensor one = Floats({1, 1}, {9});
  EXPECT_THAT(
      Values<float>(Run1("y = ScatterElements <axis = 1> (x, i, u)", 13, {&x, &negative, &one})),
      ElementsAre(1, 2, 3, 4, 9));
}

TEST(ScatterElementsTest, IntegerOverflowAndBadIndexAreErrors) {
  const Tensor x = Make<int32_t>({2}, {std::numeric_limits<int32_t>::max(), 0});
  const Tensor indices = Ints({1}, {0});
  const Tensor updates = Make<int32_t>({1}, {1});
  EXPECT_THAT(
      RunError("y = ScatterElements <reduction = \"add\"> (x, i, u)", 16, {&x, &indices, &updates}),
      StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("overflow")));
  const Tensor bad = Ints({1}, {2});
  EXPECT_THAT(RunError("y = ScatterElements(x, i, u)", 16, {&x, &bad, &updates}),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("index 2")));
}

TEST(ScatterNDTest, SlicesAndMultiply) {
  const Tensor x = Ints({2, 2}, {1, 2, 3, 4});
  const Tensor indices = Ints({2, 1}, {1, 1});
  const Tensor updates = Ints({2, 2}, {10, 20, 2, 3});
  EXPECT_THAT(Values<int64_t>(Run1("y = ScatterND <reduction = \"mul\"> (x, i, u)", 16,
                                   {&x, &indices, &updates})),
              ElementsAre(1, 2, 60, 240));
  EXPECT_THAT(Values<int64_t>(Run1("y = ScatterND(x, i, u)", 13, {&x, &indices, &updates})),
              ElementsAre(1, 2, 2, 3));
  const Tensor wrong = Ints({2}, {1, 2});
  EXPECT_THAT(RunError("y = ScatterND(x, i, u)", 13, {&x, &indices, &wrong}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("updates")));
}

TEST(SqueezeTest, AxesAttributeThenInput) {
  const Tensor x = Floats({1, 3, 1}, {1, 2, 3});
  EXPECT_EQ(Run1("y = Squeeze <axes = [-1]> (x)", 11, {&x}).shape(), (Shape{1, 3}));
  EXPECT_EQ(Run1("y = Squeeze(x)", 13, {&x}).shape(), (Shape{3}));
  const Tensor axes = Ints({0});
  EXPECT_EQ(Run1("y = Squeeze(x, a)", 13, {&x, &axes}).shape(), (Shape{3, 1}));
  const Tensor bad = Ints({1});
  EXPECT_THAT(RunError("y = Squeeze(x, a)", 13, {&x, &bad}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("size 3")));
}

TEST(UnsqueezeTest, AxesCountAgainstTheOutputRank) {
  const Tensor x = Floats({3}, {1, 2, 3});
  const Tensor axes = Ints({-1, 0});
  const Tensor y = Run1("y = Unsqueeze(x, a)", 13, {&x, &axes});
  EXPECT_EQ(y.shape(), (Shape{1, 3, 1}));
  EXPECT_THAT(Values<float>(y), ElementsAre(1, 2, 3));
  EXPECT_EQ(Run1("y = Unsqueeze <axes = [1]> (x)", 11, {&x}).shape(), (Shape{3, 1}));
  const Tensor bad = Ints({2, -1});
  EXPECT_THAT(RunError("y = Unsqueeze(x, a)", 13, {&x, &bad}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("repeated")));
}

TEST(FlattenTest, Axes) {
  const Tensor x = Floats({2, 3, 4}, std::vector<float>(24));
  EXPECT_EQ(Run1("y = Flatten <axis = 0> (x)", 13, {&x}).shape(), (Shape{1, 24}));
  EXPECT_EQ(Run1("y = Flatten(x)", 13, {&x}).shape(), (Shape{2, 12}));
  EXPECT_EQ(Run1("y = Flatten <axis = -1> (x)", 13, {&x}).shape(), (Shape{6, 4}));
  EXPECT_EQ(Run1("y = Flatten <axis = 3> (x)", 13, {&x}).shape(), (Shape{24, 1}));
}

TEST(TransposeTest, PermAndDefault) {
  const Tensor x = Ints({2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor y = Run1("y = Transpose(x)", 13, {&x});
  EXPECT_EQ(y.shape(), (Shape{3, 2}));
  EXPECT_THAT(Values<int64_t>(y), ElementsAre(1, 4, 2, 5, 3, 6));
  const Tensor x3 = Ints({2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  EXPECT_THAT(Values<int64_t>(Run1("y = Transpose <perm = [1, 0, 2]> (x)", 13, {&x3})),
              ElementsAre(0, 1, 4, 5, 2, 3, 6, 7));
  EXPECT_THAT(RunError("y = Transpose <perm = [0, 0]> (x)", 13, {&x}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("permutation")));
}

TEST(TransposeTest, Float16BitsPassThrough) {
  // A signalling NaN payload and -0 survive: the op moves bits, it never converts.
  const Tensor x = Halves({2, 1}, {0x7D01, 0x8000});
  const Tensor y = Run1("y = Transpose(x)", 13, {&x});
  EXPECT_EQ(y.type(), DataType::kFloat16);
  EXPECT_THAT(Values<uint16_t>(y), ElementsAre(0x7D01, 0x8000));
  const KernelDef* def = FindKernel("", "Transpose", 13);
  ASSERT_NE(def, nullptr);
  EXPECT_TRUE(def->exact_16bit);
}

TEST(ExpandTest, BidirectionalBroadcast) {
  const Tensor x = Ints({3, 1}, {1, 2, 3});
  const Tensor shape = Ints({2, 1, 2});
  const Tensor y = Run1("y = Expand(x, s)", 13, {&x, &shape});
  EXPECT_EQ(y.shape(), (Shape{2, 3, 2}));
  EXPECT_THAT(Values<int64_t>(y), ElementsAre(1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3));
  const Tensor bad = Ints({2, 2});
  EXPECT_THAT(RunError("y = Expand(x, s)", 13, {&x, &bad}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("broadcast")));
}

TEST(TileTest, RepeatsAndOverflow) {
  const Tensor x = Ints({2, 2}, {1, 2, 3, 4});
  const Tensor repeats = Ints({2, 2});
  const Tensor y = Run1("y = Tile(x, r)", 13, {&x, &repeats});
  EXPECT_EQ(y.shape(), (Shape{4, 4}));
  EXPECT_THAT(Values<int64_t>(y), ElementsAre(1, 2, 1, 2, 3, 4, 3, 4, 1, 2, 1, 2, 3, 4, 3, 4));
  const Tensor huge = Ints({int64_t{1} << 62, int64_t{1} << 62});
  EXPECT_FALSE(RunError("y = Tile(x, r)", 13, {&x, &huge}).ok());
}

TEST(PadTest, Modes) {
  const Tensor x = Floats({3}, {1, 2, 3});
  const Tensor pads = Ints({2, 2});
  EXPECT_THAT(Values<float>(Run1("y = Pad <mode = \"reflect\"> (x, p)", 13, {&x, &pads})),
              ElementsAre(3, 2, 1, 2, 3, 2, 1));
  EXPECT_THAT(Values<float>(Run1("y = Pad <mode = \"edge\"> (x, p)", 13, {&x, &pads})),
              ElementsAre(1, 1, 1, 2, 3, 3, 3));
  EXPECT_THAT(Values<float>(Run1("y = Pad <mode = \"wrap\"> (x, p)", 19, {&x, &pads})),
              ElementsAre(2, 3, 1, 2, 3, 1, 2));
  const Tensor value = Floats({}, {7});
  EXPECT_THAT(Values<float>(Run1("y = Pad(x, p, v)", 13, {&x, &pads, &value})),
              ElementsAre(7, 7, 1, 2, 3, 7, 7));
  EXPECT_THAT(Values<float>(Run1("y = Pad <pads = [1, 0], value = 5.0> (x)", 2, {&x})),
              ElementsAre(5, 1, 2, 3));
}

TEST(PadTest, NegativePadsCropAndAxesInput) {
  const Tensor x = Ints({2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor pads = Ints({0, -1, 1, 1});
  const Tensor y = Run1("y = Pad(x, p)", 13, {&x, &pads});
  EXPECT_EQ(y.shape(), (Shape{3, 3}));
  EXPECT_THAT(Values<int64_t>(y), ElementsAre(2, 3, 0, 5, 6, 0, 0, 0, 0));
  const Tensor axes = Ints({-1});
  const Tensor axis_pads = Ints({1, 0});
  EXPECT_THAT(Values<int64_t>(Run1("y = Pad <mode = \"edge\"> (x, p, , a)", 18,
                                   {&x, &axis_pads, nullptr, &axes})),
              ElementsAre(1, 1, 2, 3, 4, 4, 5, 6));
  const Tensor too_negative = Ints({0, -4, 0, 0});
  EXPECT_THAT(RunError("y = Pad(x, p)", 13, {&x, &too_negative}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("do not fit")));
}

TEST(PadTest, Float16ConstantIsExact) {
  const Tensor x = Halves({1}, {0x3C01});
  const Tensor pads = Ints({1, 0});
  EXPECT_THAT(Values<uint16_t>(Run1("y = Pad <pads = [0, 1], value = 0.1> (x)", 2, {&x})),
              ElementsAre(0x3C01, 0x2E66));  // 0.1 rounded to the nearest half
  const Tensor value = Halves({}, {0xFC00});
  EXPECT_THAT(Values<uint16_t>(Run1("y = Pad(x, p, v)", 13, {&x, &pads, &value})),
              ElementsAre(0xFC00, 0x3C01));
}

TEST(NonZeroTest, IndicesAndFloat16Zeros) {
  const Tensor x = Ints({2, 2}, {1, 0, 1, 1});
  const Tensor y = Run1("y = NonZero(x)", 13, {&x});
  EXPECT_EQ(y.shape(), (Shape{2, 3}));
  EXPECT_THAT(Values<int64_t>(y), ElementsAre(0, 1, 1, 0, 0, 1));
  // -0 is zero, NaN and the smallest subnormal are not.
  const Tensor h = Halves({4}, {0x8000, 0x0001, 0x0000, 0x7E00});
  EXPECT_THAT(Values<int64_t>(Run1("y = NonZero(x)", 13, {&h})), ElementsAre(1, 3));
}

TEST(OneHotTest, NegativeAndOutOfRangeIndices) {
  const Tensor indices = Ints({3}, {0, -1, 5});
  const Tensor depth = Floats({}, {3});
  const Tensor values = Ints({2}, {0, 1});
  const Tensor y = Run1("y = OneHot(i, d, v)", 11, {&indices, &depth, &values});
  EXPECT_EQ(y.shape(), (Shape{3, 3}));
  EXPECT_THAT(Values<int64_t>(y), ElementsAre(1, 0, 0, 0, 0, 1, 0, 0, 0));
  const Tensor y0 = Run1("y = OneHot <axis = 0> (i, d, v)", 11, {&indices, &depth, &values});
  EXPECT_EQ(y0.shape(), (Shape{3, 3}));
  EXPECT_THAT(Values<int64_t>(y0), ElementsAre(1, 0, 0, 0, 0, 0, 0, 1, 0));
  const Tensor zero_depth = Ints({}, {0});
  EXPECT_THAT(RunError("y = OneHot(i, d, v)", 11, {&indices, &zero_depth, &values}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("depth")));
}

TEST(TriluTest, UpperAndLowerWithK) {
  const Tensor x = Ints({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  const Tensor k1 = Ints({}, {1});
  EXPECT_THAT(Values<int64_t>(Run1("y = Trilu(x, k)", 14, {&x, &k1})),
              ElementsAre(0, 2, 3, 0, 0, 6, 0, 0, 0));
  const Tensor km1 = Ints({}, {-1});
  EXPECT_THAT(Values<int64_t>(Run1("y = Trilu <upper = 0> (x, k)", 14, {&x, &km1})),
              ElementsAre(0, 0, 0, 4, 0, 0, 7, 8, 0));
  EXPECT_THAT(Values<int64_t>(Run1("y = Trilu <upper = 0> (x)", 14, {&x})),
              ElementsAre(1, 0, 0, 4, 5, 0, 7, 8, 9));
  const Tensor huge = Ints({}, {std::numeric_limits<int64_t>::max()});
  EXPECT_THAT(Values<int64_t>(Run1("y = Trilu <upper = 0> (x, k)", 14, {&x, &huge})),
              ElementsAre(1, 2, 3, 4, 5, 6, 7, 8, 9));
  EXPECT_THAT(Values<int64_t>(Run1("y = Trilu(x, k)", 14, {&x, &huge})),
              ElementsAre(0, 0, 0, 0, 0, 0, 0, 0, 0));
}

// DepthToSpace and SpaceToDepth against the index formulas of the ONNX spec.
TEST(DepthToSpaceTest, ModesMatchTheSpecFormulas) {
  const int64_t n = 2, c = 8, h = 2, w = 3, b = 2, oc = c / (b * b);
  std::vector<float> values(n * c * h * w);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i);
  const Tensor x = Floats({n, c, h, w}, values);
  const Tensor dcr = Run1("y = DepthToSpace <blocksize = 2> (x)", 13, {&x});
  const Tensor crd = Run1("y = DepthToSpace <blocksize = 2, mode = \"CRD\"> (x)", 13, {&x});
  ASSERT_EQ(dcr.shape(), (Shape{n, oc, h * b, w * b}));
  ASSERT_EQ(crd.shape(), (Shape{n, oc, h * b, w * b}));
  for (int64_t in = 0; in < n; ++in) {
    for (int64_t ic = 0; ic < oc; ++ic) {
      for (int64_t y = 0; y < h * b; ++y) {
        for (int64_t xx = 0; xx < w * b; ++xx) {
          const int64_t b1 = y % b, b2 = xx % b;
          const int64_t out = ((in * oc + ic) * h * b + y) * w * b + xx;
          const int64_t dcr_channel = (b1 * b + b2) * oc + ic;
          const int64_t crd_channel = (ic * b + b1) * b + b2;
          EXPECT_EQ(dcr.data<float>()[out],
                    values[((in * c + dcr_channel) * h + y / b) * w + xx / b]);
          EXPECT_EQ(crd.data<float>()[out],
                    values[((in * c + crd_channel) * h + y / b) * w + xx / b]);
        }
      }
    }
  }
  // SpaceToDepth inverts DCR DepthToSpace.
  const Tensor back = Run1("y = SpaceToDepth <blocksize = 2> (x)", 13, {&dcr});
  EXPECT_EQ(back.shape(), x.shape());
  EXPECT_EQ(Values<float>(back), values);
  const Tensor odd = Floats({1, 3, 2, 2}, std::vector<float>(12));
  EXPECT_THAT(RunError("y = DepthToSpace <blocksize = 2> (x)", 13, {&odd}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("multiple")));
}

TEST(CompressTest, WithAndWithoutAxis) {
  const Tensor x = Ints({3, 2}, {1, 2, 3, 4, 5, 6});
  const std::vector<uint8_t> second_flags = {0, 1};
  const Tensor second_bool = Tensor::Copy(DataType::kBool, {2}, second_flags.data());
  const Tensor y = Run1("y = Compress <axis = 1> (x, c)", 11, {&x, &second_bool});
  EXPECT_EQ(y.shape(), (Shape{3, 1}));
  EXPECT_THAT(Values<int64_t>(y), ElementsAre(2, 4, 6));
  const std::vector<uint8_t> flags = {0, 1, 1, 0, 1};
  const Tensor flat = Tensor::Copy(DataType::kBool, {5}, flags.data());
  EXPECT_THAT(Values<int64_t>(Run1("y = Compress(x, c)", 11, {&x, &flat})), ElementsAre(2, 3, 5));
  const std::vector<uint8_t> long_flags = {0, 0, 1};
  const Tensor too_long = Tensor::Copy(DataType::kBool, {3}, long_flags.data());
  EXPECT_THAT(RunError("y = Compress <axis = 1> (x, c)", 11, {&x, &too_long}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("index 2")));
}

TEST(ReverseSequenceTest, ReversesEachBatchUpToItsLength) {
  // x[t, b] = 2t + b with time_axis 0, batch_axis 1.
  const Tensor x = Ints({4, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  const Tensor lens = Ints({3, 1});
  EXPECT_THAT(Values<int64_t>(Run1("y = ReverseSequence(x, l)", 10, {&x, &lens})),
              ElementsAre(4, 1, 2, 3, 0, 5, 6, 7));
  const Tensor too_long = Ints({5, 1});
  EXPECT_THAT(RunError("y = ReverseSequence(x, l)", 10, {&x, &too_long}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("outside")));
}

TEST(UniqueTest, SortedAndFirstOccurrenceOrder) {
  const Tensor x = Floats({6}, {2, 1, 1, 3, 4, 3});
  absl::StatusOr<std::vector<Tensor>> out =
      RunNode("y, i, v, c = Unique <sorted = 0> (x)", 11, {&x});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(Values<float>((*out)[0]), ElementsAre(2, 1, 3, 4));
  EXPECT_THAT(Values<int64_t>((*out)[1]), ElementsAre(0, 1, 3, 4));
  EXPECT_THAT(Values<int64_t>((*out)[2]), ElementsAre(0, 1, 1, 2, 3, 2));
  EXPECT_THAT(Values<int64_t>((*out)[3]), ElementsAre(1, 2, 2, 1));
  out = RunNode("y, i, v, c = Unique(x)", 11, {&x});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(Values<float>((*out)[0]), ElementsAre(1, 2, 3, 4));
  EXPECT_THAT(Values<int64_t>((*out)[1]), ElementsAre(1, 0, 3, 4));
  EXPECT_THAT(Values<int64_t>((*out)[2]), ElementsAre(1, 0, 0, 2, 3, 2));
  EXPECT_THAT(Values<int64_t>((*out)[3]), ElementsAre(2, 1, 2, 1));
}

TEST(UniqueTest, SlicesAlongAnAxis) {
  // Columns (1, 1), (0, 0), (0, 0).
  const Tensor x = Ints({2, 3}, {1, 0, 0, 1, 0, 0});
  absl::StatusOr<std::vector<Tensor>> out =
      RunNode("y, i, v, c = Unique <axis = -1> (x)", 11, {&x});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].shape(), (Shape{2, 2}));
  EXPECT_THAT(Values<int64_t>((*out)[0]), ElementsAre(0, 1, 0, 1));
  EXPECT_THAT(Values<int64_t>((*out)[1]), ElementsAre(1, 0));
  EXPECT_THAT(Values<int64_t>((*out)[2]), ElementsAre(1, 0, 0));
  EXPECT_THAT(Values<int64_t>((*out)[3]), ElementsAre(2, 1));
}

}  // namespace
}  // namespace halfcast::eval
