// The graph index (scopes, captures, order checks), the name generator and element types.
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "graph/element_types.h"
#include "graph/graph_index.h"
#include "graph/topo_sort.h"
#include "gtest/gtest.h"
#include "testing/onnx_text.h"
#include "testing/status_matchers.h"

namespace halfcast::graph {
namespace {

using ::halfcast::testing::ParseModelText;
using ::halfcast::testing::StatusIs;
using ::testing::HasSubstr;

constexpr int32_t kF32 = onnx::TensorProto::FLOAT;

const char* kNested = R"(
  <ir_version: 8, opset_import: ["" : 17]>
  g (bool c, float[3] x) => (float[3] y) <float[3] w = {1.0, 2.0, 3.0}> {
    s = Sigmoid(x)
    y = If(c) <
      then_branch = t () => (float[3] ty) {
        inner = If(c) <
          then_branch = t2 () => (float[3] a) { a = Add(s, w) },
          else_branch = e2 () => (float[3] b) { b = Neg(s) }>
        ty = Relu(inner)
      },
      else_branch = e () => (float[3] ey) { ey = Neg(x) }>
  })";

TEST(GraphIndexTest, ScopesArePreOrderWithPathsAndCaptures) {
  onnx::ModelProto model = ParseModelText(kNested);
  ASSERT_OK_AND_ASSIGN(GraphIndex index, GraphIndex::Build(model.mutable_graph()));
  ASSERT_EQ(index.size(), 5);
  EXPECT_EQ(index.scope(0).path, "");
  EXPECT_EQ(index.scope(1).path, "If_1/then_branch");
  EXPECT_EQ(index.scope(2).path, "If_1/then_branch/If_0/then_branch");
  EXPECT_EQ(index.scope(3).path, "If_1/then_branch/If_0/else_branch");
  EXPECT_EQ(index.scope(4).path, "If_1/else_branch");
  EXPECT_EQ(index.scope(2).parent, 1);
  EXPECT_EQ(index.scope(1).owner_node, 1);
  // `s` and `w` are captured two levels down.
  EXPECT_EQ(index.DefiningScope(2, "s"), 0);
  EXPECT_EQ(index.DefiningScope(2, "w"), 0);
  EXPECT_EQ(index.DefiningScope(1, "inner"), 1);
  EXPECT_EQ(index.DefiningScope(0, "inner"), -1);
  EXPECT_EQ(index.LocalDef(0, "w")->kind, ValueDef::kInitializer);
  EXPECT_EQ(index.LocalDef(0, "s")->kind, ValueDef::kNodeOutput);
}

TEST(GraphIndexTest, SubgraphMayNotReadAValueDefinedAfterItsOwner) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (bool c, float[3] x) => (float[3] y) {
      y = If(c) <
        then_branch = t () => (float[3] ty) { ty = Neg(late) },
        else_branch = e () => (float[3] ey) { ey = Neg(x) }>
      late = Relu(x)
    })");
  EXPECT_THAT(GraphIndex::Build(model.mutable_graph()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'late'")));
}

TEST(GraphIndexTest, GraphOutputMustBeDefined) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[3] x) => (float[3] y, float[3] nothing) { y = Neg(x) })");
  EXPECT_THAT(GraphIndex::Build(model.mutable_graph()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'nothing'")));
}

TEST(GraphIndexTest, AValueDefinedTwiceIsAnErrorButAnInputsDefaultIsNot) {
  onnx::ModelProto twice = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[3] x) => (float[3] y) {
      y = Neg(x)
      y = Relu(x)
    })");
  EXPECT_THAT(GraphIndex::Build(twice.mutable_graph()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'y' is defined twice")));
  // An initializer named like a graph input is the input's default value: one value, one id.
  onnx::ModelProto defaulted = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[3] x, float[3] w) => (float[3] y) <float[3] w = {1.0, 2.0, 3.0}> {
      y = Add(x, w)
    })");
  ASSERT_OK_AND_ASSIGN(GraphIndex index, GraphIndex::Build(defaulted.mutable_graph()));
  EXPECT_EQ(index.value_count(), 3);
  EXPECT_EQ(index.scope(0).initializers[0], index.scope(0).inputs[1]);
  EXPECT_EQ(index.InputId(0, 0, 1), index.scope(0).inputs[1]);
  EXPECT_EQ(index.value(index.OutputId(0, 0, 0)).name, "y");
}

