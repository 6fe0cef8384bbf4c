// The op tables: the parser's rules and errors, every builtin table parsing, the entries the
// converter relies on for today's transformers, and which source the catalog picks.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "onnx/defs/data_type_utils.h"
#include "ops/op_catalog.h"
#include "ops/op_table.h"
#include "testing/status_matchers.h"

namespace halfcast::ops {
namespace {

using ::halfcast::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;

// The types a formal of `schema` allows, as onnx type strings.
std::set<std::string> Allowed(const onnx::OpSchema& schema, const onnx::OpSchema::FormalParameter& f) {
  std::set<std::string> out;
  for (onnx::DataType t : f.GetTypes()) out.insert(*t);
  return out;
}

const onnx::OpSchema::FormalParameter& Input(const onnx::OpSchema& schema, const std::string& name) {
  for (const auto& f : schema.inputs()) {
    if (f.GetName() == name) return f;
  }
  ADD_FAILURE() << schema.Name() << " has no input " << name;
  return schema.inputs()[0];
}

const onnx::OpSchema::FormalParameter& Output(const onnx::OpSchema& schema,
                                              const std::string& name) {
  for (const auto& f : schema.outputs()) {
    if (f.GetName() == name) return f;
  }
  ADD_FAILURE() << schema.Name() << " has no output " << name;
  return schema.outputs()[0];
}

TEST(OpTableTest, ParsesRecordsIntoSchemas) {
  absl::StatusOr<std::vector<TableOp>> ops = ParseOpTable(R"(
    # a comment
    domain com.example
    let floats = float16 float   # trailing comment
    op Mix 3
      in  x      T
      in  scale  float optional
      in  rest   T variadic
      out y      T
      out code   int32 optional
      type T = $floats bfloat16 float8e4m3fn
      attr dtype int 1
      cpu T = float
      note a test op
    op Wide 1
      in  x  float8e5m2
      out y  seq(tensor(float))
  )", "test.optable");
  ASSERT_OK(ops.status());
  ASSERT_EQ(ops->size(), 2u);
  const onnx::OpSchema& mix = *(*ops)[0].schema;
  EXPECT_EQ(mix.Name(), "Mix");
  EXPECT_EQ(mix.domain(), "com.example");
  EXPECT_EQ(mix.SinceVersion(), 3);
  ASSERT_EQ(mix.inputs().size(), 3u);
  EXPECT_EQ(mix.inputs()[0].GetTypeStr(), "T");
  // float8 is unknown to onnx 1.12 and dropped; the rest are tensors.
  EXPECT_EQ(Allowed(mix, mix.inputs()[0]),
            (std::set<std::string>{"tensor(float16)", "tensor(float)", "tensor(bfloat16)"}));
  EXPECT_EQ(mix.inputs()[1].GetTypeStr(), "tensor(float)");
  EXPECT_EQ(mix.inputs()[1].GetOption(), onnx::OpSchema::Optional);
  EXPECT_EQ(mix.inputs()[2].GetOption(), onnx::OpSchema::Variadic);
  EXPECT_EQ(mix.outputs()[1].GetTypeStr(), "tensor(int32)");
  ASSERT_TRUE(mix.attributes().count("dtype"));
  EXPECT_EQ(mix.attributes().at("dtype").default_value.i(), 1);
  ASSERT_EQ((*ops)[0].cpu_types.size(), 1u);
  EXPECT_EQ((*ops)[0].cpu_types[0].first, "T");
  EXPECT_EQ((*ops)[0].cpu_types[0].second, std::vector<std::string>{"tensor(float)"});
  EXPECT_EQ((*ops)[0].note, "a test op");
  EXPECT_EQ((*ops)[0].line, 5);
  // A fixed type onnx cannot intern allows nothing onnx knows.
  const onnx::OpSchema& wide = *(*ops)[1].schema;
  EXPECT_TRUE(Allowed(wide, wide.inputs()[0]).empty());
  EXPECT_EQ(Allowed(wide, wide.outputs()[0]), std::set<std::string>{"seq(tensor(float))"});
}

TEST(OpTableTest, MalformedTablesNameTheLine) {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"op A 1\n  out y float", "t:1: the first statement must be `domain NAME`"},
      {"", "has no `domain` statement"},
      {"domain d\nop A 1\n  in x T\n  out y T", "t:2: formal 'x' of A has type 'T', neither"},
      {"domain d\nop A 1\n  in x float variadic\n  in z float\n  out y float",
       "t:4: formal 'z' follows a variadic one"},
      {"domain d\nop A 1\n  out y float\nop A 1\n  out y float", "t:4: a second record of A-1"},
      {"domain d\nop A 1\n  in x float", "t:2: A has no outputs"},
      {"domain d\nop A 1\n  out y T\n  type T = floaty", "t:4: unknown type 'floaty'"},
      {"domain d\nop A 1\n  out y float\n  attr a number", "t:4: unknown attribute kind"},
      {"domain d\nop A 1\n  out y float\n  cpu T = float", "t:2: `cpu T` names no type"},
      {"domain d\nop A 1\n  out y float\n  bogus", "t:4: unknown statement 'bogus'"},
      {"domain d\n  in x float", "t:2: `in` outside an `op` record"},
      {"domain d\nop A zero", "t:2: expected `op NAME SINCE_VERSION`"},
      {"domain d\nop A 1\n  out y T\n  type T = $nothing", "t:4: unknown list '$nothing'"},
      {"domain d\nop A 1\n  out y float\n  attr a int x", "t:4: bad default 'x' for int"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(ParseOpTable(c.text, "t"),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.error)))
        << c.text;
  }
}

