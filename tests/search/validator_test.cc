#include "search/validator.h"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "numerics/float16.h"
#include "search/tensor_values.h"
#include "testing/status_matchers.h"

namespace halfcast::search {
namespace {

using ::halfcast::testing::StatusIs;
using ::testing::DoubleEq;
using ::testing::HasSubstr;

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

Tensor Floats(std::vector<float> values, std::vector<int64_t> shape = {}) {
  if (shape.empty()) shape = {static_cast<int64_t>(values.size())};
  return Tensor::Copy(DataType::kFloat, shape, values.data());
}

TEST(ResolveToleranceTest, DefaultsAsSpec) {
  ASSERT_OK_AND_ASSIGN(auto only_atol, ResolveTolerance(std::nullopt, 0.1, false));
  EXPECT_DOUBLE_EQ(only_atol->rtol, 1e-5);
  EXPECT_DOUBLE_EQ(only_atol->atol, 0.1);
  ASSERT_OK_AND_ASSIGN(auto only_rtol, ResolveTolerance(0.01, std::nullopt, false));
  EXPECT_DOUBLE_EQ(only_rtol->rtol, 0.01);
  EXPECT_DOUBLE_EQ(only_rtol->atol, 1e-8);
  ASSERT_OK_AND_ASSIGN(auto neither, ResolveTolerance(std::nullopt, std::nullopt, true));
  EXPECT_FALSE(neither.has_value());
  EXPECT_THAT(ResolveTolerance(std::nullopt, std::nullopt, false),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("validate_fn")));
  EXPECT_THAT(ResolveTolerance(-1.0, std::nullopt, false),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("rtol")));
  EXPECT_THAT(ResolveTolerance(0.1, std::nan(""), false),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("atol")));
}

TEST(CompareTensorsTest, AllcloseBoundUsesReferenceMagnitude) {
  const Tolerance tol{0.1, 0.01};
  // |a-b| <= 0.01 + 0.1*|b|: for b=10 the bound is 1.01.
  EXPECT_TRUE(CompareTensors("y", Floats({10}), Floats({11}), tol).close);
  EXPECT_FALSE(CompareTensors("y", Floats({10}), Floats({11.02f}), tol).close);
  // Not symmetric: b=11 as reference, a=10 -> bound 1.11 passes; b=1 a=0: bound 0.11 fails.
  EXPECT_TRUE(CompareTensors("y", Floats({11}), Floats({10}), tol).close);
  const Comparison c = CompareTensors("y", Floats({1, 2}), Floats({0, 2.5f}), tol);
  EXPECT_FALSE(c.close);
  EXPECT_THAT(c.error.max_abs_error, DoubleEq(1.0));
  EXPECT_THAT(c.error.max_rel_error, DoubleEq(1.0));
  EXPECT_THAT(c.ratio, DoubleEq(1.0 / 0.11));
}

TEST(CompareTensorsTest, NanFailsInfMustMatch) {
  const Tolerance tol{0.1, 0.1};
  EXPECT_FALSE(CompareTensors("y", Floats({kNaN}), Floats({kNaN}), tol).close);
  EXPECT_FALSE(CompareTensors("y", Floats({1}), Floats({kNaN}), tol).close);
  EXPECT_TRUE(CompareTensors("y", Floats({kInf, -kInf}), Floats({kInf, -kInf}), tol).close);
  const Comparison flipped = CompareTensors("y", Floats({kInf}), Floats({-kInf}), tol);
  EXPECT_FALSE(flipped.close);
  EXPECT_TRUE(std::isinf(flipped.ratio));
  EXPECT_FALSE(CompareTensors("y", Floats({65504}), Floats({kInf}), tol).close);
}

TEST(CompareTensorsTest, ShapeAndTypeMismatchFail) {
  const Comparison shape = CompareTensors("y", Floats({1, 2}, {1, 2}), Floats({1, 2}, {2}), {});
  EXPECT_FALSE(shape.close);
  EXPECT_THAT(shape.mismatch, HasSubstr("shape [2]"));
  const Comparison type =
      CompareTensors("y", Tensor::Strings({1}, {"a"}), Floats({1}), Tolerance{});
  EXPECT_THAT(type.mismatch, HasSubstr("type float"));
}

TEST(WidenNarrowTest, RoundsToTargetAndBack) {
  const Tensor narrow = NarrowFloat(Floats({1.0f / 3, 70000.0f, -0.0f}), DataType::kFloat16);
  ASSERT_EQ(narrow.type(), DataType::kFloat16);
  EXPECT_EQ(narrow.data<uint16_t>()[0], numerics::FloatToHalf(1.0f / 3));
  const Tensor wide = WidenToFloat(narrow);
  ASSERT_EQ(wide.type(), DataType::kFloat);
  EXPECT_EQ(wide.data<float>()[0], numerics::HalfToFloat(numerics::FloatToHalf(1.0f / 3)));
  EXPECT_EQ(wide.data<float>()[1], kInf);
  EXPECT_TRUE(std::signbit(wide.data<float>()[2]));
  const Tensor bf = NarrowFloat(Floats({1.0f / 3}), DataType::kBFloat16);
  EXPECT_EQ(WidenToFloat(bf).data<float>()[0],
            numerics::BFloat16ToFloat(numerics::FloatToBFloat16(1.0f / 3)));
  const int64_t ints[] = {7};
  EXPECT_EQ(NarrowFloat(Tensor::Copy(DataType::kInt64, {1}, ints), DataType::kFloat16).type(),
            DataType::kInt64);
}

