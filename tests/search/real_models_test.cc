// The shared real models (tests/data/models): the detector that plain float16 conversion ruins
// is rescued by the search; the others convert with their outputs validated.
#include <cstring>
#include <string>

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

// Runs `converted` and `original` on `feed` and judges with rtol 0.01 / atol 0.001.
bool Validates(const onnx::ModelProto& original, const onnx::ModelProto& converted,
               const TensorMap& feed) {
  ReferenceEvaluator evaluator;
  absl::StatusOr<TensorMap> reference = evaluator.Run(original, feed);
  absl::StatusOr<TensorMap> outputs = evaluator.Run(converted, feed);
  EXPECT_OK(reference.status());
  EXPECT_OK(outputs.status());
  if (!reference.ok() || !outputs.ok()) return false;
  TensorMap widened;
  for (const auto& [name, tensor] : *outputs) widened[name] = search::WidenToFloat(tensor);
  search::Validator validator(search::Tolerance{0.01, 0.001}, nullptr);
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
