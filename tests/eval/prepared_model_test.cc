// A model planned once and run many times (ReferenceEvaluator::Prepare): bodies planned with
// their enclosing graph, Constants and initializers decoded once and shared between runs, and
// tensors shared between values (Reshape and friends) without one run or value clobbering another.
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "halfcast/evaluator.h"
#include "numerics/float16.h"
#include "testing/onnx_text.h"
#include "testing/status_matchers.h"

namespace halfcast {
namespace {

using ::halfcast::testing::ParseModelText;
using ::halfcast::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

Tensor Floats(std::vector<int64_t> shape, std::vector<float> values) {
  return Tensor::Copy(DataType::kFloat, std::move(shape), values.data());
}

Tensor Bool(bool value) { return Tensor::Copy(DataType::kBool, {}, &value); }

Tensor Int64(int64_t value) { return Tensor::Copy(DataType::kInt64, {}, &value); }

std::vector<float> Values(const Tensor& t) {
  return std::vector<float>(t.data<float>(), t.data<float>() + t.element_count());
}

// Moves every float Constant `value` of `graph` (and its bodies) from float_data to raw_data,
// the form exporters write and the plan borrows from the model instead of copying.
void ConstantsToRawData(onnx::GraphProto* graph) {
  for (onnx::NodeProto& node : *graph->mutable_node()) {
    for (onnx::AttributeProto& a : *node.mutable_attribute()) {
      if (a.has_g()) ConstantsToRawData(a.mutable_g());
      if (node.op_type() != "Constant" || a.name() != "value") continue;
      onnx::TensorProto* t = a.mutable_t();
      if (t->float_data_size() == 0) continue;
      t->set_raw_data(t->float_data().data(), t->float_data_size() * sizeof(float));
      t->clear_float_data();
    }
  }
}

const char* kIfWithConstants = R"(
  <ir_version: 8, opset_import: ["" : 17]>
  g (bool c, float[2] x) => (float[2] y) {
    y = If <then_branch = t () => (float[2] ty) {
              k1 = Constant <value = float[2] {2, 3}> ()
              ty = Mul(x, k1)
            },
            else_branch = e () => (float[2] ey) {
              k2 = Constant <value_floats: floats = [10.0, 20.0]> ()
              ey = Add(x, k2)
            }> (c)
  }
)";

TEST(PreparedModelTest, IfBranchConstantsAreDecodedOnceAndGiveFreshResults) {
  onnx::ModelProto model = ParseModelText(kIfWithConstants);
  ConstantsToRawData(model.mutable_graph());
  ReferenceEvaluator evaluator;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PreparedModel> prepared, evaluator.Prepare(model));
  for (int run = 0; run < 6; ++run) {
    const bool c = run % 2 == 0;
    const float v = static_cast<float>(run);
    TensorMap feeds{{"c", Bool(c)}, {"x", Floats({2}, {v, -v})}};
    ASSERT_OK_AND_ASSIGN(TensorMap out, prepared->Run(feeds));
    EXPECT_THAT(Values(out["y"]), c ? ElementsAre(2 * v, -3 * v) : ElementsAre(10 + v, 20 - v))
        << "run " << run;
    ReferenceEvaluator fresh;
    ASSERT_OK_AND_ASSIGN(TensorMap expected, fresh.Run(model, feeds));
    EXPECT_EQ(Values(out["y"]), Values(expected["y"]));
  }
}

TEST(PreparedModelTest, LoopBodyWithConstantsAndANestedIfRunsEveryIteration) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (int64 m, bool flag, float[2] s0) => (float[2] s) {
      s = Loop <body = b (int64 i, bool c, float[2] acc) => (bool c_out, float[2] next) {
        c_out = Identity(c)
        k = Constant <value = float[2] {1, 2}> ()
        next = If <then_branch = t () => (float[2] tn) {
                     two = Constant <value_float: float = 2.0> ()
                     d = Mul(k, two)
                     tn = Add(acc, d)
                   },
                   else_branch = e () => (float[2] en) { en = Sub(acc, k) }> (flag)
      }> (m, , s0)
    }
  )");
  ConstantsToRawData(model.mutable_graph());
  ReferenceEvaluator evaluator;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PreparedModel> prepared, evaluator.Prepare(model));
  for (int64_t m : {0, 1, 3, 5}) {
    for (bool flag : {true, false}) {
      TensorMap feeds{{"m", Int64(m)}, {"flag", Bool(flag)}, {"s0", Floats({2}, {100, 200})}};
      ASSERT_OK_AND_ASSIGN(TensorMap out, prepared->Run(feeds));
      const float f = static_cast<float>(m);
      EXPECT_THAT(Values(out["s"]),
                  flag ? ElementsAre(100 + 2 * f, 200 + 4 * f) : ElementsAre(100 - f, 200 - 2 * f))
          << "m " << m << " flag " << flag;
    }
  }
}