TEST(TensorValuesTest, FloatReaderWidensEveryFloatTypeExactly) {
  const float values[3] = {1.5f, -65504.0f, 3.0e-8f};
  auto read_all = [](const Tensor& tensor) {
    std::vector<double> out;
    const bool read = WithFloatReader(tensor, [&](auto at) {
      for (int64_t i = 0; i < tensor.element_count(); ++i) out.push_back(at(i));
    });
    EXPECT_TRUE(read);
    return out;
  };
  const Tensor f32 = Tensor::Copy(DataType::kFloat, {3}, values);
  EXPECT_EQ(read_all(f32), ToDoubles(f32));
  const double doubles[2] = {0.1, -2.5};
  const Tensor f64 = Tensor::Copy(DataType::kDouble, {2}, doubles);
  EXPECT_EQ(read_all(f64), ToDoubles(f64));
  for (DataType type : {DataType::kFloat16, DataType::kBFloat16}) {
    const Tensor narrow = NarrowFloat(f32, type);
    EXPECT_EQ(read_all(narrow), ToDoubles(narrow)) << DataTypeName(type);
  }
  const int64_t ints[1] = {7};
  EXPECT_FALSE(WithFloatReader(Tensor::Copy(DataType::kInt64, {1}, ints),
                               [](auto) { ADD_FAILURE() << "called for int64"; }));
}

TEST(ValidatorTest, ToleranceAndValidateFnMustBothPass) {
  const TensorMap reference = {{"y", Floats({1, 2})}, {"z", Floats({100})}};
  const TensorMap close = {{"y", Floats({1.001f, 2})}, {"z", Floats({100.5f})}};
  const TensorMap far = {{"y", Floats({1.5f, 2})}, {"z", Floats({100})}};
  Validator tolerance_only(Tolerance{0.01, 0.001}, nullptr);
  ASSERT_OK_AND_ASSIGN(Verdict ok, tolerance_only.Judge(reference, close));
  EXPECT_TRUE(ok.valid);
  ASSERT_EQ(ok.errors.size(), 2u);
  EXPECT_EQ(ok.errors[1].name, "z");
  EXPECT_NEAR(ok.errors[1].max_abs_error, 0.5, 1e-9);
  ASSERT_OK_AND_ASSIGN(Verdict bad, tolerance_only.Judge(reference, far));
  EXPECT_FALSE(bad.valid);
  EXPECT_THAT(bad.summary, HasSubstr("output 'y'"));
  EXPECT_GT(bad.score, 1.0);

  int calls = 0;
  Validator both(Tolerance{0.01, 0.001}, [&](const TensorMap& r, const TensorMap& c) {
    ++calls;
    return c.at("z").data<float>()[0] == 100.0f;
  });
  ASSERT_OK_AND_ASSIGN(Verdict rejected, both.Judge(reference, close));
  EXPECT_FALSE(rejected.valid);
  EXPECT_THAT(rejected.summary, HasSubstr("validate_fn rejected"));
  EXPECT_EQ(calls, 1);

  Validator fn_only(std::nullopt, [](const TensorMap&, const TensorMap&) { return true; });
  ASSERT_OK_AND_ASSIGN(Verdict accepted, fn_only.Judge(reference, far));
  EXPECT_TRUE(accepted.valid);
}

TEST(ValidatorTest, ValidateFnErrorIsReturned) {
  Validator failing(std::nullopt, [](const TensorMap&, const TensorMap&) -> absl::StatusOr<bool> {
    return absl::InternalError("user check broke");
  });
  EXPECT_THAT(failing.Judge({{"y", Floats({1})}}, {{"y", Floats({1})}}),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("user check broke")));
}

TEST(ValidatorTest, ValidateFnExceptionBecomesAnError) {
  Validator throwing(std::nullopt, [](const TensorMap&, const TensorMap&) -> absl::StatusOr<bool> {
    throw std::runtime_error("index out of range in the user's check");
  });
  EXPECT_THAT(throwing.Judge({{"y", Floats({1})}}, {{"y", Floats({1})}}),
              StatusIs(absl::StatusCode::kUnknown,
                       HasSubstr("validate_fn threw an exception: index out of range")));
}

TEST(ValidatorTest, OutputSetsMustMatch) {
  Validator validator(Tolerance{0.1, 0.1}, nullptr);
  ASSERT_OK_AND_ASSIGN(Verdict missing, validator.Judge({{"y", Floats({1})}}, {}));
  EXPECT_FALSE(missing.valid);
  EXPECT_THAT(missing.summary, HasSubstr("'y' is missing"));
  ASSERT_OK_AND_ASSIGN(Verdict extra,
                       validator.Judge({{"y", Floats({1})}}, {{"y", Floats({1})},
                                                              {"w", Floats({1})}}));
  EXPECT_FALSE(extra.valid);
  EXPECT_THAT(extra.summary, HasSubstr("'w' is not an output"));
}

}  // namespace
}  // namespace halfcast::search
