// Malformed and hostile models are refused with an error naming the fault (issue 11's cases).
#include "graph/model_validation.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/onnx_text.h"
#include "testing/status_matchers.h"

namespace halfcast::graph {
namespace {

using ::halfcast::testing::NestedIfs;
using ::halfcast::testing::ParseModelText;
using ::halfcast::testing::StatusIs;
using ::testing::HasSubstr;

onnx::ModelProto AddModel() {
  return ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2] x) => (float[2] y) {
      y = Add(x, w)
    })");
}

onnx::TensorProto* AddInitializer(onnx::ModelProto* model, int32_t type,
                                  std::initializer_list<int64_t> dims) {
  onnx::TensorProto* t = model->mutable_graph()->add_initializer();
  t->set_name("w");
  t->set_data_type(type);
  for (int64_t d : dims) t->add_dims(d);
  return t;
}

void ExpectRefused(const onnx::ModelProto& model, const std::string& message) {
  EXPECT_THAT(ValidateModel(model), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr(message)));
}

TEST(ModelValidationTest, AcceptsWellFormedTensorsOfEveryStorage) {
  onnx::ModelProto model = AddModel();
  AddInitializer(&model, onnx::TensorProto::FLOAT, {2})->set_raw_data(std::string(8, '\0'));
  EXPECT_OK(ValidateModel(model));
  onnx::TensorProto* typed = model.mutable_graph()->mutable_initializer(0);
  typed->clear_raw_data();
  typed->add_float_data(1);
  typed->add_float_data(2);
  EXPECT_OK(ValidateModel(model));
  // Empty tensors, 4-bit types newer than onnx 1.12 (three values pack into two bytes) and
  // external data (checked where it is read) pass.
  AddInitializer(&model, onnx::TensorProto::FLOAT, {0, int64_t{1} << 62})->set_name("e");
  AddInitializer(&model, 21 /* UINT4 */, {3})->set_raw_data(std::string(2, '\0'));
  model.mutable_graph()->mutable_initializer(2)->set_name("u4");
  onnx::TensorProto* external = AddInitializer(&model, onnx::TensorProto::FLOAT, {4});
  external->set_name("ext");
  external->set_data_location(onnx::TensorProto::EXTERNAL);
  EXPECT_OK(ValidateModel(model));
}

TEST(ModelValidationTest, RefusesTensorsThatCannotBe) {
  {
    onnx::ModelProto model = AddModel();
    AddInitializer(&model, onnx::TensorProto::FLOAT, {int64_t{1} << 40, int64_t{1} << 40});
    ExpectRefused(model, "initializer 'w' has dims [1099511627776, 1099511627776], whose element "
                         "count overflows");
  }
  {
    onnx::ModelProto model = AddModel();
    AddInitializer(&model, onnx::TensorProto::FLOAT, {int64_t{1} << 62, int64_t{1} << 62, 4});
    ExpectRefused(model, "whose element count overflows");
  }
  {
    onnx::ModelProto model = AddModel();
    AddInitializer(&model, onnx::TensorProto::DOUBLE, {int64_t{1} << 61});
    ExpectRefused(model, "whose byte size overflows");
  }
  {
    onnx::ModelProto model = AddModel();
    AddInitializer(&model, onnx::TensorProto::FLOAT, {-2, 3});
    ExpectRefused(model, "initializer 'w' has a negative dimension: dims [-2, 3]");
  }
  {
    onnx::ModelProto model = AddModel();
    AddInitializer(&model, 999, {2});
    ExpectRefused(model, "initializer 'w' has element type 999, which is no element type");
  }
  {
    onnx::ModelProto model = AddModel();
    AddInitializer(&model, onnx::TensorProto::FLOAT, {2})->set_raw_data(std::string(7, '\0'));
    ExpectRefused(model, "holds 7 bytes of raw data but its dims [2] need 8");
  }
  {
    onnx::ModelProto model = AddModel();
    AddInitializer(&model, onnx::TensorProto::FLOAT, {3})->add_float_data(1);
    ExpectRefused(model, "holds 1 values but its dims [3] need 3");
  }
}

TEST(ModelValidationTest, RefusesBadNodesAndShadowingNames) {
  onnx::ModelProto constant = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2] x) => (float[2] y) {
      w = Constant <value = float[2] {1.0, 2.0}> ()
      y = Add(x, w)
    })");
  EXPECT_OK(ValidateModel(constant));
  constant.mutable_graph()->mutable_node(0)->mutable_attribute(0)->mutable_t()->add_dims(
      int64_t{1} << 40);
  constant.mutable_graph()->mutable_node(0)->mutable_attribute(0)->mutable_t()->add_dims(
      int64_t{1} << 40);
  ExpectRefused(constant, "attribute 'value' of node 'Constant_0'");

  onnx::ModelProto cast = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2] x) => (float[2] y) {
      y = Cast <to = 999> (x)
    })");
  ExpectRefused(cast, "attribute 'to' of node 'Cast_0' is 999, which is no element type");

  onnx::ModelProto empty_op = AddModel();
  empty_op.mutable_graph()->mutable_node(0)->clear_op_type();
  ExpectRefused(empty_op, "has no op type");

  onnx::ModelProto shadow = AddModel();
  shadow.mutable_graph()->mutable_node(0)->set_input(1, "x");
  onnx::TensorProto* t = AddInitializer(&shadow, onnx::TensorProto::INT64, {2});
  t->set_name("x");
  t->add_int64_data(1);
  t->add_int64_data(2);
  ExpectRefused(shadow, "initializer 'x' (element type 7) shadows the graph input of that name, "
                        "declared with element type 1");

  onnx::ModelProto no_ir = AddModel();
  no_ir.set_ir_version(0);
  ExpectRefused(no_ir, "ir_version is 0");
}

TEST(ModelValidationTest, LooksInsideSubgraphs) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2] x, bool c) => (float[2] y) {
      y = If (c) <then_branch = t () => (float[2] o) { o = Cast <to = 1> (x) },
                  else_branch = e () => (float[2] o) { o = Identity(x) }>
    })");
  EXPECT_OK(ValidateModel(model));
  model.mutable_graph()->mutable_node(0)->mutable_attribute(0)->mutable_g()->mutable_node(0)
      ->mutable_attribute(0)->set_i(77);
  ExpectRefused(model, "in subgraph 'If_0/then_branch'");
}

TEST(ModelValidationTest, BoundsHowDeepSubgraphsNest) {
  EXPECT_OK(ValidateModel(NestedIfs(kMaxSubgraphDepth)));
  ExpectRefused(NestedIfs(kMaxSubgraphDepth + 1), "subgraphs are nested more than 100 deep");
  // Far deeper than any stack-hungry pass could survive: refused at once.
  ExpectRefused(NestedIfs(10000), "subgraphs are nested more than 100 deep");
}

}  // namespace
}  // namespace halfcast::graph