TEST(PreparedModelTest, BodyOutputMayBeAnEnclosingValueUsedNowhereElse) {
  // `a` is last read by Abs before the If runs; its then_branch returns `a` itself, so the
  // plan must keep `a` alive until the If.
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (bool c, float[2] x) => (float[2] y, float[2] z) {
      a = Neg(x)
      z = Abs(a)
      y = If <then_branch = t () => (float[2] a) { },
              else_branch = e () => (float[2] ey) { ey = Identity(x) }> (c)
    }
  )");
  ReferenceEvaluator evaluator;
  ASSERT_OK_AND_ASSIGN(TensorMap out,
                       evaluator.Run(model, {{"c", Bool(true)}, {"x", Floats({2}, {1, -2})}}));
  EXPECT_THAT(Values(out["y"]), ElementsAre(-1, 2));
  EXPECT_THAT(Values(out["z"]), ElementsAre(1, 2));
}

TEST(PreparedModelTest, ReturnedConstantsAndInitializersAreTheCallersOwnCopies) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2] x) => (float[2] k, float[2] w_out, float[2] y) <float[2] w = {5, 6}> {
      k = Constant <value = float[2] {1, 2}> ()
      w_out = Identity(w)
      y = Add(x, k)
    }
  )");
  ConstantsToRawData(model.mutable_graph());
  ReferenceEvaluator evaluator;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PreparedModel> prepared, evaluator.Prepare(model));
  TensorMap feeds{{"x", Floats({2}, {0, 0})}};
  ASSERT_OK_AND_ASSIGN(TensorMap first, prepared->Run(feeds));
  EXPECT_FALSE(first["k"].is_borrowed());
  EXPECT_FALSE(first["w_out"].is_borrowed());
  // Writing into the results must reach neither the plan nor the model.
  first["k"].mutable_data<float>()[0] = 99;
  first["w_out"].mutable_data<float>()[0] = 99;
  ASSERT_OK_AND_ASSIGN(TensorMap second, prepared->Run(feeds));
  EXPECT_THAT(Values(second["k"]), ElementsAre(1, 2));
  EXPECT_THAT(Values(second["w_out"]), ElementsAre(5, 6));
  EXPECT_THAT(Values(second["y"]), ElementsAre(1, 2));
}

TEST(PreparedModelTest, OptionsPerRunDoNotChangeThePlan) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2] x) => (float[2] y) {
      k = Constant <value_floats: floats = [1.0, 2.0]> ()
      t = Add(x, k)
      y = Relu(t)
    }
  )");
  ReferenceEvaluator evaluator;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PreparedModel> prepared, evaluator.Prepare(model));
  TensorMap feeds{{"x", Floats({2}, {-5, 5})}};
  RunOptions all;
  all.return_all_values = true;
  ASSERT_OK_AND_ASSIGN(TensorMap everything, prepared->Run(feeds, all));
  EXPECT_THAT(Values(everything["k"]), ElementsAre(1, 2));
  EXPECT_THAT(Values(everything["t"]), ElementsAre(-4, 7));
  // A precomputed `t` replaces the Add in this run only.
  TensorMap given{{"t", Floats({2}, {3, -3})}};
  RunOptions reuse;
  reuse.precomputed = &given;
  ASSERT_OK_AND_ASSIGN(TensorMap reused, prepared->Run(feeds, reuse));
  EXPECT_THAT(Values(reused["y"]), ElementsAre(3, 0));
  ASSERT_OK_AND_ASSIGN(TensorMap plain, prepared->Run(feeds));
  EXPECT_EQ(plain.size(), 1u);
  EXPECT_THAT(Values(plain["y"]), ElementsAre(0, 7));
  RunOptions unknown;
  unknown.extra_outputs = {"nope"};
  EXPECT_THAT(prepared->Run(feeds, unknown),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'nope'")));
}

