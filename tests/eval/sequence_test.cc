// Sequences and optionals: halfcast::Value and its protos, the sequence and optional kernels,
// and how Run and RunValues hand them over. ONNX's own cases for these ops run in
// conformance_test.cc; these cover the edges those do not (errors, float16, ownership).
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "halfcast/evaluator.h"
#include "halfcast/value.h"
#include "numerics/float16.h"
#include "testing/onnx_text.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace halfcast {
namespace {

using ::halfcast::testing::ParseModelText;
using ::halfcast::testing::StatusIs;
using ::halfcast::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

Tensor Floats(std::vector<int64_t> shape, std::vector<float> values) {
  return Tensor::Copy(DataType::kFloat, std::move(shape), values.data());
}

Tensor Int64(int64_t value) { return Tensor::Copy(DataType::kInt64, {}, &value); }

std::vector<float> Values(const Tensor& t) {
  return std::vector<float>(t.data<float>(), t.data<float>() + t.element_count());
}

void DeclareSequence(onnx::ValueInfoProto* value, DataType element) {
  testing::DeclareSequenceOf(value, static_cast<int32_t>(element));
}
void DeclareOptionalTensor(onnx::ValueInfoProto* value, DataType element) {
  testing::DeclareOptionalOf(value, static_cast<int32_t>(element));
}

TEST(ValueTest, KindsTypesAndSizes) {
  const Value tensor = Floats({2}, {1, 2});
  EXPECT_TRUE(tensor.is_tensor());
  EXPECT_EQ(tensor.TypeString(), "tensor(float)");
  const Value sequence = Value::Sequence(DataType::kFloat, {Floats({2}, {1, 2}), Floats({1}, {3})});
  EXPECT_EQ(sequence.TypeString(), "seq(tensor(float))");
  EXPECT_EQ(sequence.byte_size(), 12u);
  const Value optional = Value::OptionalOf(sequence);
  EXPECT_EQ(optional.TypeString(), "optional(seq(tensor(float)))");
  EXPECT_TRUE(optional.has_element());
  EXPECT_EQ(optional.byte_size(), 12u);
  const Value none = Value::NoneOf(DataType::kInt64);
  EXPECT_FALSE(none.has_element());
  EXPECT_EQ(none.TypeString(), "optional(tensor(int64))");
  EXPECT_EQ(none.byte_size(), 0u);
}

TEST(ValueTest, ProtosRoundTripThroughFilesByDeclaredType) {
  TempDir dir;
  onnx::ValueInfoProto seq_info;
  DeclareSequence(&seq_info, DataType::kFloat);
  const Value sequence = Value::Sequence(DataType::kFloat, {Floats({2}, {1, 2}), Floats({1}, {3})});
  ASSERT_OK(WriteValueProtoFile(sequence, "s", dir.File("s.pb")));
  std::string name;
  ASSERT_OK_AND_ASSIGN(Value back, ReadValueProtoFile(dir.File("s.pb"), seq_info.type(), &name));
  EXPECT_EQ(name, "s");
  ASSERT_TRUE(back.is_sequence());
  ASSERT_EQ(back.elements().size(), 2u);
  EXPECT_THAT(Values(back.elements()[1]), ElementsAre(3));
  EXPECT_TRUE(MatchesType(back, seq_info.type()));

  onnx::ValueInfoProto opt_info;
  DeclareOptionalTensor(&opt_info, DataType::kInt64);
  ASSERT_OK(WriteValueProtoFile(Value::NoneOf(DataType::kInt64), "o", dir.File("o.pb")));
  ASSERT_OK_AND_ASSIGN(Value none, ReadValueProtoFile(dir.File("o.pb"), opt_info.type()));
  ASSERT_TRUE(none.is_optional());
  EXPECT_FALSE(none.has_element());
  EXPECT_TRUE(MatchesType(none, opt_info.type()));
  ASSERT_OK(WriteValueProtoFile(Value::OptionalOf(Int64(7)), "o", dir.File("o7.pb")));
  ASSERT_OK_AND_ASSIGN(Value seven, ReadValueProtoFile(dir.File("o7.pb"), opt_info.type()));
  ASSERT_TRUE(seven.has_element());
  EXPECT_EQ(seven.element().tensor().data<int64_t>()[0], 7);

  // Kinds and element types are compared; a sequence of tensors of two types is refused.
  EXPECT_FALSE(MatchesType(seven, seq_info.type()));
  EXPECT_FALSE(MatchesType(Value::Sequence(DataType::kInt64, {}), seq_info.type()));
  onnx::SequenceProto mixed = ValueToSequenceProto(sequence, "m");
  *mixed.add_tensor_values() = TensorToProto(Int64(1), "");
  EXPECT_THAT(ValueFromSequenceProto(mixed),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("element 2 is int64")));
  EXPECT_THAT(ToTensorMap({{"s", sequence}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("'s' has type seq(tensor(float)), not a tensor type")));
}

// Split into a sequence, edit it, concatenate back: tensors in and out, sequences inside.
constexpr char kSplitEditConcat[] = R"(
  <ir_version: 8, opset_import: ["" : 17]>
  g (float[4, 2] x, int64 p) => (float[5, 2] y, int64 n) {
    parts = SplitToSequence <axis = 0> (x)
    last = SequenceAt(parts, p)
    grown = SequenceInsert(parts, last)
    fewer = SequenceErase(grown)
    again = SequenceInsert(fewer, last)
    n = SequenceLength(again)
    y = ConcatFromSequence <axis = 0> (again)
  }
)";

