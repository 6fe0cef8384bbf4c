#include "halfcast/evaluator.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "numerics/float16.h"
#include "testing/onnx_text.h"
#include "testing/status_matchers.h"

namespace halfcast {
namespace {

using ::halfcast::testing::ParseModelText;
using ::halfcast::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

Tensor Floats(std::vector<int64_t> shape, std::vector<float> values) {
  return Tensor::Copy(DataType::kFloat, std::move(shape), values.data());
}

std::vector<float> Values(const Tensor& t) {
  return std::vector<float>(t.data<float>(), t.data<float>() + t.element_count());
}

Tensor Halves(std::vector<int64_t> shape, std::vector<float> values) {
  std::vector<uint16_t> bits;
  for (float v : values) bits.push_back(numerics::FloatToHalf(v));
  return Tensor::Copy(DataType::kFloat16, std::move(shape), bits.data());
}

std::vector<float> HalfValues(const Tensor& t) {
  EXPECT_EQ(t.type(), DataType::kFloat16);
  std::vector<float> values;
  for (int64_t i = 0; i < t.element_count(); ++i) {
    values.push_back(numerics::HalfToFloat(t.data<uint16_t>()[i]));
  }
  return values;
}

TEST(ReferenceEvaluatorTest, RunsNodesInTopologicalOrderWithInitializersAndConstants) {
  // The nodes are listed out of order: y needs t, produced by the second node.
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[3] x) => (float[3] y) <float[3] w = {1, -10, 100}> {
      y = Relu(t)
      t = Add(u, w)
      two = Constant<value_float: float = 2.0>()
      u = Mul(x, two)
    }
  )");
  ReferenceEvaluator evaluator;
  TensorMap feeds{{"x", Floats({3}, {1, 2, -60})}};
  ASSERT_OK_AND_ASSIGN(TensorMap out, evaluator.Run(model, feeds));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_THAT(Values(out["y"]), ElementsAre(3, 0, 0));
  EXPECT_FALSE(out["y"].is_borrowed());
}

TEST(ReferenceEvaluatorTest, BroadcastsAndRunsVariadicOps) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2,1] a, float[3] b, float[1] c) => (float[2,3] s, float[2,3] m, bool[2,3] gt) {
      s = Sum(a, b, c)
      m = Max(a, b)
      gt = Greater(a, b)
    }
  )");
  ReferenceEvaluator evaluator;
  TensorMap feeds{{"a", Floats({2, 1}, {1, 10})},
                  {"b", Floats({3}, {0, 5, 20})},
                  {"c", Floats({1}, {100})}};
  ASSERT_OK_AND_ASSIGN(TensorMap out, evaluator.Run(model, feeds));
  EXPECT_THAT(Values(out["s"]), ElementsAre(101, 106, 121, 110, 115, 130));
  EXPECT_THAT(Values(out["m"]), ElementsAre(1, 5, 20, 10, 10, 20));
  const bool* gt = out["gt"].data<bool>();
  EXPECT_THAT(std::vector<bool>(gt, gt + 6), ElementsAre(true, false, false, true, true, false));
}

TEST(ReferenceEvaluatorTest, NamesMissingMistypedAndMisshapedInputs) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[N,3] x) => (float[N,3] y) { y = Relu(x) }
  )");
  ReferenceEvaluator evaluator;
  EXPECT_THAT(evaluator.Run(model, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("missing input 'x'")));
  EXPECT_THAT(evaluator.Run(model, {{"x", Halves({1, 3}, {1, 2, 3})}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("'x' has type float16 but the model expects float")));
  EXPECT_THAT(evaluator.Run(model, {{"x", Floats({3}, {1, 2, 3})}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("'x'"), HasSubstr("expects rank 2"))));
  EXPECT_THAT(evaluator.Run(model, {{"x", Floats({1, 2}, {1, 2})}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("expects dimension 1 to be 3")));
  EXPECT_THAT(evaluator.Run(model, {{"x", Floats({1, 3}, {1, 2, 3})}, {"z", Floats({1}, {1})}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("feed 'z'")));
  // The symbolic dimension takes any size.
  EXPECT_OK(evaluator.Run(model, {{"x", Floats({2, 3}, {1, 2, 3, 4, 5, 6})}}));
}

TEST(ReferenceEvaluatorTest, MalformedModelsAreRefusedAsTheConverterRefusesThem) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2] x) => (float[2] y) {
      y = Cast <to = 999> (x)
    }
  )");
  ReferenceEvaluator evaluator;
  EXPECT_THAT(evaluator.Run(model, {{"x", Floats({2}, {1, 2})}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("attribute 'to' of node 'Cast_0' is 999")));
}

