// The built `halfcast` executable on what issue 9 (several input sets) and issue 12 (selection
// patterns, JSON everywhere, --keep-best) asked of it.
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/cli_fixture.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "halfcast/model_io.h"
#include "halfcast/tensor.h"
#include "halfcast/value.h"

namespace halfcast {
namespace {

using ::halfcast::cli_testing::CliResult;
using ::halfcast::cli_testing::CliTest;
using ::halfcast::cli_testing::kError;
using ::halfcast::cli_testing::kNotClose;
using ::halfcast::cli_testing::kOk;
using ::halfcast::cli_testing::kOverflow;
using ::halfcast::cli_testing::kTwoOutputs;
using ::halfcast::cli_testing::LoadOrDie;
using ::halfcast::testing::ParseModelText;
using ::halfcast::testing::ReadFileBytes;
using ::halfcast::testing::WriteFileBytes;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// Nodes named after their first output (onnx 1.12's text syntax has none).
onnx::ModelProto Named(const char* text) {
  onnx::ModelProto model = ParseModelText(text);
  for (onnx::NodeProto& node : *model.mutable_graph()->mutable_node()) {
    node.set_name(node.output(0));
  }
  return model;
}

int SearchKept(const std::string& text) {
  const std::string marker = "nodes kept in float32 by the search";
  const std::size_t at = text.find(marker);
  if (at == std::string::npos) return -1;
  const std::size_t begin = text.rfind("; ", at) + 2;
  return std::stoi(text.substr(begin, at - begin));
}

class MachineTest : public CliTest {
 protected:
  void SetUp() override {
    model_ = WriteModelProto("m.onnx", Named(kOverflow));
    // x * 90000 stays below float16's 65504 in `small`, overflows in `large`.
    small_ = WriteFloats("small.npy", {4}, {0.1f, -0.2f, 0.3f, 0.5f});
    large_ = WriteFloats("large.npy", {4}, {0.9f, -0.95f, 1.0f, 0.8f});
  }

  std::string WritePb(const std::string& name, const std::string& tensor_name,
                      std::vector<float> values) {
    const std::string path = dir_.File(name);
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    const Tensor tensor =
        Tensor::Copy(DataType::kFloat, {static_cast<int64_t>(values.size())}, values.data());
    WriteFileBytes(path, TensorToProto(tensor, tensor_name).SerializeAsString());
    return path;
  }