TEST(NameGeneratorTest, ListsEveryNodeWhoseNameAnEarlierNodeHas) {
  onnx::ModelProto model = ParseModelText(kNested);
  // Scopes in pre-order: main (s, If), then-branch (If, Relu), its branches (Add; Neg), else (Neg).
  onnx::GraphProto* main = model.mutable_graph();
  main->mutable_node(0)->set_name("n");
  main->mutable_node(1)->set_name("m");
  onnx::GraphProto* then_branch = main->mutable_node(1)->mutable_attribute(0)->mutable_g();
  then_branch->mutable_node(1)->set_name("n");
  onnx::GraphProto* else_branch = main->mutable_node(1)->mutable_attribute(1)->mutable_g();
  else_branch->mutable_node(0)->set_name("m");
  ASSERT_OK_AND_ASSIGN(GraphIndex index, GraphIndex::Build(model.mutable_graph()));
  NameGenerator names(index);
  EXPECT_THAT(names.duplicate_node_names(),
              ::testing::ElementsAre(std::pair<int, int>(1, 1), std::pair<int, int>(4, 0)));
  EXPECT_EQ(names.Make("n"), "n_1");
  EXPECT_EQ(names.Make("m"), "m_1");
}

TEST(NameGeneratorTest, NamesNeverClashInAnyScope) {
  onnx::ModelProto model = ParseModelText(kNested);
  ASSERT_OK_AND_ASSIGN(GraphIndex index, GraphIndex::Build(model.mutable_graph()));
  NameGenerator names(index);
  std::set<std::string> seen;
  // "inner" and "a" live in subgraphs; "a_1" is taken next.
  EXPECT_EQ(names.Make("inner"), "inner_1");
  EXPECT_EQ(names.Make("a"), "a_1");
  EXPECT_EQ(names.Make("a"), "a_2");
  EXPECT_EQ(names.Make("fresh"), "fresh");
  EXPECT_EQ(names.Make("fresh"), "fresh_1");
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(seen.insert(names.Make("s")).second);
  EXPECT_FALSE(seen.count("s"));
}

TEST(NameGeneratorTest, SuffixedNamesAlreadyInTheModelAreSkipped) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[3] x) => (float[3] x_1) { x_1 = Neg(x) })");
  ASSERT_OK_AND_ASSIGN(GraphIndex index, GraphIndex::Build(model.mutable_graph()));
  NameGenerator names(index);
  EXPECT_EQ(names.Make("x"), "x_2");
}

TEST(ElementTypesTest, SchemaPropagationTypesWhatInferenceIsNotAskedFor) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[3] x, int64[1] shape) => (float[3] y) {
      a = Relu(x)
      n = Cast<to = 7>(a)
      k = ConstantOfShape(shape)
      r = RandomNormal<shape = [3]>()
      l = RandomUniformLike<dtype = 11>(a)
      y = Add(a, r)
    })");
  ASSERT_OK_AND_ASSIGN(GraphIndex index, GraphIndex::Build(model.mutable_graph()));
  ops::SchemaLookup lookup(model);
  NodeSchemas schemas(index, lookup);
  std::vector<std::string> notes;
  ASSERT_OK_AND_ASSIGN(TypeTable types,
                       InferElementTypes(model, index, schemas, /*use_shape_inference=*/false,
                                         &notes));
  EXPECT_TRUE(types.Get(0, "a").Is(kF32));
  EXPECT_TRUE(types.Get(0, "n").Is(onnx::TensorProto::INT64));
  EXPECT_TRUE(types.Get(0, "k").Is(kF32));
  EXPECT_TRUE(types.Get(0, "r").Is(kF32));
  EXPECT_TRUE(types.Get(0, "l").Is(onnx::TensorProto::DOUBLE));
  EXPECT_TRUE(notes.empty());
}