TEST(PreparedModelTest, UnsupportedOpsAndMalformedConstantsFailPrepare) {
  onnx::ModelProto unsupported = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (bool c, float[2,2] x) => (float y) {
      y = If <then_branch = t () => (float d) { d = Det(x) },
              else_branch = e () => (float r) { r = ReduceSum(x) }> (c)
    }
  )");
  ReferenceEvaluator evaluator;
  EXPECT_THAT(evaluator.Prepare(unsupported),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("Det")));
  // A Constant whose data does not match its shape, even in a branch no run takes: the model is
  // malformed, refused as the converter refuses it (one validation for convert, run and auto).
  onnx::ModelProto bad_constant = ParseModelText(kIfWithConstants);
  onnx::TensorProto* t = bad_constant.mutable_graph()
                             ->mutable_node(0)
                             ->mutable_attribute(0)
                             ->mutable_g()
                             ->mutable_node(0)
                             ->mutable_attribute(0)
                             ->mutable_t();
  ASSERT_EQ(t->float_data_size(), 2);
  t->add_float_data(4);
  EXPECT_THAT(evaluator.Prepare(bad_constant),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("attribute 'value' of node 'Constant_0' in subgraph "
                                 "'If_0/then_branch' holds 3 values but its dims [2] need 2")));
}

TEST(PreparedModelTest, NodesOnConstantsAreFoldedButFeedableInitializersAreNot) {
  // `w` is an initializer and an input: only a default, so w + v is computed per run; v * v is
  // folded when the model is prepared, and so is the body's Slice of the outer initializer v.
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (bool c, float[2] x, float[2] w) => (float[2] y, float[2] z, float[1] b)
        <float[2] w = {1, 2}, float[2] v = {3, 4}> {
      wv = Add(w, v)
      vv = Mul(v, v)
      y = Add(x, wv)
      z = Add(x, vv)
      b = If <then_branch = t () => (float[1] first) {
                starts = Constant <value = int64[1] {0}> ()
                ends = Constant <value = int64[1] {1}> ()
                first = Slice(v, starts, ends)
              },
              else_branch = e () => (float[1] second) {
                starts = Constant <value = int64[1] {1}> ()
                ends = Constant <value = int64[1] {2}> ()
                second = Slice(v, starts, ends)
              }> (c)
    }
  )");
  ReferenceEvaluator evaluator;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PreparedModel> prepared, evaluator.Prepare(model));
  RunOptions all;
  all.return_all_values = true;
  ASSERT_OK_AND_ASSIGN(TensorMap defaults,
                       prepared->Run({{"c", Bool(true)}, {"x", Floats({2}, {0, 0})}}, all));
  EXPECT_THAT(Values(defaults["y"]), ElementsAre(4, 6));
  EXPECT_THAT(Values(defaults["z"]), ElementsAre(9, 16));
  EXPECT_THAT(Values(defaults["vv"]), ElementsAre(9, 16));  // folded values are still values
  EXPECT_THAT(Values(defaults["b"]), ElementsAre(3));
  ASSERT_OK_AND_ASSIGN(TensorMap fed, prepared->Run({{"c", Bool(false)},
                                                     {"x", Floats({2}, {1, 1})},
                                                     {"w", Floats({2}, {100, 200})}}));
  EXPECT_THAT(Values(fed["y"]), ElementsAre(104, 205));
  EXPECT_THAT(Values(fed["z"]), ElementsAre(10, 17));
  EXPECT_THAT(Values(fed["b"]), ElementsAre(4));
}