TEST(SequenceKernelsTest, SplitEditAndConcatenate) {
  const onnx::ModelProto model = ParseModelText(kSplitEditConcat);
  ReferenceEvaluator evaluator;
  ASSERT_OK_AND_ASSIGN(
      TensorMap out,
      evaluator.Run(model, {{"x", Floats({4, 2}, {0, 1, 2, 3, 4, 5, 6, 7})}, {"p", Int64(-1)}}));
  EXPECT_THAT(out.at("y").shape(), ElementsAre(5, 2));
  EXPECT_THAT(Values(out.at("y")), ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 6, 7));
  EXPECT_EQ(out.at("n").data<int64_t>()[0], 5);
  // A position outside [-n, n - 1] is an error naming the node's op.
  EXPECT_THAT(evaluator.Run(model, {{"x", Floats({4, 2}, {0, 1, 2, 3, 4, 5, 6, 7})}, {"p", Int64(4)}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("SequenceAt node '': position 4 is out of range for a sequence "
                                 "of 4 elements")));
}

TEST(SequenceKernelsTest, SplitLengthsKeepdimsAndStacking) {
  const onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[5] x, int64 two, int64[2] lengths) => (float[5] a, float[5] b, float[1, 5] c,
                                                   float[5] d, int64 n) {
      by_two = SplitToSequence(x, two)
      n = SequenceLength(by_two)
      a = ConcatFromSequence <axis = 0> (by_two)
      by_lengths = SplitToSequence(x, lengths)
      b = ConcatFromSequence <axis = -1> (by_lengths)
      ones = SplitToSequence(x)
      c = ConcatFromSequence <axis = -1, new_axis = 1> (ones)
      scalars = SplitToSequence <keepdims = 0> (x)
      d = ConcatFromSequence <axis = 0, new_axis = 1> (scalars)
    }
  )");
  ReferenceEvaluator evaluator;
  const int64_t lengths[] = {1, 4};
  ASSERT_OK_AND_ASSIGN(
      TensorMap out,
      evaluator.Run(model, {{"x", Floats({5}, {1, 2, 3, 4, 5})},
                            {"two", Int64(2)},
                            {"lengths", Tensor::Copy(DataType::kInt64, {2}, lengths)}}));
  EXPECT_EQ(out.at("n").data<int64_t>()[0], 3);  // [1 2] [3 4] [5]
  EXPECT_THAT(Values(out.at("a")), ElementsAre(1, 2, 3, 4, 5));
  EXPECT_THAT(Values(out.at("b")), ElementsAre(1, 2, 3, 4, 5));
  EXPECT_THAT(out.at("c").shape(), ElementsAre(1, 5));  // [1] elements stacked on a new last axis
  EXPECT_THAT(Values(out.at("c")), ElementsAre(1, 2, 3, 4, 5));
  EXPECT_THAT(out.at("d").shape(), ElementsAre(5));  // scalars stacked
  EXPECT_THAT(Values(out.at("d")), ElementsAre(1, 2, 3, 4, 5));
  const int64_t bad[] = {2, 2};
  EXPECT_THAT(evaluator.Run(model, {{"x", Floats({5}, {1, 2, 3, 4, 5})},
                                    {"two", Int64(2)},
                                    {"lengths", Tensor::Copy(DataType::kInt64, {2}, bad)}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("split lengths add up to 4, not the dimension 5")));
}

TEST(SequenceKernelsTest, ElementTypesAndKindsAreChecked) {
  ReferenceEvaluator evaluator;
  // An int64 tensor cannot join a float sequence.
  const onnx::ModelProto insert = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2] x, int64 i) => (int64 n) {
      s = SequenceConstruct(x)
      t = SequenceInsert(s, i)
      n = SequenceLength(t)
    }
  )");
  EXPECT_THAT(evaluator.Run(insert, {{"x", Floats({2}, {1, 2})}, {"i", Int64(1)}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("a tensor(int64) cannot join seq(tensor(float))")));
  // An op that takes tensors refuses a sequence, naming the node, its input and the value.
  const onnx::ModelProto add = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2] x) => (float[2] y) {
      s = SequenceConstruct(x)
      y = Add(s, x)
    }
  )");
  EXPECT_THAT(evaluator.Run(add, {{"x", Floats({2}, {1, 2})}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Add node '': input 0 ('s') has type seq(tensor(float)), but Add "
                                 "takes tensors only")));
}