TEST(ReferenceEvaluatorTest, DeeplyNestedSubgraphsAreClearErrors) {
  ReferenceEvaluator evaluator;
  const TensorMap feeds = {{"x", Floats({2}, {1, 2})},
                           {"c", Tensor::Copy(DataType::kBool, {}, "\1")}};
  ASSERT_OK_AND_ASSIGN(TensorMap out, evaluator.Run(halfcast::testing::NestedIfs(20), feeds));
  EXPECT_EQ(out["y"].data<float>()[1], 2.0f);
  EXPECT_THAT(evaluator.Run(halfcast::testing::NestedIfs(10000), feeds),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nested more than 100")));
}

// A Loop of 10^12 iterations (its body adds 1 to a counter): only the run's bounds end it.
onnx::ModelProto EndlessLoop() {
  return ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[1] x) => (float[1] y) <int64 n = {1000000000000}, bool t = {1}> {
      y = Loop (n, t, x) <body = b (int64 i, bool c, float[1] v) => (bool c2, float[1] w)
                                   <float[1] one = {1.0}> {
        c2 = Identity(c)
        w = Add(v, one)
      }>
    }
  )");
}

TEST(ReferenceEvaluatorTest, ATimeLimitStopsAnEndlessLoop) {
  ReferenceEvaluator evaluator;
  RunOptions options;
  const auto start = std::chrono::steady_clock::now();
  options.deadline = start + std::chrono::seconds(1);
  EXPECT_THAT(evaluator.Run(EndlessLoop(), {{"x", Floats({1}, {0})}}, options),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("time limit")));
  // Generous against a slow machine; without the check this would run for days.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}

TEST(ReferenceEvaluatorTest, ACancelledRunStops) {
  ReferenceEvaluator evaluator;
  std::atomic<bool> cancel{false};
  RunOptions options;
  options.cancel = &cancel;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancel = true;
  });
  EXPECT_THAT(evaluator.Run(EndlessLoop(), {{"x", Floats({1}, {0})}}, options),
              StatusIs(absl::StatusCode::kCancelled, HasSubstr("cancelled")));
  canceller.join();
}

TEST(ReferenceEvaluatorTest, CheckSupportedListsUnsupportedOpsBeforeRunning) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17, "com.example" : 1]>
    g (float[2,2] x) => (float[2,2] z) {
      y = Relu(x)
      d = Det(y)
      z = com.example.Frobnicate(y)
    }
  )");
  ReferenceEvaluator evaluator;
  const absl::Status expected_message = evaluator.CheckSupported(model);
  EXPECT_THAT(expected_message,
              StatusIs(absl::StatusCode::kUnimplemented,
                       AllOf(HasSubstr("Det (domain 'ai.onnx', opset 17: no kernel for Det-11)"),
                             HasSubstr("Frobnicate (domain 'com.example', opset 1: an op "
                                       "nothing describes)"))));
  EXPECT_THAT(evaluator.Run(model, {{"x", Floats({2, 2}, {1, 2, 3, 4})}}),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("Frobnicate")));
}

TEST(ReferenceEvaluatorTest, OpsetsNewerThanOnnxKnowsRunWithTheNewestKernels) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 9, opset_import: ["" : 19]>
    g (float[2] x) => (float[2] y) { y = Abs(x) }
  )");
  ReferenceEvaluator evaluator;
  ASSERT_OK_AND_ASSIGN(TensorMap out, evaluator.Run(model, {{"x", Floats({2}, {-1, 2})}}));
  EXPECT_THAT(Values(out["y"]), ElementsAre(1, 2));
}