TEST(ElementTypesTest, SubgraphOutputsTypeTheirOwner) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (bool c, float[3] x) => (float[3] y) {
      z = If(c) <
        then_branch = t () => (float[3] ty) { ty = Neg(x) },
        else_branch = e () => (float[3] ey) { ey = Relu(x) }>
      y = Add(z, x)
    })");
  // Drop the declared branch output types: they must come back from the branch nodes.
  for (auto& attr : *model.mutable_graph()->mutable_node(0)->mutable_attribute()) {
    attr.mutable_g()->mutable_output(0)->clear_type();
  }
  ASSERT_OK_AND_ASSIGN(GraphIndex index, GraphIndex::Build(model.mutable_graph()));
  ops::SchemaLookup lookup(model);
  NodeSchemas schemas(index, lookup);
  std::vector<std::string> notes;
  ASSERT_OK_AND_ASSIGN(TypeTable types, InferElementTypes(model, index, schemas, false, &notes));
  EXPECT_TRUE(types.Get(0, "z").Is(kF32));
  EXPECT_TRUE(types.Get(1, "ty").Is(kF32));
}

TEST(ElementTypesTest, NewerOpsetsUseTheNewestKnownSchema) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[3] x) => (float[3] y) { y = Relu(x) })");
  model.mutable_opset_import(0)->set_version(21);
  model.set_ir_version(10);
  ops::SchemaLookup schemas(model);
  const onnx::OpSchema* schema = schemas.Find(model.graph().node(0));
  ASSERT_NE(schema, nullptr);
  EXPECT_EQ(schema->SinceVersion(), 14);
}

std::vector<std::string> OpOrder(const onnx::GraphProto& graph) {
  std::vector<std::string> ops;
  for (const auto& node : graph.node()) ops.push_back(node.op_type());
  return ops;
}

TEST(TopoSortTest, SortsStablyCountingWhatSubgraphsCapture) {
  // The If's branch reads `b` from the enclosing graph: the If must follow b's producer although
  // none of its inputs names b. The independent Neg keeps its place ahead of both.
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2] x, bool c) => (float[2] y, float[2] n) {
      y = If (c) <then_branch = t () => (float[2] o) { o = Identity(b) },
                  else_branch = e () => (float[2] o) { o = Identity(x) }>
      n = Neg(x)
      b = Relu(x)
    })");
  EXPECT_FALSE(IsTopologicallySorted(model.graph()));
  ASSERT_OK_AND_ASSIGN(bool moved, SortTopologically(model.mutable_graph()));
  EXPECT_TRUE(moved);
  EXPECT_EQ(OpOrder(model.graph()), (std::vector<std::string>{"Neg", "Relu", "If"}));
  EXPECT_TRUE(IsTopologicallySorted(model.graph()));
  ASSERT_OK(GraphIndex::Build(model.mutable_graph()).status());
  // Sorting a sorted graph changes nothing.
  ASSERT_OK_AND_ASSIGN(moved, SortTopologically(model.mutable_graph()));
  EXPECT_FALSE(moved);

  onnx::ModelProto cycle = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2] x) => (float[2] y) {
      a = Add(x, y)
      y = Relu(a)
    })");
  EXPECT_THAT(SortTopologically(cycle.mutable_graph()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cycle")));
}

TEST(TopoSortTest, StableOrderKeepsReadyNodesInIndexOrder) {
  // Node 2 feeds 0 and 1; 2 and 3 are ready at once and the lower goes first, then 0 (now the
  // lowest ready), 1 and 3.
  std::vector<std::vector<int>> consumers = {{}, {}, {0, 1}, {}};
  std::vector<int> pending = {1, 1, 0, 0};
  EXPECT_EQ(StableTopologicalOrder(consumers, &pending), (std::vector<int>{2, 0, 1, 3}));
  std::vector<std::vector<int>> loop = {{1}, {0}, {}};
  std::vector<int> waiting = {1, 1, 0};
  EXPECT_EQ(StableTopologicalOrder(loop, &waiting), (std::vector<int>{2}));
  EXPECT_EQ(waiting, (std::vector<int>{1, 1, 0}));
}

}  // namespace
}  // namespace halfcast::graph