TEST(SequenceKernelsTest, OptionalsHoldOrLackAValue) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 18]>
    g (float[2] maybe) => (bool has, float[2] got) {
      has = OptionalHasElement(maybe)
      got = OptionalGetElement(maybe)
    }
  )");
  DeclareOptionalTensor(model.mutable_graph()->mutable_input(0), DataType::kFloat);
  ReferenceEvaluator evaluator;
  ASSERT_OK_AND_ASSIGN(ValueMap out,
                       evaluator.RunValues(model, {{"maybe", Value::OptionalOf(Floats({2}, {4, 5}))}}));
  EXPECT_TRUE(out.at("has").tensor().data<bool>()[0]);
  EXPECT_THAT(Values(out.at("got").tensor()), ElementsAre(4, 5));
  // A plain tensor fed to an optional input is that tensor in an optional.
  ASSERT_OK_AND_ASSIGN(out, evaluator.RunValues(model, {{"maybe", Floats({2}, {6, 7})}}));
  EXPECT_TRUE(out.at("has").tensor().data<bool>()[0]);
  EXPECT_THAT(evaluator.RunValues(model, {{"maybe", Value::NoneOf(DataType::kFloat)}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("the optional input is empty")));
  EXPECT_THAT(evaluator.RunValues(model, {{"maybe", Value::Sequence(DataType::kFloat, {})}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("input 'maybe' has type seq(tensor(float)) but the model expects "
                                 "optional(tensor(float))")));
  EXPECT_THAT(evaluator.RunValues(model, {{"maybe", Value::NoneOf(DataType::kInt64)}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("input 'maybe'")));
}

// Run returns tensors: a sequence output asked for is an error pointing at RunValues, one that
// comes with return_all_values is left out. RunValues returns the sequence, owning its bytes
// although its elements are the model's initializers.
TEST(SequenceKernelsTest, RunNamesSequenceOutputsAndRunValuesReturnsThemOwned) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2] x) => (float[2] s, float[2] y) <float[2] w = {3, 4}> {
      s = SequenceConstruct(w, x)
      y = ConcatFromSequence <axis = 0> (s)
    }
  )");
  onnx::TensorProto& w = *model.mutable_graph()->mutable_initializer(0);
  const float raw[] = {3, 4};
  w.clear_float_data();
  w.set_raw_data(std::string(reinterpret_cast<const char*>(raw), sizeof(raw)));
  DeclareSequence(model.mutable_graph()->mutable_output(0), DataType::kFloat);
  ReferenceEvaluator evaluator;
  const TensorMap feeds = {{"x", Floats({2}, {1, 2})}};
  EXPECT_THAT(evaluator.Run(model, feeds),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("output 's' has type seq(tensor(float)); Run returns tensors only")));
  ASSERT_OK_AND_ASSIGN(ValueMap values, evaluator.RunValues(model, ToValueMap(feeds)));
  const Value& s = values.at("s");
  ASSERT_TRUE(s.is_sequence());
  ASSERT_EQ(s.elements().size(), 2u);
  EXPECT_FALSE(s.elements()[0].is_borrowed());
  EXPECT_THAT(Values(s.elements()[0]), ElementsAre(3, 4));
  EXPECT_THAT(Values(values.at("y").tensor()), ElementsAre(3, 4, 1, 2));

  model.mutable_graph()->mutable_output()->DeleteSubrange(0, 1);
  RunOptions all;
  all.return_all_values = true;
  ASSERT_OK_AND_ASSIGN(TensorMap tensors, evaluator.Run(model, feeds, all));
  EXPECT_EQ(tensors.count("s"), 0u);
  EXPECT_THAT(Values(tensors.at("y")), ElementsAre(3, 4, 1, 2));
}

// Sequence ops move float16 tensors as they are, in both float16 models.
TEST(SequenceKernelsTest, Float16ElementsPassThroughUnchanged) {
  const onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float16[3] x) => (float16[3] y) {
      parts = SplitToSequence(x)
      y = ConcatFromSequence <axis = 0> (parts)
    }
  )");
  const uint16_t bits[] = {numerics::FloatToHalf(0.1f), numerics::FloatToHalf(-3.5f),
                           numerics::kHalfPositiveInfinity};
  for (Float16Model float16_model : {Float16Model::kRoundEveryOp, Float16Model::kOnnxRuntimeCpu}) {
    ReferenceEvaluatorOptions options;
    options.float16_model = float16_model;
    ReferenceEvaluator evaluator(options);
    ASSERT_OK_AND_ASSIGN(
        TensorMap out,
        evaluator.Run(model, {{"x", Tensor::Copy(DataType::kFloat16, {3}, bits)}}));
    ASSERT_EQ(out.at("y").type(), DataType::kFloat16);
    EXPECT_THAT(std::vector<uint16_t>(out.at("y").data<uint16_t>(),
                                      out.at("y").data<uint16_t>() + 3),
                ElementsAre(bits[0], bits[1], bits[2]));
  }
}

}  // namespace
}  // namespace halfcast