TEST(OpTableTest, EveryBuiltinTableParses) {
  EXPECT_THAT(OpCatalog::Instance().errors(), ::testing::IsEmpty());
  ASSERT_GE(BuiltinOpTables().size(), 3u);
  for (const auto& [file, text] : BuiltinOpTables()) {
    std::vector<TableKernel> kernels;
    absl::StatusOr<std::vector<TableOp>> ops = ParseOpTable(text, file, &kernels);
    ASSERT_OK(ops.status()) << file;
    // ai_onnx_ort_cpu.optable holds only `kernel` records.
    EXPECT_GT(ops->size() + kernels.size(), 1u) << file;
  }
}

TEST(OpTableTest, KernelRecordsHoldOnlyCpuLines) {
  std::vector<TableKernel> kernels;
  absl::StatusOr<std::vector<TableOp>> ops = ParseOpTable(R"(
domain ai.onnx
kernel Clip 6
  cpu T = float
kernel Clip 12
  cpu T = float float16
  note measured
)", "t", &kernels);
  ASSERT_OK(ops.status());
  EXPECT_TRUE(ops->empty());
  ASSERT_EQ(kernels.size(), 2u);
  EXPECT_EQ(kernels[1].domain, "");
  EXPECT_EQ(kernels[1].op_type, "Clip");
  EXPECT_EQ(kernels[1].since, 12);
  EXPECT_EQ(kernels[1].note, "measured");
  ASSERT_EQ(kernels[1].cpu_types.size(), 1u);
  EXPECT_EQ(kernels[1].cpu_types[0].second,
            (std::vector<std::string>{"tensor(float)", "tensor(float16)"}));
  EXPECT_THAT(ParseOpTable("domain d\nkernel A 1\n  in x T\n", "t"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("t:3: `in` in a `kernel` record")));
  EXPECT_THAT(ParseOpTable("domain d\nkernel A 1\nkernel B 1\n  cpu T = float\n", "t"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("t:2: kernel A has no cpu")));
  EXPECT_THAT(ParseOpTable("domain d\nkernel A 1\n  cpu T = float\nkernel A 1\n  cpu T = float\n",
                           "t"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("t:4: a second record of kernel A-1")));
}

// ONNX Runtime's float16 CPU kernels, as the evaluator's kOnnxRuntimeCpu model reads them.
TEST(OpTableTest, OrtCpuFloat16Kernels) {
  const OpCatalog& catalog = OpCatalog::Instance();
  auto half = [&](const char* domain, const char* op, int opset) {
    return catalog.OrtCpuAccepts(domain, op, opset, "tensor(float16)");
  };
  EXPECT_TRUE(half("", "Concat", 13));
  EXPECT_TRUE(half("ai.onnx", "Reshape", 17));
  EXPECT_TRUE(half("", "LayerNormalization", 17));
  EXPECT_FALSE(half("", "Clip", 11));
  EXPECT_TRUE(half("", "Clip", 13));
  EXPECT_TRUE(half("", "Dropout", 10));
  EXPECT_FALSE(half("", "Dropout", 13));
  for (const char* op : {"Conv", "MatMul", "Gemm", "Add", "Relu", "LeakyRelu", "MaxPool",
                         "Softmax", "Resize", "Where", "BatchNormalization"}) {
    EXPECT_FALSE(half("", op, 17)) << op;
  }
  // com.microsoft: the op records' cpu lines.
  EXPECT_TRUE(half("com.microsoft", "SkipLayerNormalization", 1));
  EXPECT_FALSE(half("com.microsoft", "Attention", 1));
}

