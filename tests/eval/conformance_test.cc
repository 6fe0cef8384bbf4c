// Runs ONNX's own backend test cases (Debian libonnx-testdata) through the reference evaluator:
// every case whose ops the evaluator supports must match its expected outputs with rtol 1e-3 and
// atol 1e-7 (ONNX's backend test tolerances), NaN matching NaN. Cases left out on purpose are in
// conformance_skips.txt with a reason; cases with unsupported ops are skipped and counted.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <dirent.h>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "halfcast/evaluator.h"
#include "halfcast/tensor.h"
#include "halfcast/value.h"
#include "numerics/float16.h"
#include "testing/status_matchers.h"

#ifndef HALFCAST_CONFORMANCE_DATA_DIR
#define HALFCAST_CONFORMANCE_DATA_DIR "/usr/share/libonnx-testdata/data"
#endif
#ifndef HALFCAST_CONFORMANCE_SKIPS
#define HALFCAST_CONFORMANCE_SKIPS "conformance_skips.txt"
#endif

namespace halfcast {
namespace {

constexpr double kRtol = 1e-3;
constexpr double kAtol = 1e-7;

struct Case {
  std::string suite;  // node, pytorch-converted, ...
  std::string name;   // test_abs
  std::string dir;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.suite << "/" << c.name; }

std::vector<std::string> ListDir(const std::string& path) {
  std::vector<std::string> names;
  if (DIR* d = opendir(path.c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') names.emplace_back(e->d_name);
    }
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<Case> AllCases() {
  std::vector<Case> cases;
  for (const char* suite : {"node", "pytorch-converted", "pytorch-operator", "simple"}) {
    const std::string root = absl::StrCat(HALFCAST_CONFORMANCE_DATA_DIR, "/", suite);
    for (const std::string& name : ListDir(root)) {
      cases.push_back({suite, name, absl::StrCat(root, "/", name)});
    }
  }
  return cases;
}

// "suite/case reason..." lines; '#' starts a comment.
const absl::flat_hash_map<std::string, std::string>& Skips() {
  static const auto* skips = [] {
    auto* map = new absl::flat_hash_map<std::string, std::string>;
    std::ifstream in(HALFCAST_CONFORMANCE_SKIPS);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      const std::size_t space = line.find(' ');
      (*map)[line.substr(0, space)] = space == std::string::npos ? "" : line.substr(space + 1);
    }
    return map;
  }();
  return *skips;
}

std::string ParamName(const Case& c) {
  std::string name = absl::StrCat(c.suite, "_", c.name);
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

struct Counts {
  int passed = 0;
  int unsupported = 0;
  int listed = 0;
  ~Counts() {
    std::printf("conformance: %d cases passed, %d skipped as listed, %d with unsupported ops\n",
                passed, listed, unsupported);
  }
};
Counts counts;

double ValueAt(const Tensor& t, int64_t i) {
  switch (t.type()) {
    case DataType::kFloat: return t.data<float>()[i];
    case DataType::kDouble: return t.data<double>()[i];
    case DataType::kFloat16: return numerics::HalfToFloat(t.data<uint16_t>()[i]);
    case DataType::kBFloat16: return numerics::BFloat16ToFloat(t.data<uint16_t>()[i]);
    case DataType::kInt8: return t.data<int8_t>()[i];
    case DataType::kInt16: return t.data<int16_t>()[i];
    case DataType::kInt32: return t.data<int32_t>()[i];
    case DataType::kInt64: return static_cast<double>(t.data<int64_t>()[i]);
    case DataType::kUint8: return t.data<uint8_t>()[i];
    case DataType::kUint16: return t.data<uint16_t>()[i];
    case DataType::kUint32: return t.data<uint32_t>()[i];
    case DataType::kUint64: return static_cast<double>(t.data<uint64_t>()[i]);
    case DataType::kBool: return t.data<bool>()[i];
    default: return 0;
  }
}

// An empty string when `actual` matches `expected`, else what differs.
std::string Mismatch(const Tensor& expected, const Tensor& actual) {
  if (expected.type() != actual.type()) {
    return absl::StrCat("type ", DataTypeName(actual.type()), ", expected ",
                        DataTypeName(expected.type()));
  }
  if (expected.shape() != actual.shape()) {
    std::ostringstream s;
    s << "shape [";
    for (int64_t d : actual.shape()) s << d << ",";
    s << "], expected [";
    for (int64_t d : expected.shape()) s << d << ",";
    s << "]";
    return s.str();
  }
  if (expected.type() == DataType::kString) {
    return expected.strings() == actual.strings() ? "" : "strings differ";
  }
  const bool exact = !(expected.type() == DataType::kFloat || expected.type() == DataType::kDouble ||
                       expected.type() == DataType::kFloat16 ||
                       expected.type() == DataType::kBFloat16);
  int bad = 0;
  std::string first;
  for (int64_t i = 0; i < expected.element_count(); ++i) {
    const double e = ValueAt(expected, i);
    const double a = ValueAt(actual, i);
    bool ok;
    if (exact) ok = e == a;
    else if (std::isnan(e) || std::isnan(a)) ok = std::isnan(e) && std::isnan(a);
    else if (std::isinf(e) || std::isinf(a)) ok = e == a;
    else ok = std::abs(a - e) <= kAtol + kRtol * std::abs(e);
    if (!ok && bad++ == 0) first = absl::StrCat("element ", i, " is ", a, ", expected ", e);
  }
  if (bad == 0) return "";
  return absl::StrCat(bad, " of ", expected.element_count(), " elements differ; first: ", first);
}

// As Mismatch, for values of every kind: sequences element by element, optionals by content.
std::string ValueMismatch(const Value& expected, const Value& actual) {
  if (expected.kind() != actual.kind()) {
    return absl::StrCat("a ", actual.TypeString(), ", expected a ", expected.TypeString());
  }
  switch (expected.kind()) {
    case Value::Kind::kTensor:
      return Mismatch(expected.tensor(), actual.tensor());
    case Value::Kind::kSequence: {
      if (expected.elements().size() != actual.elements().size()) {
        return absl::StrCat(actual.elements().size(), " elements, expected ",
                            expected.elements().size());
      }
      for (std::size_t i = 0; i < expected.elements().size(); ++i) {
        const std::string m = Mismatch(expected.elements()[i], actual.elements()[i]);
        if (!m.empty()) return absl::StrCat("element ", i, ": ", m);
      }
      return "";
    }
    case Value::Kind::kOptional:
      if (expected.has_element() != actual.has_element()) {
        return actual.has_element() ? "holds a value, expected none" : "empty, expected a value";
      }
      return expected.has_element() ? ValueMismatch(expected.element(), actual.element()) : "";
  }
  return "unknown kind";
}

class ConformanceTest : public ::testing::TestWithParam<Case> {};

TEST_P(ConformanceTest, MatchesExpectedOutputs) {
  const Case& c = GetParam();
  auto skip = Skips().find(absl::StrCat(c.suite, "/", c.name));
  if (skip != Skips().end()) {
    ++counts.listed;
    GTEST_SKIP() << "listed in conformance_skips.txt: " << skip->second;
  }
  std::ifstream model_file(c.dir + "/model.onnx", std::ios::binary);
  onnx::ModelProto model;
  ASSERT_TRUE(model.ParseFromIstream(&model_file)) << c.dir;
  ReferenceEvaluatorOptions options;
  options.external_data_dir = c.dir;
  ReferenceEvaluator evaluator(options);
  const absl::Status supported = evaluator.CheckSupported(model);
  if (!supported.ok()) {
    ++counts.unsupported;
    GTEST_SKIP() << supported.message();
  }
  std::vector<const onnx::ValueInfoProto*> inputs;  // graph inputs without an initializer
  {
    std::vector<std::string> initialized;
    for (const auto& t : model.graph().initializer()) initialized.push_back(t.name());
    for (const auto& i : model.graph().input()) {
      if (std::find(initialized.begin(), initialized.end(), i.name()) == initialized.end()) {
        inputs.push_back(&i);
      }
    }
  }
  int sets = 0;
  for (const std::string& set : ListDir(c.dir)) {
    if (set.rfind("test_data_set_", 0) != 0) continue;
    ++sets;
    const std::string set_dir = c.dir + "/" + set;
    ValueMap feeds;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const std::string path = absl::StrCat(set_dir, "/input_", i, ".pb");
      if (!std::ifstream(path)) continue;  // an optional input left out
      ASSERT_OK_AND_ASSIGN(feeds[inputs[i]->name()], ReadValueProtoFile(path, inputs[i]->type()));
    }
    ASSERT_OK_AND_ASSIGN(ValueMap outputs, evaluator.RunValues(model, feeds));
    for (int i = 0; i < model.graph().output_size(); ++i) {
      const std::string path = absl::StrCat(set_dir, "/output_", i, ".pb");
      if (!std::ifstream(path)) continue;
      const onnx::ValueInfoProto& output = model.graph().output(i);
      ASSERT_OK_AND_ASSIGN(Value expected, ReadValueProtoFile(path, output.type()));
      ASSERT_TRUE(outputs.count(output.name())) << output.name();
      EXPECT_EQ(ValueMismatch(expected, outputs[output.name()]), "")
          << set << " output " << output.name();
    }
  }
  EXPECT_GT(sets, 0);
  if (!HasFailure()) ++counts.passed;
}

INSTANTIATE_TEST_SUITE_P(Onnx, ConformanceTest, ::testing::ValuesIn(AllCases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return ParamName(info.param);
                         });

}  // namespace
}  // namespace halfcast