  std::string model_;
  std::string small_;
  std::string large_;
};

// ----------------------------------------------------------------------------- several input sets

// `large` needs more float32 nodes than `small`. With both sets
// the result must hold on both.
TEST_F(MachineTest, AutoValidatesOnEveryInputSet) {
  const std::vector<std::string> bound = {"--rtol", "1e-2", "--atol", "1e-3", "--progress=none"};
  std::vector<std::string> one = {"auto", model_, dir_.File("one.onnx"), "--input-set",
                                  "x=" + small_};
  one.insert(one.end(), bound.begin(), bound.end());
  const CliResult only_small = Run(one);
  ASSERT_EQ(only_small.exit_code, kOk) << only_small.err;

  std::vector<std::string> two = {"auto",        model_,        dir_.File("two.onnx"),
                                  "--input-set", "x=" + small_, "--input-set",
                                  "x=" + large_};
  two.insert(two.end(), bound.begin(), bound.end());
  const CliResult both = Run(two);
  ASSERT_EQ(both.exit_code, kOk) << both.err;
  // d = 90000 is clipped in float16, so its Div stays float32 on either; q overflows on `large`.
  EXPECT_GE(SearchKept(only_small.out), 1) << only_small.out;
  EXPECT_GT(SearchKept(both.out), SearchKept(only_small.out)) << both.out;

  // compare judges every set: the small-only model fails on `large`, the other holds.
  const std::vector<std::string> sets = {"--input-set", "x=" + small_, "--input-set", "x=" + large_,
                                         "--rtol",      "1e-2",        "--atol",      "1e-3"};
  std::vector<std::string> compare_one = {"compare", model_, dir_.File("one.onnx")};
  compare_one.insert(compare_one.end(), sets.begin(), sets.end());
  const CliResult fails = Run(compare_one);
  EXPECT_EQ(fails.exit_code, kNotClose) << fails.err;
  EXPECT_THAT(fails.out, HasSubstr("over 2 input sets"));
  std::vector<std::string> compare_two = {"compare", model_, dir_.File("two.onnx")};
  compare_two.insert(compare_two.end(), sets.begin(), sets.end());
  EXPECT_EQ(Run(compare_two).exit_code, kOk);
}

TEST_F(MachineTest, InputDirOfTestDataSets) {
  // ONNX's layout: a named TensorProto, and one without a name (the K-th input).
  WritePb("data/test_data_set_0/input_0.pb", "x", {0.1f, -0.2f, 0.3f, 0.5f});
  WritePb("data/test_data_set_1/input_0.pb", "", {0.9f, -0.95f, 1.0f, 0.8f});
  WritePb("data/test_data_set_1/output_0.pb", "y", {1, 2, 3, 4});  // ignored
  const CliResult result = Run({"auto", model_, dir_.File("out.onnx"), "--input-dir",
                                dir_.File("data"), "--rtol", "1e-2", "--atol", "1e-3", "--json"});
  ASSERT_EQ(result.exit_code, kOk) << result.err;
  EXPECT_THAT(result.out, HasSubstr("\"feed_sets\":2"));
  EXPECT_THAT(result.out, HasSubstr("\"reason\":\"search\""));
  const CliResult text = Run({"auto", model_, dir_.File("out2.onnx"), "--input-dir",
                              dir_.File("data"), "--rtol", "1e-2", "--atol", "1e-3"});
  EXPECT_THAT(text.out, HasSubstr(" evaluations on 2 input sets, "));

  // run writes one folder per set.
  const CliResult run =
      Run({"run", model_, "--input-dir", dir_.File("data"), "--output-dir", dir_.File("outs")});
  ASSERT_EQ(run.exit_code, kOk) << run.err;
  EXPECT_THAT(run.out, HasSubstr("input set " + dir_.File("data/test_data_set_1") + ":"));
  EXPECT_TRUE(Exists(dir_.File("outs/test_data_set_0/y.npy")));
  EXPECT_TRUE(Exists(dir_.File("outs/test_data_set_1/y.npy")));
}

// A model taking a sequence and returning one, as ONNX's test data holds such cases: input_K.pb
// is read as the K-th input's kind, outputs are printed, described in JSON and written as .pb.
TEST_F(MachineTest, RunFeedsAndWritesSequences) {
  onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[2] s, float[2] x) => (float[2] t, float[4] y) {
      t = SequenceInsert(s, x)
      y = ConcatFromSequence <axis = 0> (s)
    }
  )");
  for (onnx::ValueInfoProto* value :
       {model.mutable_graph()->mutable_input(0), model.mutable_graph()->mutable_output(0)}) {
    ::halfcast::testing::DeclareSequenceOf(value, onnx::TensorProto::FLOAT);
  }
  const std::string path = WriteModelProto("seq.onnx", model);
  const float a[] = {1, 2}, b[] = {3, 4};
  const Value s = Value::Sequence(DataType::kFloat, {Tensor::Copy(DataType::kFloat, {2}, a),
                                                     Tensor::Copy(DataType::kFloat, {2}, b)});
  std::filesystem::create_directories(dir_.File("seqdata/test_data_set_0"));
  ASSERT_OK(WriteValueProtoFile(s, "", dir_.File("seqdata/test_data_set_0/input_0.pb")));
  WritePb("seqdata/test_data_set_0/input_1.pb", "x", {5, 6});

  const CliResult run = Run({"run", path, "--input-dir", dir_.File("seqdata"), "--output-dir",
                             dir_.File("seqout")});
  ASSERT_EQ(run.exit_code, kOk) << run.err;
  EXPECT_THAT(run.out, HasSubstr("t: seq(tensor(float)) of 3: [2], [2], [2] min 1 max 6"));
  EXPECT_THAT(run.out, HasSubstr("y: float[4] min 1 max 4"));
  onnx::TypeProto seq_type = model.graph().output(0).type();
  ASSERT_OK_AND_ASSIGN(Value t, ReadValueProtoFile(dir_.File("seqout/t.pb"), seq_type));
  ASSERT_EQ(t.elements().size(), 3u);
  EXPECT_EQ(t.elements()[2].data<float>()[1], 6.0f);
  EXPECT_TRUE(Exists(dir_.File("seqout/y.npy")));