TEST(PreparedModelTest, FoldedFloat16NodesRoundAsComputedOnesDo) {
  // The same float16 chain twice: on an initializer (folded when preparing) and on a feed
  // (computed per run): every node rounds to float16, and 300 * 300 overflows to inf.
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float16[3] fed) => (float16[3] folded, float16[3] computed)
        <float[3] w = {300.0, 1000.0, 0.5}, float[3] k = {300.0, 0.3, 0.25}> {
      folded_product = Mul(w, k)
      folded_sum = Add(w, k)
      folded = Add(folded_product, folded_sum)
      fed_product = Mul(fed, k)
      fed_sum = Add(fed, k)
      computed = Add(fed_product, fed_sum)
    }
  )");
  // The text parser has no float16 literals: retype the initializers to float16 bit patterns.
  auto set_halves = [](onnx::TensorProto* t, std::vector<float> values) {
    t->set_data_type(onnx::TensorProto::FLOAT16);
    t->clear_float_data();
    for (float v : values) t->add_int32_data(numerics::FloatToHalf(v));
  };
  set_halves(model.mutable_graph()->mutable_initializer(0), {300, 1000, 0.5f});
  set_halves(model.mutable_graph()->mutable_initializer(1), {300, 0.3f, 0.25f});
  std::vector<uint16_t> fed_bits;
  for (float v : {300.0f, 1000.0f, 0.5f}) fed_bits.push_back(numerics::FloatToHalf(v));
  ReferenceEvaluator evaluator;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PreparedModel> prepared, evaluator.Prepare(model));
  ASSERT_OK_AND_ASSIGN(
      TensorMap out,
      prepared->Run({{"fed", Tensor::Copy(DataType::kFloat16, {3}, fed_bits.data())}}));
  ASSERT_EQ(out["folded"].type(), DataType::kFloat16);
  const uint16_t* folded = out["folded"].data<uint16_t>();
  const uint16_t* computed = out["computed"].data<uint16_t>();
  EXPECT_EQ(std::vector<uint16_t>(folded, folded + 3),
            std::vector<uint16_t>(computed, computed + 3));
  EXPECT_TRUE(std::isinf(numerics::HalfToFloat(folded[0])));
}

TEST(PreparedModelTest, FoldingNeitherFailsNorFillsMemoryForABranchNoRunTakes) {
  // The then_branch computes from constants alone: a Reshape to a wrong shape, and an Expand to
  // 4 MB under a 1 MB memory cap. Preparing folds neither; only a run taking the branch fails.
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (bool c, bool d, float[2] x) => (float[2] y) {
      y = If <then_branch = t () => (float[2] ty) {
                k = Constant <value = float[2] {1, 2}> ()
                big_shape = Constant <value = int64[2] {500000, 2}> ()
                bad_shape = Constant <value = int64[1] {3}> ()
                ty = If <then_branch = t2 () => (float[2] r) { r = Reshape(k, bad_shape) },
                         else_branch = e2 () => (float[2] s) {
                           big = Expand(k, big_shape)
                           s = ReduceMax <axes = [0], keepdims = 0> (big)
                         }> (d)
              },
              else_branch = e () => (float[2] ey) { ey = Neg(x) }> (c)
    }
  )");
  ReferenceEvaluatorOptions options;
  options.memory_limit_bytes = int64_t{1} << 20;
  ReferenceEvaluator evaluator(options);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PreparedModel> prepared, evaluator.Prepare(model));
  ASSERT_OK_AND_ASSIGN(
      TensorMap out,
      prepared->Run({{"c", Bool(false)}, {"d", Bool(true)}, {"x", Floats({2}, {1, -2})}}));
  EXPECT_THAT(Values(out["y"]), ElementsAre(-1, 2));
  EXPECT_THAT(prepared->Run({{"c", Bool(true)}, {"d", Bool(true)}, {"x", Floats({2}, {1, 2})}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("Reshape")));
  EXPECT_THAT(prepared->Run({{"c", Bool(true)}, {"d", Bool(false)}, {"x", Floats({2}, {1, 2})}}),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("Expand")));
}