TEST(ReferenceEvaluatorTest, MemoryCapCountsLiveIntermediatesOnly) {
  // Each intermediate is 4000 bytes; releasing them after their last use keeps two alive at most.
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[1000] x) => (float[1000] y) {
      a = Relu(x)
      b = Neg(a)
      c = Abs(b)
      d = Neg(c)
      y = Abs(d)
    }
  )");
  TensorMap feeds{{"x", Tensor::Zeros(DataType::kFloat, {1000})}};
  ReferenceEvaluatorOptions options;
  options.memory_limit_bytes = 8000;
  ReferenceEvaluator fits(options);
  EXPECT_OK(fits.Run(model, feeds));
  options.memory_limit_bytes = 7999;
  ReferenceEvaluator too_small(options);
  EXPECT_THAT(too_small.Run(model, feeds),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       AllOf(HasSubstr("Neg node"), HasSubstr("memory limit"))));
}

TEST(ReferenceEvaluatorTest, AbsurdShapesAreErrorsNotCrashes) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (int64[2] shape) => (float[N,M] y) { y = ConstantOfShape(shape) }
  )");
  ReferenceEvaluator evaluator;
  const int64_t huge[2] = {int64_t{1} << 40, int64_t{1} << 40};
  EXPECT_THAT(evaluator.Run(model, {{"shape", Tensor::Copy(DataType::kInt64, {2}, huge)}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("ConstantOfShape"), HasSubstr("overflows"))));
  const int64_t big[2] = {int64_t{1} << 20, int64_t{1} << 20};  // 4 TiB of float
  EXPECT_THAT(evaluator.Run(model, {{"shape", Tensor::Copy(DataType::kInt64, {2}, big)}}),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("ConstantOfShape")));
  const int64_t negative[2] = {2, -3};
  EXPECT_THAT(evaluator.Run(model, {{"shape", Tensor::Copy(DataType::kInt64, {2}, negative)}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("negative")));
}

TEST(ReferenceEvaluatorTest, ExtraOutputsAllValuesAndPrecomputedValues) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2] x) => (float[2] y) {
      a = Neg(x)
      b = Abs(a)
      y = Add(b, x)
    }
  )");
  ReferenceEvaluator evaluator;
  TensorMap feeds{{"x", Floats({2}, {-1, 2})}};
  RunOptions extra;
  extra.extra_outputs = {"a"};
  ASSERT_OK_AND_ASSIGN(TensorMap out, evaluator.Run(model, feeds, extra));
  EXPECT_THAT(Values(out["a"]), ElementsAre(1, -2));
  EXPECT_THAT(Values(out["y"]), ElementsAre(0, 4));

  RunOptions all;
  all.return_all_values = true;
  ASSERT_OK_AND_ASSIGN(out, evaluator.Run(model, feeds, all));
  std::vector<std::string> names;
  for (const auto& [name, tensor] : out) names.push_back(name);
  EXPECT_THAT(names, UnorderedElementsAre("a", "b", "y"));

  // b given: Neg and Abs are not run (a value Abs could not produce proves it).
  TensorMap given{{"b", Floats({2}, {-100, -200})}};
  RunOptions precomputed;
  precomputed.precomputed = &given;
  ASSERT_OK_AND_ASSIGN(out, evaluator.Run(model, feeds, precomputed));
  EXPECT_THAT(Values(out["y"]), ElementsAre(-101, -198));

  RunOptions unknown;
  unknown.extra_outputs = {"nope"};
  EXPECT_THAT(evaluator.Run(model, feeds, unknown),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'nope'")));
}

TEST(ReferenceEvaluatorTest, OptionalInputsAndOutputsByEmptyName) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[3] x, float hi) => (float[3] y, float[3] z) {
      y = Clip(x, , hi)
      z, = Dropout(x)
    }
  )");
  ReferenceEvaluator evaluator;
  const float hi = 1.5f;
  ASSERT_OK_AND_ASSIGN(TensorMap out,
                       evaluator.Run(model, {{"x", Floats({3}, {-5, 1, 7})},
                                             {"hi", Tensor::Copy(DataType::kFloat, {}, &hi)}}));
  EXPECT_THAT(Values(out["y"]), ElementsAre(-5, 1, 1.5));
  EXPECT_THAT(Values(out["z"]), ElementsAre(-5, 1, 7));
}

