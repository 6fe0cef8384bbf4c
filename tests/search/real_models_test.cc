// The shared real models (tests/data/models): the detector that plain float16 conversion ruins
// is rescued by the search; the others convert with their outputs validated.
#include <cstring>
#include <string>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "halfcast/convert.h"
#include "halfcast/evaluator.h"
#include "halfcast/mixed_precision.h"
#include "halfcast/model_io.h"
#include "search/model_feeds.h"
#include "search/validator.h"
#include "testing/status_matchers.h"

namespace halfcast {
namespace {

using search::testing::SharedModel;

onnx::ModelProto Load(const std::string& file) {
  absl::StatusOr<onnx::ModelProto> model =
      LoadModel(std::string(HALFCAST_TEST_DATA_DIR) + "/models/" + file);
  EXPECT_OK(model.status());
  return model.ok() ? *std::move(model) : onnx::ModelProto();
}

// Runs `converted` and `original` on `feed` and judges with rtol / atol.
bool Validates(const onnx::ModelProto& original, const onnx::ModelProto& converted,
               const TensorMap& feed, double rtol = 0.01, double atol = 0.001) {
  ReferenceEvaluator evaluator;
  absl::StatusOr<TensorMap> reference = evaluator.Run(original, feed);
  absl::StatusOr<TensorMap> outputs = evaluator.Run(converted, feed);
  EXPECT_OK(reference.status());
  EXPECT_OK(outputs.status());
  if (!reference.ok() || !outputs.ok()) return false;
  TensorMap widened;
  for (const auto& [name, tensor] : *outputs) widened[name] = search::WidenToFloat(tensor);
  search::Validator validator(search::Tolerance{rtol, atol}, nullptr);
  absl::StatusOr<search::Verdict> verdict = validator.Judge(*reference, widened);
  EXPECT_OK(verdict.status());
  return verdict.ok() && verdict->valid;
}

class RealModelTest : public ::testing::TestWithParam<SharedModel> {};

TEST_P(RealModelTest, ConvertsWithOutputsValidated) {
  const SharedModel& shared = GetParam();
  const onnx::ModelProto model = Load(shared.file);
  const absl::Status supported = ReferenceEvaluator().CheckSupported(model);
  if (absl::IsUnimplemented(supported)) GTEST_SKIP() << supported;
  MixedPrecisionOptions options;
  options.rtol = 0.01;
  options.atol = 0.001;
  options.keep_io_types = true;
  ASSERT_OK_AND_ASSIGN(MixedPrecisionResult result,
                       AutoConvertMixedPrecision(model, {shared.feed}, options));
  // Checked independently of the search's own judgement.
  EXPECT_TRUE(Validates(model, result.model, shared.feed));
  EXPECT_GT(result.report.conversion.nodes_converted, 0);
  if (shared.file == "ch_PP-OCRv4_det_infer.onnx") {
    // Plain conversion fails these tolerances, so the search must have kept something.
    ConvertOptions plain;
    plain.keep_io_types = true;
    ASSERT_OK_AND_ASSIGN(ConvertResult converted, ConvertFloatToFloat16(model, plain));
    EXPECT_FALSE(Validates(model, converted.model, shared.feed));
    int kept = 0;
    for (const KeptNode& node : result.report.conversion.kept_nodes) {
      kept += node.reason == KeepReason::kSearch;
    }
    EXPECT_GT(kept, 0);
  }
}

// `model` with its whole network moved into the branches of one If (the shape of exported
// models that pick a network by a flag): the main graph holds only the condition and the If.
onnx::ModelProto WholeNetworkInAnIf(const onnx::ModelProto& model) {
  onnx::ModelProto wrapped = model;
  onnx::GraphProto branch = model.graph();
  branch.clear_input();  // the branch reads the model's inputs from the main graph
  onnx::GraphProto* main = wrapped.mutable_graph();
  main->clear_node();
  main->clear_initializer();
  main->clear_value_info();
  onnx::NodeProto* condition = main->add_node();
  condition->set_op_type("Constant");
  condition->add_output("use_network");
  onnx::AttributeProto* value = condition->add_attribute();
  value->set_name("value");
  value->set_type(onnx::AttributeProto::TENSOR);
  value->mutable_t()->set_data_type(onnx::TensorProto::BOOL);
  value->mutable_t()->add_int32_data(1);
  onnx::NodeProto* choose = main->add_node();
  choose->set_op_type("If");
  choose->set_name("choose_network");
  choose->add_input("use_network");
  for (const auto& output : model.graph().output()) choose->add_output(output.name());
  for (const std::string name : {"then_branch", "else_branch"}) {
    onnx::AttributeProto* attribute = choose->add_attribute();
    attribute->set_name(name);
    attribute->set_type(onnx::AttributeProto::GRAPH);
    onnx::GraphProto* g = attribute->mutable_g();
    *g = branch;
    g->set_name(name);
    // A branch must not redefine the names of the If's outputs (no shadowing in ONNX).
    for (onnx::ValueInfoProto& output : *g->mutable_output()) {
      const std::string old_name = output.name();
      const std::string new_name = name + "/" + old_name;
      output.set_name(new_name);
      for (onnx::NodeProto& node : *g->mutable_node()) {
        for (std::string& v : *node.mutable_output()) if (v == old_name) v = new_name;
        for (std::string& v : *node.mutable_input()) if (v == old_name) v = new_name;
      }
      for (onnx::ValueInfoProto& v : *g->mutable_value_info()) {
        if (v.name() == old_name) v.set_name(new_name);
      }
    }
  }
  return wrapped;
}

// The Silero VAD variant: every node but the If sits in its branches, so the search
// finds what must stay float32 there or nowhere. A loud input (amplitude 64) makes the STFT's
// squared magnitudes overflow float16, which ruins plain conversion.
TEST(SubgraphRealModelTest, SearchesInsideTheBranchesThatHoldTheNetwork) {
  SharedModel shared = search::testing::SharedModels()[3];
  ASSERT_EQ(shared.file, "silero_vad_16k_op15.onnx");
  shared.feed["input"] = search::testing::UniformFloats({1, 512}, -64, 64, 1);
  const onnx::ModelProto model = WholeNetworkInAnIf(Load(shared.file));
  MixedPrecisionOptions options;
  options.rtol = 0.01;
  options.atol = 0.001;
  options.keep_io_types = true;
  ConvertOptions plain;
  plain.keep_io_types = true;
  ASSERT_OK_AND_ASSIGN(ConvertResult converted, ConvertFloatToFloat16(model, plain));
  ASSERT_FALSE(Validates(model, converted.model, shared.feed));
  ASSERT_OK_AND_ASSIGN(MixedPrecisionResult result,
                       AutoConvertMixedPrecision(model, {shared.feed}, options));
  EXPECT_TRUE(Validates(model, result.model, shared.feed));
  int kept = 0;
  for (const KeptNode& node : result.report.conversion.kept_nodes) {
    if (node.reason != KeepReason::kSearch) continue;
    ++kept;
    EXPECT_TRUE(absl::StartsWith(node.location_graph, "1/then_branch")) << node.location_graph;
  }
  EXPECT_GT(kept, 0);
  EXPECT_GT(result.report.conversion.nodes_converted, kept);
}

// Runs every incremental evaluation (one given precomputed values) a second time in full and
// compares every value both return, bit for bit: the search counts an incremental attempt that
// validates as a validation of its set, which is sound only if reuse changes nothing.
class ReuseCheckingEvaluator : public Evaluator {
 public:
  absl::StatusOr<TensorMap> Run(const onnx::ModelProto& model, const TensorMap& feeds,
                                const RunOptions& options) override {
    absl::StatusOr<TensorMap> values = inner_.Run(model, feeds, options);
    if (!values.ok() || options.precomputed == nullptr || options.precomputed->empty()) {
      return values;
    }
    ++incremental_runs;
    RunOptions full_options = options;
    full_options.precomputed = nullptr;
    full_options.return_all_values = true;
    absl::StatusOr<TensorMap> full = inner_.Run(model, feeds, full_options);
    EXPECT_OK(full.status());
    if (!full.ok()) return values;
    TensorMap merged = *values;  // what the search sees: returned values plus the reused ones
    for (const auto& [name, tensor] : *options.precomputed) merged.emplace(name, tensor);
    for (const auto& [name, tensor] : merged) {
      auto it = full->find(name);
      if (it == full->end()) continue;  // a graph input or initializer
      ++compared_values;
      const Tensor& expected = it->second;
      EXPECT_EQ(tensor.type(), expected.type()) << name;
      EXPECT_EQ(tensor.shape(), expected.shape()) << name;
      if (tensor.type() == expected.type() && tensor.shape() == expected.shape() &&
          tensor.type() != DataType::kString) {
        EXPECT_EQ(std::memcmp(tensor.raw_data(), expected.raw_data(), tensor.byte_size()), 0)
            << name << " differs between the incremental and the full run";
      }
    }
    return values;
  }
  int incremental_runs = 0;
  int compared_values = 0;