TEST(PreparedModelTest, ReshapesShareTheirInputWithoutClobberingIt) {
  // `a` is a graph output and read again after the Reshape, Flatten, Unsqueeze and Squeeze that
  // view its bytes; the Loop reshapes and then rewrites its carried value each iteration.
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2,3] x, int64 m) => (float[2,3] a, float[3,2] r, float[1,6] f, float[2,3] b,
                                 float[1,2,3] u, float[2,3] s, float[6] carried) {
      a = Add(x, x)
      shape = Constant <value = int64[2] {3, 2}> ()
      r = Reshape(a, shape)
      f = Flatten <axis = 0> (r)
      axes = Constant <value = int64[1] {0}> ()
      u = Unsqueeze(a, axes)
      s = Squeeze(u, axes)
      b = Mul(a, a)
      flat_shape = Constant <value = int64[1] {6}> ()
      flat = Reshape(x, flat_shape)
      carried = Loop <body = body (int64 i, bool c, float[6] v) => (bool c_out, float[6] w) {
        c_out = Identity(c)
        same = Reshape(v, flat_shape)
        w = Add(same, same)
      }> (m, , flat)
    }
  )");
  ReferenceEvaluator evaluator;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PreparedModel> prepared, evaluator.Prepare(model));
  for (int run = 0; run < 2; ++run) {
    ASSERT_OK_AND_ASSIGN(
        TensorMap out, prepared->Run({{"x", Floats({2, 3}, {1, 2, 3, 4, 5, 6})}, {"m", Int64(2)}}));
    EXPECT_THAT(Values(out["a"]), ElementsAre(2, 4, 6, 8, 10, 12));
    EXPECT_THAT(out["r"].shape(), ElementsAre(3, 2));
    EXPECT_THAT(out["f"].shape(), ElementsAre(1, 6));
    EXPECT_THAT(out["u"].shape(), ElementsAre(1, 2, 3));
    EXPECT_THAT(out["s"].shape(), ElementsAre(2, 3));
    EXPECT_THAT(Values(out["b"]), ElementsAre(4, 16, 36, 64, 100, 144));
    EXPECT_THAT(Values(out["carried"]), ElementsAre(4, 8, 12, 16, 20, 24));
    // The caller writing one result leaves the results that view the same bytes alone.
    out["r"].mutable_data<float>()[0] = -1;
    out["s"].mutable_data<float>()[1] = -1;
    EXPECT_THAT(Values(out["a"]), ElementsAre(2, 4, 6, 8, 10, 12));
    EXPECT_THAT(Values(out["f"]), ElementsAre(2, 4, 6, 8, 10, 12));
    EXPECT_THAT(Values(out["u"]), ElementsAre(2, 4, 6, 8, 10, 12));
    EXPECT_EQ(out["r"].data<float>()[0], -1);
  }
}

TEST(PreparedModelTest, MalformedNodesOnConstantsDoNotCrashPreparation) {
  // Found by the evaluator fuzz target: a Constant with an input and no output, and a TopK with
  // one output where the op writes two. Both read only initializers, so preparation would fold
  // them; the first never runs (nothing reads it), the second keeps its one output.
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2] x) => (float[2] y, float[1] top) <float[3] w = {1.0, 3.0, 2.0}, int64[1] k = {1}> {
      y = Identity(x)
      top = TopK(w, k)
    }
  )");
  onnx::NodeProto* no_output = model.mutable_graph()->add_node();
  no_output->set_op_type("Constant");
  no_output->add_input("w");
  ReferenceEvaluator evaluator;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PreparedModel> prepared, evaluator.Prepare(model));
  RunOptions all;
  all.return_all_values = true;
  ASSERT_OK_AND_ASSIGN(TensorMap out, prepared->Run({{"x", Floats({2}, {5, 6})}}, all));
  EXPECT_THAT(Values(out["y"]), ElementsAre(5, 6));
  EXPECT_THAT(Values(out["top"]), ElementsAre(3));
}

TEST(PreparedModelTest, ThreadsRunOnePreparedModelAtOnce) {
  onnx::ModelProto model = ParseModelText(kIfWithConstants);
  ConstantsToRawData(model.mutable_graph());
  ReferenceEvaluator evaluator;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PreparedModel> prepared, evaluator.Prepare(model));
  std::vector<int> failures(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int run = 0; run < 200; ++run) {
        const bool c = (run + t) % 2 == 0;
        const float v = static_cast<float>(t * 1000 + run);
        absl::StatusOr<TensorMap> out = prepared->Run({{"c", Bool(c)}, {"x", Floats({2}, {v, 1})}});
        const std::vector<float> want =
            c ? std::vector<float>{2 * v, 3} : std::vector<float>{10 + v, 21};
        if (!out.ok() || Values((*out)["y"]) != want) ++failures[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(failures, ElementsAre(0, 0, 0, 0));
}

}  // namespace
}  // namespace halfcast