TEST(ReferenceEvaluatorTest, CyclesAndUndefinedValuesAreErrors) {
  onnx::ModelProto cycle = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[1] x) => (float[1] y) {
      a = Add(x, b)
      b = Neg(a)
      y = Identity(b)
    }
  )");
  ReferenceEvaluator evaluator;
  EXPECT_THAT(evaluator.Run(cycle, {{"x", Floats({1}, {1})}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cycle")));
  onnx::ModelProto undefined = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[1] x) => (float[1] y) { y = Add(x, nowhere) }
  )");
  EXPECT_THAT(evaluator.Run(undefined, {{"x", Floats({1}, {1})}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'nowhere'")));
}

TEST(ReferenceEvaluatorTest, KernelErrorsNameTheNode) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2] a, float[3] b) => (float[3] y) { y = Add(a, b) }
  )");
  model.mutable_graph()->mutable_node(0)->set_name("the_add");
  ReferenceEvaluator evaluator;
  EXPECT_THAT(evaluator.Run(model, {{"a", Floats({2}, {1, 2})}, {"b", Floats({3}, {1, 2, 3})}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("Add node 'the_add'"), HasSubstr("cannot be broadcast"))));
}

// The float16 model: compute in float32, round each 16-bit result to nearest even.
TEST(Float16EmulationTest, OverflowToInfinity) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float16[3] a, float16[3] b) => (float16[3] y, float[3] f) {
      y = Mul(a, b)
      f = Cast<to = 1>(y)
    }
  )");
  ReferenceEvaluator evaluator;
  ASSERT_OK_AND_ASSIGN(TensorMap out, evaluator.Run(model, {{"a", Halves({3}, {300, -300, 255})},
                                                            {"b", Halves({3}, {300, 300, 256})}}));
  const float inf = std::numeric_limits<float>::infinity();
  // 255 * 256 = 65280 is finite in float16 (max 65504); 90000 is not.
  EXPECT_THAT(HalfValues(out["y"]), ElementsAre(inf, -inf, 65280));
  EXPECT_THAT(Values(out["f"]), ElementsAre(inf, -inf, 65280));
}

TEST(Float16EmulationTest, RoundsEachResultToNearestEven) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float16[4] a, float16[4] b) => (float16[4] s, float16[4] chained) {
      s = Add(a, b)
      t = Add(s, b)
      chained = Sub(t, b)
    }
  )");
  ReferenceEvaluator evaluator;
  // 2048 + 1: float16 has 11 significant bits, so 2049 is a tie rounding to even 2048; 2048 + 3
  // = 2051 rounds to 2052. 1 + 2^-11 ties to 1; 1 + 3 * 2^-11 rounds up to 1 + 2^-9.
  const float e = std::ldexp(1.0f, -11);
  ASSERT_OK_AND_ASSIGN(TensorMap out,
                       evaluator.Run(model, {{"a", Halves({4}, {2048, 2048, 1, 1})},
                                             {"b", Halves({4}, {1, 3, e, 3 * e})}}));
  EXPECT_THAT(HalfValues(out["s"]), ElementsAre(2048, 2052, 1, 1 + 4 * e));
  // Each node rounds: in ((2048 + 1) + 1) - 1 both Adds round 2049 down to 2048, so the chain
  // gives 2047 where float32 gives 2049.
  EXPECT_EQ(HalfValues(out["chained"])[0], 2047);
}

TEST(Float16EmulationTest, SubnormalsKeptAndUnderflowRoundsToEven) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float16[3] a, float16[3] b) => (float16[3] y) { y = Mul(a, b) }
  )");
  ReferenceEvaluator evaluator;
  const float min_normal = std::ldexp(1.0f, -14);
  const float min_subnormal = std::ldexp(1.0f, -24);
  ASSERT_OK_AND_ASSIGN(
      TensorMap out,
      evaluator.Run(model, {{"a", Halves({3}, {min_normal, min_subnormal, 3 * min_subnormal})},
                            {"b", Halves({3}, {0.5f, 0.5f, 0.5f})}}));
  // 2^-15 is a subnormal, exact; 2^-25 ties between 0 and 2^-24 -> 0 (even);
  // 1.5 * 2^-24 ties between 1 and 2 (in units of 2^-24) -> 2.
  EXPECT_THAT(HalfValues(out["y"]), ElementsAre(min_normal / 2, 0, 2 * min_subnormal));
}