 private:
  ReferenceEvaluator inner_;
};

// The detector is the shared model with a real search (several attempts after the reference).
class ReuseTest : public ::testing::TestWithParam<SearchStrategy> {};

TEST_P(ReuseTest, IncrementalAttemptsMatchFullRuns) {
  const SharedModel shared = search::testing::SharedModels()[0];
  ASSERT_EQ(shared.file, "ch_PP-OCRv4_det_infer.onnx");
  const onnx::ModelProto model = Load(shared.file);
  ReuseCheckingEvaluator evaluator;
  MixedPrecisionOptions options;
  options.rtol = 0.01;
  options.atol = 0.001;
  options.keep_io_types = true;
  options.strategy = GetParam();
  options.evaluator = &evaluator;
  ASSERT_OK_AND_ASSIGN(MixedPrecisionResult result,
                       AutoConvertMixedPrecision(model, {shared.feed}, options));
  EXPECT_GT(evaluator.incremental_runs, 0);
  EXPECT_GT(evaluator.compared_values, 0);
  EXPECT_TRUE(Validates(model, result.model, shared.feed));
}

INSTANTIATE_TEST_SUITE_P(Both, ReuseTest,
                         ::testing::Values(SearchStrategy::kBisect, SearchStrategy::kErrorGuided),
                         [](const auto& info) {
                           return info.param == SearchStrategy::kBisect ? "Bisect" : "ErrorGuided";
                         });

INSTANTIATE_TEST_SUITE_P(Shared, RealModelTest,
                         ::testing::ValuesIn(search::testing::SharedModels()),
                         [](const auto& info) {
                           std::string name = info.param.file.substr(0, info.param.file.find('.'));
                           for (char& c : name) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace halfcast