  const CliResult json = Run({"run", path, "--input", "s=" + dir_.File("seqout/t.pb"), "--input",
                              "x=" + WriteFloats("x.npy", {2}, {7, 8}), "--json"});
  ASSERT_EQ(json.exit_code, kOk) << json.err;
  EXPECT_THAT(json.out, HasSubstr("{\"name\":\"t\",\"type\":\"seq(tensor(float))\",\"shape\":[],"
                                  "\"min\":1,\"max\":8,\"mean\":4.5,\"elements\":4}"));
  // compare feeds the sequence to both models and compares their outputs; here `t` is a
  // sequence, which compare cannot compare, and says so.
  ExpectError({"compare", path, path, "--input-dir", dir_.File("seqdata")},
              "value 't' has type seq(tensor(float)), not a tensor type");
  const CliResult inspect = Run({"inspect", path});
  ASSERT_EQ(inspect.exit_code, kOk) << inspect.err;
  EXPECT_THAT(inspect.out, HasSubstr("inputs: s seq(float), x float[2]"));
  // A tensor file for the sequence input is a clear error; so is mixed precision with one.
  ExpectError({"run", path, "--input", "s=" + dir_.File("x.npy"), "--input",
               "x=" + dir_.File("x.npy")},
              "input 's' has type tensor(float) but the model expects seq(tensor(float))");
  ExpectError({"auto", path, dir_.File("seq16.onnx"), "--input-dir", dir_.File("seqdata"),
               "--rtol", "0.01"},
              "`auto` feeds tensors only: value 's' has type seq(tensor(float)), not a tensor type");
}

TEST_F(MachineTest, InputDirOfNpyFilesIsOneSet) {
  std::filesystem::create_directories(dir_.File("npy"));
  std::filesystem::copy_file(small_, dir_.File("npy/x.npy"));
  const CliResult run = Run({"run", model_, "--input-dir", dir_.File("npy"), "--json"});
  ASSERT_EQ(run.exit_code, kOk) << run.err;
  EXPECT_THAT(run.out, HasSubstr("\"sets\":[{\"label\":"));
}

TEST_F(MachineTest, InputSetsShareInputAndNameWhatIsWrong) {
  const std::string two = WriteModel("two.onnx", kTwoOutputs);
  const std::string x = WriteFloats("x2.npy", {2}, {1, 2});
  const std::string z = WriteFloats("z2.npy", {2}, {3, 4});
  const CliResult shared = Run({"compare", two, two, "--input", "z=" + z, "--input-set", "x=" + x,
                                "--input-set", "x=" + z, "--json"});
  ASSERT_EQ(shared.exit_code, kOk) << shared.err;
  EXPECT_THAT(shared.out, HasSubstr("\"feed_sets\":2,\"all_close\":true"));

  ExpectError({"run", two, "--input-set", "x=" + x + ",z=" + z, "--input-set", "x=" + x},
              "--input-set 2: no value for the model's input 'z'");
  ExpectError({"run", two, "--input", "x=" + x, "--input-set", "x=" + x + ",z=" + z},
              "--input-set 1: input 'x' is also given with --input");
  ExpectError({"run", two, "--input-set", "x=" + x + ",x=" + z}, "'x' is given more than once");
  ExpectError({"run", two, "--input-set", ""}, "--input-set");
  std::filesystem::create_directories(dir_.File("empty"));
  ExpectError({"run", two, "--input-dir", dir_.File("empty")}, "holds no input_K.pb or .npy");
  ExpectError({"run", two, "--input-dir", dir_.File("nowhere")}, "is not a folder");
  WritePb("bad/test_data_set_0/input_0.pb", "q", {1, 2});
  ExpectError({"run", two, "--input-dir", dir_.File("bad"), "--input", "z=" + z},
              "the model has no input 'q'");
  WritePb("dup/input_0.pb", "x", {1, 2});
  std::filesystem::copy_file(x, dir_.File("dup/x.npy"));
  ExpectError({"run", two, "--input-dir", dir_.File("dup")}, "both feed input 'x'");
}

// ----------------------------------------------------------------------------- JSON

TEST_F(MachineTest, CompareJson) {
  const std::string fp16 = dir_.File("m16.onnx");
  ASSERT_EQ(Run({"convert", model_, fp16, "-q"}).exit_code, kOk);
  const CliResult result =
      Run({"compare", model_, fp16, "--input", "x=" + large_, "--rtol", "0.01", "--json"});
  EXPECT_EQ(result.exit_code, kNotClose) << result.err;
  EXPECT_THAT(result.out, HasSubstr("{\"command\":\"compare\",\"halfcast_version\":"));
  EXPECT_THAT(result.out, HasSubstr("\"reference\":\"" + model_ + "\",\"candidate\":\"" + fp16));
  EXPECT_THAT(result.out, HasSubstr("\"tolerances\":{\"rtol\":0.01,\"atol\":1e-08}"));
  EXPECT_THAT(result.out, HasSubstr("\"all_close\":false"));
  EXPECT_THAT(result.out, HasSubstr("{\"name\":\"y\",\"same_shape\":true,"));
  EXPECT_THAT(result.out, HasSubstr("\"elements\":4,\"close\":false}"));
  EXPECT_EQ(std::count(result.out.begin(), result.out.end(), '\n'), 1);
}