TEST(OpTableTest, DefaultDomainRecordsAreNewerThanOnnxKnows) {
  // A record onnx already knows at the same version would never be used (onnx wins a tie);
  // LayerNormalization-1 and SimplifiedLayerNormalization-1 are ONNX Runtime's own.
  const int onnx_newest = OpCatalog::OnnxNewestOpset("");
  for (const TableOp& op : OpCatalog::Instance().table_ops()) {
    if (!op.schema->domain().empty()) continue;
    const onnx::OpSchema* known = onnx::OpSchemaRegistry::Schema(
        op.schema->Name(), op.schema->SinceVersion(), "");
    if (known == nullptr) continue;
    EXPECT_GT(op.schema->SinceVersion(), onnx_newest) << op.schema->Name();
  }
}

// The entries the converter relies on for ONNX Runtime's fused transformer ops: which inputs and
// outputs follow the 16-bit type and which must keep their own.
TEST(OpTableTest, TransformerEntriesHaveTheRightTypeConstraints) {
  const OpCatalog& catalog = OpCatalog::Instance();
  const std::set<std::string> kHalf = {"tensor(float16)", "tensor(float)"};
  auto includes = [](const std::set<std::string>& have, const std::set<std::string>& want) {
    return std::includes(have.begin(), have.end(), want.begin(), want.end());
  };
  auto schema = [&](const char* domain, const char* op, int opset) {
    const onnx::OpSchema* s = catalog.Find(domain, op, opset).schema;
    EXPECT_NE(s, nullptr) << domain << ":" << op;
    return s;
  };
  for (const char* op : {"FusedMatMul", "BiasGelu", "FastGelu", "Gelu", "QuickGelu", "BiasAdd",
                         "SkipLayerNormalization", "SkipSimplifiedLayerNormalization",
                         "MultiHeadAttention", "Attention", "RotaryEmbedding",
                         "GroupQueryAttention", "BiasSoftmax", "FusedConv", "GroupNorm"}) {
    const onnx::OpSchema* s = schema("com.microsoft", op, 1);
    if (s == nullptr) continue;
    EXPECT_TRUE(includes(Allowed(*s, s->inputs()[0]), kHalf)) << op;
    EXPECT_EQ(s->inputs()[0].GetTypeStr(), s->outputs()[0].GetTypeStr()) << op;
  }
  const onnx::OpSchema* skip = schema("com.microsoft", "SkipLayerNormalization", 1);
  EXPECT_EQ(Allowed(*skip, Output(*skip, "mean")), std::set<std::string>{"tensor(float)"});
  EXPECT_EQ(Output(*skip, "input_skip_bias_sum").GetTypeStr(), "T");
  const onnx::OpSchema* attention = schema("com.microsoft", "Attention", 1);
  EXPECT_EQ(Allowed(*attention, Input(*attention, "mask_index")),
            std::set<std::string>{"tensor(int32)"});
  const onnx::OpSchema* gqa = schema("com.microsoft", "GroupQueryAttention", 1);
  EXPECT_EQ(Allowed(*gqa, Input(*gqa, "seqlens_k")), std::set<std::string>{"tensor(int32)"});
  EXPECT_TRUE(includes(Allowed(*gqa, Input(*gqa, "past_key")), kHalf));
  const onnx::OpSchema* rotary = schema("com.microsoft", "RotaryEmbedding", 1);
  EXPECT_EQ(Allowed(*rotary, Input(*rotary, "position_ids")),
            std::set<std::string>{"tensor(int64)"});
  const onnx::OpSchema* nbits = schema("com.microsoft", "MatMulNBits", 1);
  EXPECT_FALSE(Allowed(*nbits, Input(*nbits, "B")).count("tensor(float)"));
  EXPECT_TRUE(Allowed(*nbits, Input(*nbits, "B")).count("tensor(uint8)"));
  EXPECT_EQ(Input(*nbits, "scales").GetTypeStr(), Input(*nbits, "A").GetTypeStr());
  EXPECT_TRUE(Allowed(*nbits, Input(*nbits, "zero_points")).count("tensor(uint8)"));

  for (const auto& [op, since] : std::vector<std::pair<const char*, int>>{
           {"Gelu", 20}, {"GroupNormalization", 21}, {"RMSNormalization", 23},
           {"RotaryEmbedding", 23}, {"Attention", 23}, {"Mish", 22}, {"Swish", 24}}) {
    const onnx::OpSchema* s = schema("", op, 24);
    if (s == nullptr) continue;
    EXPECT_GE(s->SinceVersion(), since) << op;
    EXPECT_TRUE(includes(Allowed(*s, s->inputs()[0]), kHalf)) << op;
  }
  const onnx::OpSchema* resize = schema("", "Resize", 19);
  EXPECT_EQ(resize->SinceVersion(), 19);
  EXPECT_EQ(Allowed(*resize, Input(*resize, "scales")), std::set<std::string>{"tensor(float)"});
  const onnx::OpSchema* rms = schema("", "RMSNormalization", 23);
  EXPECT_TRUE(includes(Allowed(*rms, Input(*rms, "scale")), kHalf));
  const onnx::OpSchema* simplified = schema("", "SimplifiedLayerNormalization", 21);
  EXPECT_EQ(simplified->SinceVersion(), 1);
  EXPECT_EQ(Allowed(*simplified, Output(*simplified, "inv_std_var")),
            std::set<std::string>{"tensor(float)"});
}