TEST(Float16EmulationTest, BFloat16ComputesInFloatAndRounds) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2] x) => (bfloat16[2] y, float[2] back) {
      b = Cast<to = 16>(x)
      y = Add(b, b)
      back = Cast<to = 1>(y)
    }
  )");
  ReferenceEvaluator evaluator;
  // bfloat16 keeps 8 significant bits: 257 -> 256 (tie to even), 3e38 * 2 -> inf.
  ASSERT_OK_AND_ASSIGN(TensorMap out, evaluator.Run(model, {{"x", Floats({2}, {257, 3e38f})}}));
  EXPECT_EQ(out["y"].type(), DataType::kBFloat16);
  EXPECT_THAT(Values(out["back"]), ElementsAre(512, std::numeric_limits<float>::infinity()));
}

TEST(ControlFlowTest, IfRunsTheChosenBranchWithOuterValues) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (bool c, float[2] x) => (float[2] y) {
      n = Neg(x)
      y = If <then_branch = g1 () => (float[2] t) { t = Abs(n) },
              else_branch = g2 () => (float[2] e) { e = Identity(n) }> (c)
    }
  )");
  ReferenceEvaluator evaluator;
  for (bool c : {true, false}) {
    ASSERT_OK_AND_ASSIGN(TensorMap out,
                         evaluator.Run(model, {{"c", Tensor::Copy(DataType::kBool, {}, &c)},
                                               {"x", Floats({2}, {1, -2})}}));
    EXPECT_THAT(Values(out["y"]), c ? ElementsAre(1, 2) : ElementsAre(-1, 2));
  }
}

TEST(ControlFlowTest, LoopCarriesValuesAndStacksScanOutputs) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (int64 m, float[2] x, float[2] s0) => (float[2] s, float[N,2] all) {
      s, all = Loop <body = b (int64 i, bool c, float[2] acc) => (bool c_out, float[2] next,
                                                                float[2] seen) {
        c_out = Identity(c)
        next = Add(acc, x)
        seen = Identity(next)
      }> (m, , s0)
    }
  )");
  ReferenceEvaluator evaluator;
  const int64_t m = 3;
  ASSERT_OK_AND_ASSIGN(TensorMap out,
                       evaluator.Run(model, {{"m", Tensor::Copy(DataType::kInt64, {}, &m)},
                                             {"x", Floats({2}, {1, 2})},
                                             {"s0", Floats({2}, {10, 20})}}));
  EXPECT_THAT(Values(out["s"]), ElementsAre(13, 26));
  EXPECT_THAT(out["all"].shape(), ElementsAre(3, 2));
  EXPECT_THAT(Values(out["all"]), ElementsAre(11, 22, 12, 24, 13, 26));
}

TEST(ControlFlowTest, LoopStopsWhenTheBodyConditionTurnsFalse) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (int64 m, bool c0, int64 limit) => (int64 count) {
      count = Loop <body = b (int64 i, bool c, int64 n) => (bool c_out, int64 n_out) {
        one = Constant <value_int: int = 1> ()
        n_out = Add(n, one)
        c_out = Less(n_out, limit)
      }> (m, c0, zero)
      zero = Constant <value_int: int = 0> ()
    }
  )");
  ReferenceEvaluator evaluator;
  const int64_t m = 100;
  const int64_t limit = 4;
  const bool c0 = true;
  ASSERT_OK_AND_ASSIGN(TensorMap out,
                       evaluator.Run(model, {{"m", Tensor::Copy(DataType::kInt64, {}, &m)},
                                             {"c0", Tensor::Copy(DataType::kBool, {}, &c0)},
                                             {"limit", Tensor::Copy(DataType::kInt64, {}, &limit)}}));
  EXPECT_EQ(out["count"].data<int64_t>()[0], 4);
}

TEST(ControlFlowTest, ScanWithReverseInputAndOutputAxis) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2] s0, float[3,2] x) => (float[2] s, float[2,3] ys) {
      s, ys = Scan <num_scan_inputs = 1, scan_input_directions = [1], scan_output_axes = [1],
                    body = b (float[2] acc, float[2] xi) => (float[2] next, float[2] yi) {
        next = Add(acc, xi)
        yi = Identity(next)
      }> (s0, x)
    }
  )");
  ReferenceEvaluator evaluator;
  ASSERT_OK_AND_ASSIGN(TensorMap out,
                       evaluator.Run(model, {{"s0", Floats({2}, {0, 0})},
                                             {"x", Floats({3, 2}, {1, 2, 3, 4, 5, 6})}}));
  EXPECT_THAT(Values(out["s"]), ElementsAre(9, 12));
  // Rows visited in reverse: 5,6 then 3,4 then 1,2; running sums stacked along axis 1.
  EXPECT_THAT(out["ys"].shape(), ElementsAre(2, 3));
  EXPECT_THAT(Values(out["ys"]), ElementsAre(5, 8, 9, 6, 10, 12));
}