TEST_F(MachineTest, ConvertJsonCarriesTheRun) {
  const CliResult result = Run({"convert", model_, dir_.File("m16.onnx"), "--json", "--report-json",
                                dir_.File("r.json"), "--keep-io-types", "--target", "bf16"});
  ASSERT_EQ(result.exit_code, kOk) << result.err;
  for (const std::string& part :
       {std::string("{\"command\":\"convert\",\"halfcast_version\":\""),
        "\"input\":\"" + model_ + "\"", "\"output\":\"" + dir_.File("m16.onnx") + "\"",
        std::string("\"target\":\"bfloat16\""), std::string("\"options\":{\"keep_io_types\":true"),
        std::string("\"tolerances\":null,\"validated\":null,\"timings\":{\"total_seconds\":"),
        std::string("\"nodes_converted\":"), std::string("\"unmatched\":[]")}) {
    EXPECT_THAT(result.out, HasSubstr(part));
  }
  EXPECT_THAT(ReadFileBytes(dir_.File("r.json")), HasSubstr("\"command\":\"convert\""));
  ExpectError({"convert", model_, "-", "--json"}, "--json prints the report on stdout");
}

TEST_F(MachineTest, AutoJsonCarriesToleranceAndVerdict) {
  const CliResult result = Run({"auto", model_, dir_.File("m.mixed.onnx"), "--input", "x=" + large_,
                                "--atol", "1e-3", "--json", "--progress=none"});
  ASSERT_EQ(result.exit_code, kOk) << result.err;
  EXPECT_THAT(result.out, HasSubstr("{\"command\":\"auto\",\"halfcast_version\":"));
  // Only atol given: rtol is numpy's 1e-5.
  EXPECT_THAT(result.out, HasSubstr("\"tolerances\":{\"rtol\":1.0000000000000001e-05,"
                                    "\"atol\":0.001},\"feed_sets\":1,"));
  EXPECT_THAT(result.out, HasSubstr("\"strategy\":\"error-guided\""));
  EXPECT_THAT(result.out, HasSubstr("\"search_seconds\":"));
  EXPECT_THAT(result.out, HasSubstr("\"validated\":true,\"stopped\":null}"));
}

// The search's judgement flags reach it: a margin tightens the bound (0.9 leaves no candidate
// for float16's rounding of `small`), a retained-bytes bound caps what it keeps, and the JSON
// says what the search ran with.
TEST_F(MachineTest, SafetyMarginOrtCheckAndRetainedBytesReachTheSearch) {
  const std::vector<std::string> base = {"auto", model_, dir_.File("sm.onnx"), "--input",
                                         "x=" + small_, "--rtol", "1e-3", "--atol", "0",
                                         "--progress=none", "-f", "--json"};
  std::vector<std::string> at_bound = base;
  for (const char* arg : {"--safety-margin", "0", "--no-onnx-runtime-cpu-check",
                          "--max-retained-bytes", "1"}) {
    at_bound.push_back(arg);
  }
  const CliResult ok = Run(at_bound);
  ASSERT_EQ(ok.exit_code, kOk) << ok.err;
  EXPECT_THAT(ok.out, HasSubstr("\"safety_margin\":0,\"check_onnx_runtime_cpu\":false,"
                                "\"max_retained_bytes\":1,"));
  EXPECT_THAT(ok.out, HasSubstr("\"peak_retained_bytes\":0,"));
  const CliResult defaults = Run(base);
  ASSERT_EQ(defaults.exit_code, kOk) << defaults.err;
  // JSON numbers are written to round-trip: 0.2 is 0.20000000000000001.
  EXPECT_THAT(defaults.out, HasSubstr("\"safety_margin\":0.2000"));
  EXPECT_THAT(defaults.out,
              HasSubstr("\"check_onnx_runtime_cpu\":true,\"max_retained_bytes\":2147483648,"));
  EXPECT_THAT(defaults.out, Not(HasSubstr("\"peak_retained_bytes\":0,")));

  std::vector<std::string> tight = base;
  tight.push_back("--safety-margin");
  tight.push_back("0.9");
  const CliResult none = Run(tight);
  EXPECT_EQ(none.exit_code, kError);
  EXPECT_THAT(none.err, HasSubstr("tightened by the safety margin (0.9)"));
  ExpectError({"auto", model_, "--input", "x=" + small_, "--rtol", "1e-3", "--safety-margin", "1"},
              "--safety-margin must be in [0, 1), got 1");
  ExpectError({"auto", model_, "--input", "x=" + small_, "--rtol", "1e-3", "--max-retained-bytes",
               "-5"},
              "--max-retained-bytes: '-5' is not an integer >= 0");
}