TEST(OpCatalogTest, PicksTheNewestSchemaNotAboveTheOpset) {
  const OpCatalog& catalog = OpCatalog::Instance();
  // onnx knows Resize up to version 13 (opset 17); the table adds 18 and 19.
  EXPECT_EQ(catalog.Find("", "Resize", 17).source, OpSource::kOnnx);
  EXPECT_EQ(catalog.Find("", "Resize", 17).schema->SinceVersion(), 13);
  EXPECT_EQ(catalog.Find("ai.onnx", "Resize", 18).source, OpSource::kTable);
  EXPECT_EQ(catalog.Find("", "Resize", 18).schema->SinceVersion(), 18);
  EXPECT_EQ(catalog.Find("", "Resize", 21).schema->SinceVersion(), 19);
  // An op no newer version changed stays onnx's at any opset.
  EXPECT_EQ(catalog.Find("", "Relu", 21).source, OpSource::kOnnx);
  EXPECT_EQ(catalog.Find("", "Relu", 21).schema->SinceVersion(), 14);
  EXPECT_EQ(catalog.Find("", "Gelu", 19).schema, nullptr);
  EXPECT_EQ(catalog.Find("com.microsoft", "FusedMatMul", 1).source, OpSource::kTable);
  EXPECT_EQ(catalog.Find("com.example", "Thing", 1).source, OpSource::kUnknown);
  EXPECT_GE(catalog.TableNewestOpset(""), 24);
  EXPECT_EQ(catalog.TableNewestOpset("com.microsoft"), 1);
  EXPECT_EQ(OpCatalog::OnnxNewestOpset(""), 17);
}

TEST(OpCatalogTest, OnnxWinsATieSoANewerOnnxTakesOver) {
  // A table describing Relu-14, which onnx also knows: onnx's schema is used.
  const std::vector<std::pair<const char*, absl::string_view>> tables = {
      {"mine.optable", "domain ai.onnx\nop Relu 14\n  in X T\n  out Y T\n  type T = float\n"
                       "op Relu 30\n  in X T\n  out Y T\n  type T = float\n"}};
  OpCatalog catalog(tables);
  EXPECT_EQ(catalog.Find("", "Relu", 17).source, OpSource::kOnnx);
  EXPECT_EQ(catalog.Find("", "Relu", 17).schema,
            onnx::OpSchemaRegistry::Schema("Relu", 17, ""));
  EXPECT_EQ(catalog.Find("", "Relu", 30).source, OpSource::kTable);
  EXPECT_EQ(catalog.Find("", "Relu", 30).table->line, 6);
  EXPECT_STREQ(OpSourceName(OpSource::kTable), "halfcast_table");
  EXPECT_STREQ(OpSourceName(OpSource::kOnnx), "onnx");
}

TEST(OpCatalogTest, AMalformedTableIsLeftOutWithItsError) {
  const std::vector<std::pair<const char*, absl::string_view>> tables = {
      {"bad.optable", "domain d\nop A 1\n  in x T\n  out y T\n"},
      {"good.optable", "domain d\nop B 1\n  out y float\n"}};
  OpCatalog catalog(tables);
  EXPECT_THAT(catalog.errors(), ::testing::ElementsAre(HasSubstr("bad.optable:2:")));
  EXPECT_EQ(catalog.Find("d", "A", 1).source, OpSource::kUnknown);
  EXPECT_EQ(catalog.Find("d", "B", 1).source, OpSource::kTable);
}

}  // namespace
}  // namespace halfcast::ops