TEST(ControlFlowTest, Float16BodyRoundsEveryIteration) {
  // Doubling a float16 from 2^13 four times: 2^14, 2^15, then 2^16 overflows to inf.
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (int64 m, float16[1] x) => (float16[1] y) {
      y = Loop <body = b (int64 i, bool c, float16[1] v) => (bool c_out, float16[1] w) {
        c_out = Identity(c)
        w = Add(v, v)
      }> (m, , x)
    }
  )");
  ReferenceEvaluator evaluator;
  const int64_t m = 3;
  ASSERT_OK_AND_ASSIGN(TensorMap out,
                       evaluator.Run(model, {{"m", Tensor::Copy(DataType::kInt64, {}, &m)},
                                             {"x", Halves({1}, {8192})}}));
  EXPECT_THAT(HalfValues(out["y"]), ElementsAre(std::numeric_limits<float>::infinity()));
}

TEST(LocalFunctionTest, CallsAreExpandedWithAttributesAndFreshNames) {
  // Scale is called twice (its internal value t must not clash) and calls Shift, a function of
  // its own; LeakyRelu's alpha comes from the call or, unset, from the op's default.
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17, "local" : 1]>
    g (float[2] x) => (float[2] y, float[2] z, float[2] w) {
      y = local.Scale <factor = 2.0> (x)
      z = local.Scale <factor = 3.0> (y)
      w = local.Leaky (x)
    }
    <domain: "local", opset_import: ["" : 17, "local" : 1]>
    Scale <factor> (a) => (b) {
      t = Constant <value_float: float = @factor> ()
      m = Mul(a, t)
      b = local.Shift(m)
    }
    <domain: "local", opset_import: ["" : 17]>
    Shift (p) => (q) {
      one = Constant <value_float: float = 1.0> ()
      q = Add(p, one)
    }
    <domain: "local", opset_import: ["" : 17]>
    Leaky <alpha> (u) => (v) {
      v = LeakyRelu <alpha = @alpha> (u)
    }
  )");
  ReferenceEvaluator evaluator;
  ASSERT_OK(evaluator.CheckSupported(model));
  ASSERT_OK_AND_ASSIGN(TensorMap out, evaluator.Run(model, {{"x", Floats({2}, {1, -100})}}));
  EXPECT_THAT(Values(out["y"]), ElementsAre(3, -199));
  EXPECT_THAT(Values(out["z"]), ElementsAre(10, -596));
  EXPECT_THAT(Values(out["w"]), ElementsAre(1, -1));  // default alpha 0.01
  EXPECT_EQ(model.functions_size(), 3);                // the caller's model is unchanged
}

TEST(LocalFunctionTest, BodiesInsideFunctionsSeeTheFunctionsValues) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17, "local" : 1]>
    g (bool c, float[2] x) => (float[2] y) {
      y = local.Pick (c, x)
    }
    <domain: "local", opset_import: ["" : 17]>
    Pick (cond, a) => (b) {
      n = Neg(a)
      b = If <then_branch = t () => (float[2] r) { r = Identity(n) },
              else_branch = e () => (float[2] s) { s = Identity(a) }> (cond)
    }
  )");
  ReferenceEvaluator evaluator;
  const bool c = true;
  ASSERT_OK_AND_ASSIGN(TensorMap out,
                       evaluator.Run(model, {{"c", Tensor::Copy(DataType::kBool, {}, &c)},
                                             {"x", Floats({2}, {1, -2})}}));
  EXPECT_THAT(Values(out["y"]), ElementsAre(-1, 2));
}

TEST(LocalFunctionTest, UnsupportedOpInsideAFunctionIsReported) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17, "local" : 1]>
    g (float[2,2] x) => (float y) { y = local.D (x) }
    <domain: "local", opset_import: ["" : 17]>
    D (a) => (b) { b = Det(a) }
  )");
  ReferenceEvaluator evaluator;
  EXPECT_THAT(evaluator.CheckSupported(model),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("Det (domain 'ai.onnx'")));
}

}  // namespace
}  // namespace halfcast