// ----------------------------------------------------------------------------- --keep-best

TEST_F(MachineTest, KeepBestWritesTheBestSoFar) {
  const std::vector<std::string> limited = {"auto",       model_,           dir_.File("best.onnx"),
                                            "--input",    "x=" + large_,    "--rtol",
                                            "1e-2",       "--atol",         "1e-3",
                                            "--strategy", "bisect",         "--max-evaluations",
                                            "2",          "--progress=none"};
  const CliResult error = Run(limited);
  EXPECT_EQ(error.exit_code, kError);
  EXPECT_THAT(error.err, HasSubstr("--max-evaluations (2)"));
  EXPECT_FALSE(Exists(dir_.File("best.onnx")));

  std::vector<std::string> keep = limited;
  keep.push_back("--keep-best");
  keep.push_back("--report-json");
  keep.push_back(dir_.File("best.json"));
  const CliResult best = Run(keep);
  EXPECT_EQ(best.exit_code, kNotClose) << best.err;
  EXPECT_TRUE(Exists(dir_.File("best.onnx")));
  EXPECT_THAT(best.err, HasSubstr("--keep-best wrote the best model found so far, which does NOT "
                                  "validate"));
  const std::string json = ReadFileBytes(dir_.File("best.json"));
  EXPECT_THAT(json, HasSubstr("\"keep_best\":true"));
  EXPECT_THAT(json, HasSubstr("\"validated\":false,\"stopped\":\"mixed-precision search reached "
                              "max_evaluations (2) before finishing"));
}

// ----------------------------------------------------------------------------- selection lists

TEST_F(MachineTest, PatternsIncludeListsAndUnmatchedEntries) {
  const CliResult blocked =
      Run({"convert", model_, dir_.File("a.onnx"), "--node-block-list", "[pq]{1,2},nothing"});
  ASSERT_EQ(blocked.exit_code, kOk) << blocked.err;
  EXPECT_THAT(blocked.out, HasSubstr("node_block_list: Mul x2"));
  EXPECT_THAT(blocked.err, HasSubstr("warning: --node-block-list: 'nothing' matches no node name"));

  const CliResult quiet =
      Run({"convert", model_, dir_.File("b.onnx"), "--node-block-list", "nothing", "-q"});
  EXPECT_EQ(quiet.exit_code, kOk);
  EXPECT_THAT(quiet.err, IsEmpty());

  ExpectError({"convert", model_, dir_.File("c.onnx"), "--node-block-list", "nothing", "--strict"},
              "--node-block-list: 'nothing' matches no node name (--strict makes this an error)");
  EXPECT_FALSE(Exists(dir_.File("c.onnx")));
  ExpectError({"convert", model_, dir_.File("d.onnx"), "--op-include-list", "Mul("},
              "--op-include-list: 'Mul(' is not a valid pattern: missing ')'");

  // Relu is blocked by type, but its node is forced to 16 bits.
  const CliResult included = Run({"convert", model_, dir_.File("e.onnx"), "--op-block-list",
                                  "Relu|Div", "--node-include-list", "y", "--json"});
  ASSERT_EQ(included.exit_code, kOk) << included.err;
  EXPECT_THAT(included.out, HasSubstr("\"op_type\":\"Div\",\"reason\":\"op_block_list\""));
  EXPECT_THAT(included.out, Not(HasSubstr("\"name\":\"y\",\"op_type\":\"Relu\"")));
  EXPECT_THAT(included.out, HasSubstr("\"nodes_converted\":3"));
}

// The overflowing node forced to 16 bits: no candidate can keep it float32.
TEST_F(MachineTest, AutoHonoursTheIncludeList) {
  const CliResult result =
      Run({"auto", model_, dir_.File("m.mixed.onnx"), "--input", "x=" + large_, "--rtol", "1e-2",
           "--atol", "1e-3", "--node-include-list", "q", "--progress=none"});
  EXPECT_EQ(result.exit_code, kError);
  EXPECT_THAT(result.err, HasSubstr("no candidate model validates"));
}

}  // namespace
}  // namespace halfcast
