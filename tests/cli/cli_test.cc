// Runs the built `halfcast` executable (HALFCAST_CLI, from CMake) as a user would: every
// subcommand and flag on small graphs and on the real models, and every kind of bad input, which
// must give a message on stderr, exit status 2, no output file and an untouched input.
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/cli_fixture.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "halfcast/model_io.h"
#include "halfcast/tensor.h"
#include "numerics/float16.h"
#include "testing/onnx_text.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace halfcast {
namespace {

using ::halfcast::cli_testing::CliResult;
using ::halfcast::cli_testing::CliTest;
using ::halfcast::cli_testing::InputType;
using ::halfcast::cli_testing::kAddMax;
using ::halfcast::cli_testing::kError;
using ::halfcast::cli_testing::kNotClose;
using ::halfcast::cli_testing::kOk;
using ::halfcast::cli_testing::kOverflow;
using ::halfcast::cli_testing::kTwoOutputs;
using ::halfcast::cli_testing::LoadOrDie;
using ::halfcast::cli_testing::ModelsDir;
using ::halfcast::cli_testing::OutputType;
using ::halfcast::cli_testing::Quote;

using ::halfcast::testing::ParseModelText;
using ::halfcast::testing::ReadFileBytes;
using ::halfcast::testing::TempDir;
using ::halfcast::testing::WriteFileBytes;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

// ----------------------------------------------------------------------------- the tool itself

TEST_F(CliTest, HelpVersionAndUnknownCommands) {
  CliResult help = Run({"--help"});
  EXPECT_EQ(help.exit_code, kOk);
  for (const char* command : {"convert", "auto", "run", "compare", "inspect"}) {
    EXPECT_THAT(help.out, HasSubstr(command));
  }
  CliResult version = Run({"--version"});
  EXPECT_EQ(version.exit_code, kOk);
  EXPECT_THAT(version.out, StartsWith("halfcast "));
  EXPECT_EQ(Run({"convert", "--version"}).out, version.out);

  CliResult none = Run({});
  EXPECT_EQ(none.exit_code, kError);
  EXPECT_THAT(none.err, HasSubstr("usage: halfcast COMMAND"));
  ExpectError({"frobnicate"}, "unknown command 'frobnicate'");
}

TEST_F(CliTest, EverySubcommandHasHelp) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> flags = {
      {"convert",
       {"-o, --output OUT", "-f, --force", "-q, --quiet", "-v, --verbose", "--log-level LEVEL",
        "--keep-io-types[=NAMES]", "--op-block-list", "--node-block-list", "--min-positive-val",
        "--max-finite-val", "--target", "--disable-shape-infer", "--no-check-fp16-ready",
        "--external-data[=BYTES]", "--report-json"}},
      {"run", {"--input", "--output-dir", "--random-inputs", "--shape"}},
      {"compare", {"--input", "--rtol", "--atol"}},
      {"auto",
       {"--input", "--rtol", "--atol", "--keep-io-types", "--target", "--strategy", "--report-json",
        "--quiet", "--random-inputs", "--shape", "-o, --output", "--force", "--progress MODE",
        "--log-level", "-v, --verbose"}},
      {"inspect", {}},
  };
  for (const auto& [command, names] : flags) {
    CliResult result = Run({command, "--help"});
    EXPECT_EQ(result.exit_code, kOk) << command;
    EXPECT_THAT(result.out, HasSubstr("usage: halfcast " + command)) << command;
    for (const std::string& name : names) EXPECT_THAT(result.out, HasSubstr(name)) << command;
  }
}

// ----------------------------------------------------------------------------- convert

TEST_F(CliTest, ConvertDefaultsAndReport) {
  const std::string in = WriteModel("m.onnx", kAddMax);
  const std::string before = ReadFileBytes(in);
  const std::string out = dir_.File("m16.onnx");
  CliResult result = Run({"convert", in, out});
  ASSERT_EQ(result.exit_code, kOk) << result.err;
  EXPECT_THAT(result.out, HasSubstr("(float16)"));
  EXPECT_THAT(result.out, HasSubstr("nodes converted: 1, kept in float32: 1"));
  EXPECT_THAT(result.out, HasSubstr("op_block_list: Max x1"));
  EXPECT_THAT(result.out, HasSubstr("casts inserted:"));
  EXPECT_THAT(result.out, HasSubstr("tensor bytes: 8 B -> 4 B"));
  EXPECT_EQ(ReadFileBytes(in), before);
  const onnx::ModelProto converted = LoadOrDie(out);
  EXPECT_EQ(InputType(converted, 0), onnx::TensorProto::FLOAT16);
  EXPECT_EQ(OutputType(converted, 0), onnx::TensorProto::FLOAT16);
}

TEST_F(CliTest, ConvertKeepIoTypes) {
  const std::string in = WriteModel("m.onnx", kTwoOutputs);
  ASSERT_EQ(Run({"convert", in, dir_.File("all.onnx"), "--keep-io-types"}).exit_code, kOk);
  const onnx::ModelProto all = LoadOrDie(dir_.File("all.onnx"));
  EXPECT_EQ(InputType(all, 0), onnx::TensorProto::FLOAT);
  EXPECT_EQ(InputType(all, 1), onnx::TensorProto::FLOAT);
  EXPECT_EQ(OutputType(all, 1), onnx::TensorProto::FLOAT);

  ASSERT_EQ(Run({"convert", in, dir_.File("some.onnx"), "--keep-io-types=x,w"}).exit_code, kOk);
  const onnx::ModelProto some = LoadOrDie(dir_.File("some.onnx"));
  EXPECT_EQ(InputType(some, 0), onnx::TensorProto::FLOAT);
  EXPECT_EQ(InputType(some, 1), onnx::TensorProto::FLOAT16);
  EXPECT_EQ(OutputType(some, 0), onnx::TensorProto::FLOAT16);
  EXPECT_EQ(OutputType(some, 1), onnx::TensorProto::FLOAT);

  const std::string out = dir_.File("bad.onnx");
  ExpectError({"convert", in, out, "--keep-io-types=nope"}, "nope");
  EXPECT_FALSE(Exists(out));
  ExpectError({"convert", in, out, "--keep-io-types="}, "--keep-io-types");
  EXPECT_FALSE(Exists(out));
}

TEST_F(CliTest, ConvertBlockLists) {
  const std::string in = WriteModel("m.onnx", kAddMax);
  CliResult none = Run({"convert", in, dir_.File("none.onnx"), "--op-block-list="});
  ASSERT_EQ(none.exit_code, kOk) << none.err;
  EXPECT_THAT(none.out, HasSubstr("nodes converted: 2, kept in float32: 0"));

  CliResult add = Run({"convert", in, dir_.File("add.onnx"), "--op-block-list", "Add"});
  ASSERT_EQ(add.exit_code, kOk) << add.err;
  EXPECT_THAT(add.out, HasSubstr("op_block_list: Add x1"));
  EXPECT_THAT(add.out, Not(HasSubstr("Max x1")));

  onnx::ModelProto with_name = ParseModelText(kTwoOutputs);
  with_name.mutable_graph()->mutable_node(1)->set_name("scale");
  const std::string named = WriteModelProto("named.onnx", with_name);
  CliResult node = Run({"convert", named, dir_.File("node.onnx"), "--node-block-list=scale"});
  ASSERT_EQ(node.exit_code, kOk) << node.err;
  EXPECT_THAT(node.out, HasSubstr("node_block_list: Mul x1"));

  ExpectError({"convert", in, dir_.File("x.onnx"), "--op-block-list=Add,,Max"}, "empty item");
  EXPECT_FALSE(Exists(dir_.File("x.onnx")));
}

TEST_F(CliTest, ConvertCustomOpsAndOpSources) {
  const std::string in = WriteModel("custom.onnx", R"(
    <ir_version: 8, opset_import: ["" : 17, "com.example" : 1]>
    g (float[2] x) => (float[2] y) {
      a = Relu(x)
      y = com.example.Thing(a)
    })");
  CliResult kept = Run({"convert", in, dir_.File("kept.onnx")});
  ASSERT_EQ(kept.exit_code, kOk) << kept.err;
  EXPECT_THAT(kept.out, HasSubstr("unknown_op: Thing x1"));
  EXPECT_THAT(kept.out, HasSubstr("ops typed by unknown: com.example:Thing"));
  EXPECT_THAT(kept.out, HasSubstr("note: unknown op com.example:Thing (1 node) kept float32"));

  CliResult declared = Run({"convert", in, dir_.File("declared.onnx"),
                            "--fp16-ops=com.example:Thing", "--report-json",
                            dir_.File("declared.json")});
  ASSERT_EQ(declared.exit_code, kOk) << declared.err;
  EXPECT_THAT(declared.out, HasSubstr("kept in float32: 0"));
  EXPECT_THAT(declared.out, HasSubstr("ops typed by declared: com.example:Thing"));
  EXPECT_EQ(OutputType(LoadOrDie(dir_.File("declared.onnx")), 0), onnx::TensorProto::FLOAT16);
  EXPECT_THAT(ReadFileBytes(dir_.File("declared.json")),
              HasSubstr("\"op_type\":\"Thing\",\"since_version\":0,\"source\":\"declared\""));

  ExpectError({"convert", in, dir_.File("bad.onnx"), "--fp16-ops=Thing"}, "domain:op_type");
  EXPECT_FALSE(Exists(dir_.File("bad.onnx")));
}

TEST_F(CliTest, ConvertTargetsAndClipping) {
  const std::string in = WriteModel("m.onnx", kAddMax);
  ASSERT_EQ(Run({"convert", in, dir_.File("bf.onnx"), "--target", "bfloat16"}).exit_code, kOk);
  EXPECT_EQ(InputType(LoadOrDie(dir_.File("bf.onnx")), 0), onnx::TensorProto::BFLOAT16);
  ASSERT_EQ(Run({"convert", in, dir_.File("f16.onnx"), "--target=float16"}).exit_code, kOk);
  EXPECT_EQ(InputType(LoadOrDie(dir_.File("f16.onnx")), 0), onnx::TensorProto::FLOAT16);

  // c = {0.5, -0.25}: a max of 0.3 clips 0.5 (one value above max).
  CliResult clipped = Run(
      {"convert", in, dir_.File("c.onnx"), "--max-finite-val=0.3", "--min-positive-val", "0.26"});
  ASSERT_EQ(clipped.exit_code, kOk) << clipped.err;
  EXPECT_THAT(clipped.out, HasSubstr("values clipped in 1 tensors: 1 raised to min-positive-val, "
                                     "1 lowered to max-finite-val"));

  const std::string out = dir_.File("bad.onnx");
  ExpectError({"convert", in, out, "--target", "float8"}, "--target: 'float8'");
  ExpectError({"convert", in, out, "--min-positive-val=abc"}, "--min-positive-val: 'abc'");
  ExpectError({"convert", in, out, "--min-positive-val=-1"}, "--min-positive-val must be >= 0");
  ExpectError({"convert", in, out, "--max-finite-val=1e6"}, "--max-finite-val must be in");
  EXPECT_FALSE(Exists(out));
}

TEST_F(CliTest, ConvertShapeInferenceAndFp16Check) {
  const std::string in = WriteModel("m.onnx", kAddMax);
  const std::string once = dir_.File("once.onnx");
  ASSERT_EQ(Run({"convert", in, once, "--disable-shape-infer"}).exit_code, kOk);
  EXPECT_EQ(InputType(LoadOrDie(once), 0), onnx::TensorProto::FLOAT16);

  const std::string twice = dir_.File("twice.onnx");
  ExpectError({"convert", once, twice}, "16-bit floats");
  EXPECT_FALSE(Exists(twice));
  CliResult forced = Run({"convert", once, twice, "--no-check-fp16-ready"});
  EXPECT_EQ(forced.exit_code, kOk) << forced.err;
  EXPECT_TRUE(Exists(twice));
}

TEST_F(CliTest, ConvertExternalDataAndReportJson) {
  const std::string in = dir_.File("cls.onnx");
  std::filesystem::copy_file(ModelsDir() + "/ch_ppocr_mobile_v2.0_cls_infer.onnx", in);
  const std::string out = dir_.File("cls16.onnx");
  const std::string report = dir_.File("report.json");
  CliResult result = Run({"convert", in, out, "--external-data=4096", "--report-json", report});
  ASSERT_EQ(result.exit_code, kOk) << result.err;
  EXPECT_TRUE(Exists(out + ".data"));
  LoadOptions keep_refs;
  keep_refs.load_external_data = false;
  ASSERT_OK_AND_ASSIGN(onnx::ModelProto refs, LoadModel(out, keep_refs));
  // This model keeps its weights in Constant nodes; only tensors of >= 4096 bytes go out.
  int external = 0;
  for (const onnx::NodeProto& node : refs.graph().node()) {
    for (const onnx::AttributeProto& attribute : node.attribute()) {
      if (attribute.has_t() && attribute.t().data_location() == onnx::TensorProto::EXTERNAL) {
        ++external;
      }
    }
  }
  EXPECT_GT(external, 0);
  EXPECT_LT(std::filesystem::file_size(out + ".data"), std::filesystem::file_size(in) / 2);
  const std::string json = ReadFileBytes(report);
  EXPECT_THAT(json, StartsWith("{"));
  EXPECT_THAT(json, HasSubstr("}"));

  // A report that cannot be written fails the command and leaves no model behind.
  const std::string out2 = dir_.File("cls16b.onnx");
  ExpectError(
      {"convert", in, out2, "--external-data", "--report-json", dir_.File("no/such/dir/r.json")},
      "no/such/dir/r.json");
  EXPECT_FALSE(Exists(out2));
  EXPECT_FALSE(Exists(out2 + ".data"));
  ExpectError({"convert", in, out2, "--external-data=-5"}, "--external-data");
  ExpectError({"convert", in, out2, "--report-json", in}, "same file");
}

TEST_F(CliTest, ConvertQuiet) {
  const std::string in = WriteModel("m.onnx", kAddMax);
  CliResult result = Run({"convert", in, dir_.File("q.onnx"), "--quiet"});
  EXPECT_EQ(result.exit_code, kOk);
  EXPECT_THAT(result.out, IsEmpty());
}

TEST_F(CliTest, ConvertBadInputLeavesNothing) {
  const std::string in = WriteModel("m.onnx", kAddMax);
  const std::string before = ReadFileBytes(in);
  const std::string out = dir_.File("out.onnx");
  ExpectError({"convert", dir_.File("missing.onnx"), out}, "missing.onnx");
  WriteFileBytes(dir_.File("junk.onnx"), std::string("\x08\xff\xff\xff\x0f garbage", 14));
  ExpectError({"convert", dir_.File("junk.onnx"), out}, "junk.onnx");
  WriteFileBytes(dir_.File("empty.onnx"), "");
  ExpectError({"convert", dir_.File("empty.onnx"), out}, "empty.onnx");
  ExpectError({"convert", in, in}, "same file");
  ExpectError({"convert", in, dir_.File("no/dir/out.onnx")}, "no/dir/out.onnx");
  ExpectError({"convert"}, "expected IN [OUT], got 0 arguments");
  ExpectError({"convert", in, out, "extra"}, "got 3 arguments");
  ExpectError({"convert", in, out, "--bogus"}, "unknown flag '--bogus'");
  ExpectError({"convert", in, out, "--quiet=yes"}, "takes no value");
  ExpectError({"convert", in, out, "--target"}, "needs a value");
  EXPECT_FALSE(Exists(out));
  EXPECT_EQ(ReadFileBytes(in), before);
  // Nothing else was left in the folder (no temporary files either).
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
    const std::string name = entry.path().filename().string();
    if (name != "stdout" && name != "stderr") ++files;
  }
  EXPECT_EQ(files, 3);  // m.onnx, junk.onnx, empty.onnx
}

// ----------------------------------------------------------------------------- output names

TEST_F(CliTest, ConvertDefaultOutputBesideTheInput) {
  const std::string in = WriteModel("m.onnx", kAddMax);
  CliResult first = Run({"convert", in});
  ASSERT_EQ(first.exit_code, kOk) << first.err;
  EXPECT_THAT(first.out, HasSubstr("-> " + dir_.File("m.fp16.onnx")));
  EXPECT_EQ(InputType(LoadOrDie(dir_.File("m.fp16.onnx")), 0), onnx::TensorProto::FLOAT16);

  // The default name is never overwritten without --force.
  WriteFileBytes(dir_.File("m.fp16.onnx"), "precious");
  ExpectError({"convert", in}, "give --force to overwrite it");
  EXPECT_EQ(ReadFileBytes(dir_.File("m.fp16.onnx")), "precious");
  ASSERT_EQ(Run({"convert", in, "--force"}).exit_code, kOk);
  EXPECT_EQ(InputType(LoadOrDie(dir_.File("m.fp16.onnx")), 0), onnx::TensorProto::FLOAT16);
  ASSERT_EQ(Run({"convert", "-f", in, "-q"}).exit_code, kOk);

  // bfloat16's default name; a name without .onnx keeps all of it.
  ASSERT_EQ(Run({"convert", in, "--target", "bf16"}).exit_code, kOk);
  EXPECT_EQ(InputType(LoadOrDie(dir_.File("m.bf16.onnx")), 0), onnx::TensorProto::BFLOAT16);
  std::filesystem::copy_file(in, dir_.File("plain"));
  ASSERT_EQ(Run({"convert", dir_.File("plain")}).exit_code, kOk);
  EXPECT_TRUE(Exists(dir_.File("plain.fp16.onnx")));

  // An OUT the user names is written as before, existing or not.
  WriteFileBytes(dir_.File("named.onnx"), "old");
  ASSERT_EQ(Run({"convert", in, dir_.File("named.onnx")}).exit_code, kOk);
  EXPECT_EQ(InputType(LoadOrDie(dir_.File("named.onnx")), 0), onnx::TensorProto::FLOAT16);
}

TEST_F(CliTest, ConvertOutputFlagAndTargetAliases) {
  const std::string in = WriteModel("m.onnx", kAddMax);
  ASSERT_EQ(Run({"convert", in, "-o", dir_.File("a.onnx"), "--target", "fp16"}).exit_code, kOk);
  EXPECT_EQ(InputType(LoadOrDie(dir_.File("a.onnx")), 0), onnx::TensorProto::FLOAT16);
  ASSERT_EQ(Run({"convert", "-o" + dir_.File("b.onnx"), in, "--target=bf16"}).exit_code, kOk);
  EXPECT_EQ(InputType(LoadOrDie(dir_.File("b.onnx")), 0), onnx::TensorProto::BFLOAT16);
  ASSERT_EQ(Run({"convert", in, "--output=" + dir_.File("c.onnx")}).exit_code, kOk);
  EXPECT_TRUE(Exists(dir_.File("c.onnx")));

  ExpectError({"convert", in, dir_.File("d.onnx"), "-o", dir_.File("e.onnx")}, "OUT given twice");
  ExpectError({"convert", in, "-o"}, "'-o' needs a value (OUT)");
  ExpectError({"convert", in, "-x"}, "unknown option '-x'");
  ExpectError({"convert", in, "--target", "fp8"}, "is not float16 (fp16) or bfloat16 (bf16)");
  EXPECT_FALSE(Exists(dir_.File("d.onnx")));
  EXPECT_FALSE(Exists(dir_.File("e.onnx")));
}

TEST_F(CliTest, ConvertToStdout) {
  const std::string in = WriteModel("m.onnx", kAddMax);
  const std::string json = dir_.File("r.json");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"convert", in, "-"},
        std::vector<std::string>{"convert", in, "-o", "-", "--report-json", json}}) {
    CliResult result = Run(args);
    ASSERT_EQ(result.exit_code, kOk) << result.err;
    onnx::ModelProto model;
    ASSERT_TRUE(model.ParseFromString(result.out));
    EXPECT_EQ(InputType(model, 0), onnx::TensorProto::FLOAT16);
    // The report moves to stderr, out of the model's way.
    EXPECT_THAT(result.err, HasSubstr("-> stdout (float16)"));
    EXPECT_THAT(result.err, HasSubstr("nodes converted: 1"));
  }
  EXPECT_THAT(ReadFileBytes(json), StartsWith("{"));
  CliResult quiet = Run({"convert", in, "-", "-q"});
  EXPECT_EQ(quiet.exit_code, kOk);
  EXPECT_THAT(quiet.err, IsEmpty());
  EXPECT_FALSE(quiet.out.empty());
  ExpectError({"convert", in, "-", "--external-data"}, "cannot go to stdout");
  EXPECT_FALSE(Exists(dir_.File("-")));
  EXPECT_FALSE(Exists("-"));
}

// ----------------------------------------------------------------------------- logging

TEST_F(CliTest, ConvertLogLevels) {
  // c = {0.5, -0.25} with --max-finite-val=0.3: the library warns about the clipped value, and
  // says at info level what it converted.
  const std::string in = WriteModel("m.onnx", kAddMax);
  const std::string out = dir_.File("o.onnx");
  const std::string clip = "--max-finite-val=0.3";
  CliResult normal = Run({"convert", in, out, clip});
  ASSERT_EQ(normal.exit_code, kOk) << normal.err;
  EXPECT_THAT(normal.err, HasSubstr("halfcast convert: warning: clipped 0 values below "
                                    "--min-positive-val and 1 above --max-finite-val"));
  EXPECT_THAT(normal.err, Not(HasSubstr("info:")));

  for (const std::vector<std::string>& flags :
       {std::vector<std::string>{"-v"}, std::vector<std::string>{"--verbose"},
        std::vector<std::string>{"--log-level=info"}, std::vector<std::string>{"-vv"},
        std::vector<std::string>{"-v", "--verbose"},
        std::vector<std::string>{"--log-level", "debug"}}) {
    std::vector<std::string> args = {"convert", in, out, clip};
    args.insert(args.end(), flags.begin(), flags.end());
    CliResult verbose = Run(args);
    ASSERT_EQ(verbose.exit_code, kOk) << verbose.err;
    EXPECT_THAT(verbose.err, HasSubstr("halfcast convert: info: converted 1 nodes")) << flags[0];
    EXPECT_THAT(verbose.err, HasSubstr("warning: clipped")) << flags[0];
    EXPECT_THAT(verbose.out, HasSubstr("nodes converted:")) << flags[0];
  }

  CliResult errors_only = Run({"convert", in, out, clip, "--log-level=error"});
  ASSERT_EQ(errors_only.exit_code, kOk);
  EXPECT_THAT(errors_only.err, IsEmpty());
  EXPECT_THAT(errors_only.out, HasSubstr("nodes converted:"));
  for (const char* quiet : {"-q", "--quiet"}) {
    CliResult result = Run({"convert", in, out, clip, quiet});
    ASSERT_EQ(result.exit_code, kOk);
    EXPECT_THAT(result.err, IsEmpty()) << quiet;
    EXPECT_THAT(result.out, IsEmpty()) << quiet;
  }
  ExpectError({"convert", in, out, "--log-level=loud"}, "--log-level: 'loud'");
  ExpectError({"convert", in, out, "-q", "-v"}, "give one of -q/--quiet, -v/--verbose");
  ExpectError({"convert", in, out, "-v", "--log-level=info"}, "not several");
  ExpectError({"convert", in, out, "-qq"}, "'--quiet' given more than once");
}

// Messages name the flags the user typed, not the library's option names.
TEST_F(CliTest, MessagesNameFlags) {
  const std::string in = WriteModel("m.onnx", kTwoOutputs);
  const std::string out = dir_.File("o.onnx");
  CliResult io = Run({"convert", in, out, "--keep-io-types=nope"});
  EXPECT_EQ(io.exit_code, kError);
  EXPECT_THAT(io.err, HasSubstr("error: --keep-io-types=NAMES: 'nope' is not an input or output"));
  EXPECT_THAT(io.err, Not(HasSubstr("keep_io_names")));

  ASSERT_EQ(Run({"convert", in, out}).exit_code, kOk);
  CliResult twice = Run({"convert", out, dir_.File("twice.onnx")});
  EXPECT_EQ(twice.exit_code, kError);
  EXPECT_THAT(twice.err, HasSubstr("give --no-check-fp16-ready to convert its float32 parts"));
  EXPECT_THAT(twice.err, Not(HasSubstr("check_fp16_ready")));

  ExpectError({"convert", in, out, "--min-positive-val=0.5", "--max-finite-val=0.3"},
              "--min-positive-val (0.5) exceeds --max-finite-val (0.3)");

  const std::string custom = WriteModel("custom.onnx", R"(
    <ir_version: 8, opset_import: ["" : 17, "com.example" : 1]>
    g (float[2] x) => (float[2] y) {
      y = com.example.Thing(x)
    })");
  CliResult note = Run({"convert", custom, dir_.File("c.onnx")});
  ASSERT_EQ(note.exit_code, kOk) << note.err;
  EXPECT_THAT(note.out, HasSubstr("declare it with --fp16-ops=DOMAIN:OP"));
  ExpectError({"convert", custom, dir_.File("c2.onnx"), "--fp16-ops=Thing"},
              "--fp16-ops: 'Thing' is not domain:op_type");

  const std::string overflow = WriteModel("o.onnx", kOverflow);
  const std::string x = WriteFloats("x.npy", {4}, {0.9f, -0.8f, 0.95f, 0.5f});
  CliResult limited = Run({"auto", overflow, dir_.File("a.onnx"), "--input", "x=" + x, "--rtol",
                           "0.01", "--atol", "0.001", "--max-evaluations", "1", "-q"});
  EXPECT_EQ(limited.exit_code, kError);
  EXPECT_THAT(limited.err, HasSubstr("reached --max-evaluations (1)"));
  EXPECT_FALSE(Exists(dir_.File("a.onnx")));
}

// ----------------------------------------------------------------------------- run

TEST_F(CliTest, RunWritesEveryOutputWithItsValues) {
  const std::string model = WriteModel("m.onnx", kTwoOutputs);
  const std::string x = WriteFloats("x.npy", {2}, {-1.5f, 2.0f});
  const std::string z = WriteFloats("z.npy", {2}, {3.0f, 0.25f});
  const std::string out_dir = dir_.File("outs/nested");
  CliResult result =
      Run({"run", model, "--input", "x=" + x, "--input=z=" + z, "--output-dir", out_dir});
  ASSERT_EQ(result.exit_code, kOk) << result.err;
  EXPECT_THAT(result.out, HasSubstr("y: float[2] min 0 max 2"));
  EXPECT_THAT(result.out, HasSubstr("w: float[2]"));
  ASSERT_OK_AND_ASSIGN(Tensor y, ReadNpy(out_dir + "/y.npy"));
  ASSERT_OK_AND_ASSIGN(Tensor w, ReadNpy(out_dir + "/w.npy"));
  EXPECT_EQ(y.data<float>()[0], 0.0f);
  EXPECT_EQ(y.data<float>()[1], 2.0f);
  EXPECT_EQ(w.data<float>()[0], -4.5f);
  EXPECT_EQ(w.data<float>()[1], 0.5f);
}

TEST_F(CliTest, TimeLimitsEndRunAndAuto) {
  // A Loop of 10^12 iterations: only --time-limit ends it.
  const std::string endless = WriteModel("loop.onnx", R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[1] x) => (float[1] y) <int64 n = {1000000000000}, bool t = {1}> {
      y = Loop (n, t, x) <body = b (int64 i, bool c, float[1] v) => (bool c2, float[1] w)
                                   <float[1] one = {1.0}> {
        c2 = Identity(c)
        w = Add(v, one)
      }>
    })");
  const std::string x = WriteFloats("x.npy", {1}, {0.0f});
  ExpectError({"run", endless, "--input", "x=" + x, "--time-limit", "0.5"}, "time limit");
  ExpectError({"run", endless, "--input", "x=" + x, "--time-limit=-1"}, "--time-limit");
  const std::string chain = WriteModel("chain.onnx", kOverflow);
  const std::string four = WriteFloats("four.npy", {4}, {0.5f, 1.0f, -0.5f, 0.25f});
  ExpectError({"auto", chain, dir_.File("mixed.onnx"), "--input", "x=" + four, "--rtol", "0.01",
               "--time-limit", "0.000000001"},
              "time limit");
  EXPECT_FALSE(Exists(dir_.File("mixed.onnx")));
}

TEST_F(CliTest, MemoryLimitBoundsTheEvaluator) {
  const std::string chain = WriteModel("chain.onnx", kOverflow);
  const std::string four = WriteFloats("four.npy", {4}, {0.5f, 1.0f, -0.5f, 0.25f});
  // 16 bytes hold one float[4] intermediate, not two.
  ExpectError({"run", chain, "--input", "x=" + four, "--memory-limit", "16"}, "memory limit");
  ExpectError({"run", chain, "--input", "x=" + four, "--memory-limit", "0"}, "--memory-limit");
  ExpectError({"auto", chain, dir_.File("mixed.onnx"), "--input", "x=" + four, "--rtol", "0.01",
               "--memory-limit", "16"},
              "memory limit");
  EXPECT_FALSE(Exists(dir_.File("mixed.onnx")));
}

TEST_F(CliTest, RunSanitizesOutputNamesAndReadsPb) {
  onnx::ModelProto proto = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[3] x) => (float[3] y) { y = Neg(x) }
  )");
  proto.mutable_graph()->mutable_node(0)->set_output(0, "out/put:0");
  proto.mutable_graph()->mutable_output(0)->set_name("out/put:0");
  const std::string model = WriteModelProto("m.onnx", proto);
  const std::vector<float> values = {1, -2, 3};
  WriteFileBytes(
      dir_.File("x.pb"),
      TensorToProto(Tensor::Copy(DataType::kFloat, {3}, values.data()), "x").SerializeAsString());
  CliResult result =
      Run({"run", model, "--input", "x=" + dir_.File("x.pb"), "--output-dir", dir_.path()});
  ASSERT_EQ(result.exit_code, kOk) << result.err;
  ASSERT_OK_AND_ASSIGN(Tensor out, ReadNpy(dir_.File("out_put_0.npy")));
  EXPECT_EQ(out.data<float>()[1], 2.0f);
}

TEST_F(CliTest, RunRandomInputs) {
  const std::string model = WriteModel("m.onnx", kAddMax);
  CliResult written =
      Run({"run", model, "--random-inputs", "--shape", "x=3,2", "--output-dir", dir_.path()});
  ASSERT_EQ(written.exit_code, kOk) << written.err;
  ASSERT_OK_AND_ASSIGN(Tensor y, ReadNpy(dir_.File("y.npy")));
  EXPECT_EQ(y.shape(), (std::vector<int64_t>{3, 2}));
  // Same seed, same numbers.
  CliResult result = Run({"run", model, "--random-inputs", "--shape", "x=3,2"});
  EXPECT_THAT(written.out, StartsWith(result.out.substr(0, result.out.size() - 1)));
  EXPECT_EQ(Run({"run", model, "--random-inputs", "--shape", "x=3,2"}).out, result.out);
  CliResult seeded = Run({"run", model, "--random-inputs", "--shape", "x=3,2", "--seed", "9"});
  EXPECT_NE(seeded.out, result.out);

  ExpectError({"run", model, "--random-inputs"}, "dynamic dimension 'N'; give --shape x=");
  ExpectError({"run", model, "--shape", "x=3,2"}, "need --random-inputs");
  ExpectError({"run", model, "--random-inputs", "--shape", "x=3,x"}, "dimension 'x'");
}

TEST_F(CliTest, RunBadInputs) {
  const std::string model = WriteModel("m.onnx", kTwoOutputs);
  const std::string x = WriteFloats("x.npy", {2}, {1, 2});
  const std::string out_dir = dir_.File("outs");
  ExpectError({"run", model, "--input", "x=" + x, "--output-dir", out_dir}, "input 'z'");
  ExpectError({"run", model, "--input", "x=" + x, "--input", "z=" + x, "--input", "q=" + x},
              "no input 'q'");
  ExpectError({"run", model, "--input", "x=" + x, "--input", "z=" + dir_.File("nope.npy")},
              "nope.npy");
  WriteFileBytes(dir_.File("bad.npy"), "not numpy");
  ExpectError({"run", model, "--input", "x=" + x, "--input", "z=" + dir_.File("bad.npy")},
              "bad.npy");
  const std::vector<int64_t> ints = {1, 2};
  ASSERT_OK(WriteNpy(Tensor::Copy(DataType::kInt64, {2}, ints.data()), dir_.File("i.npy")));
  ExpectError({"run", model, "--input", "x=" + x, "--input", "z=" + dir_.File("i.npy"),
               "--output-dir", out_dir},
              "z");
  ExpectError({"run", model, "--input", "x"}, "expected NAME=VALUE");
  ExpectError({"run", dir_.File("none.onnx")}, "none.onnx");
  EXPECT_FALSE(Exists(out_dir));
}

// ----------------------------------------------------------------------------- compare

TEST_F(CliTest, CompareModelWithItsConversion) {
  const std::string model = WriteModel("m.onnx", kAddMax);
  const std::string half = dir_.File("m16.onnx");
  ASSERT_EQ(Run({"convert", model, half, "--quiet"}).exit_code, kOk);
  const std::string x = WriteFloats("x.npy", {1, 2}, {0.1f, -0.3f});
  const std::string feed = "x=" + x;

  CliResult self = Run({"compare", model, model, "--input", feed, "--rtol", "0", "--atol", "0"});
  EXPECT_EQ(self.exit_code, kOk) << self.err;
  EXPECT_THAT(self.out, HasSubstr("allclose(rtol=0, atol=0)"));
  EXPECT_THAT(self.out, HasSubstr("yes"));

  // 0.6 and -0.3 in float16 are off by about 1e-4: close at rtol 1e-3, not at numpy's defaults.
  CliResult loose = Run({"compare", model, half, "--input", feed, "--rtol=1e-3"});
  EXPECT_EQ(loose.exit_code, kOk) << loose.out << loose.err;
  CliResult strict = Run({"compare", model, half, "--input", feed});
  EXPECT_EQ(strict.exit_code, kNotClose) << strict.out << strict.err;
  EXPECT_THAT(strict.out, HasSubstr("allclose(rtol=1e-05, atol=1e-08)"));
  EXPECT_THAT(strict.out, HasSubstr("no ("));

  ExpectError({"compare", model, half, "--input", feed, "--rtol=-1"}, "--rtol: -1 is negative");
  ExpectError({"compare", model, half, "--input", feed, "--atol=nan"}, "--atol");
  ExpectError({"compare", model, "--input", feed}, "expected REFERENCE CANDIDATE");
  const std::string other = WriteModel("other.onnx", R"(
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[N, 2] x) => (float[N, 2] v) { v = Relu(x) }
  )");
  ExpectError({"compare", model, other, "--input", feed}, "no output 'y'");
}

// ----------------------------------------------------------------------------- auto

TEST_F(CliTest, AutoKeepsTheOverflowInFloat32) {
  const std::string model = WriteModel("m.onnx", kOverflow);
  const std::string x = WriteFloats("x.npy", {4}, {0.9f, -0.8f, 0.95f, 0.5f});
  const std::string out = dir_.File("mixed.onnx");
  const std::string report = dir_.File("auto.json");
  CliResult result = Run({"auto", model, out, "--input", "x=" + x, "--rtol", "0.01", "--atol",
                          "0.001", "--report-json", report});
  ASSERT_EQ(result.exit_code, kOk) << result.err;
  // stderr is a file here: one plain progress line per attempt, no \r.
  EXPECT_THAT(result.err, HasSubstr("attempt 1 (2 evaluations), "));
  EXPECT_THAT(result.err, Not(HasSubstr("\r")));
  EXPECT_THAT(result.out, HasSubstr("evaluations"));
  EXPECT_THAT(result.out, HasSubstr("output y: max abs error"));
  EXPECT_THAT(ReadFileBytes(report), HasSubstr("\"evaluations\":"));
  EXPECT_THAT(ReadFileBytes(report), HasSubstr("\"output_errors\":[{\"name\":\"y\""));

  // The result is right where plain float16 is not (x*300*300 overflows to inf).
  ASSERT_EQ(Run({"convert", model, dir_.File("plain.onnx"), "--quiet"}).exit_code, kOk);
  EXPECT_EQ(Run({"compare", model, dir_.File("plain.onnx"), "--input", "x=" + x, "--rtol", "0.01"})
                .exit_code,
            kNotClose);
  CliResult check =
      Run({"compare", model, out, "--input", "x=" + x, "--rtol", "0.01", "--atol", "0.001"});
  EXPECT_EQ(check.exit_code, kOk) << check.out << check.err;
}

TEST_F(CliTest, AutoFlags) {
  const std::string model = WriteModel("m.onnx", kOverflow);
  const std::string x = WriteFloats("x.npy", {4}, {0.9f, -0.8f, 0.95f, 0.5f});
  CliResult quiet = Run({"auto", model, dir_.File("q.onnx"), "--input", "x=" + x, "--atol", "0.001",
                         "--quiet", "--strategy", "bisect", "--keep-io-types"});
  ASSERT_EQ(quiet.exit_code, kOk) << quiet.err;
  EXPECT_THAT(quiet.out, IsEmpty());
  EXPECT_THAT(quiet.err, IsEmpty());
  EXPECT_EQ(InputType(LoadOrDie(dir_.File("q.onnx")), 0), onnx::TensorProto::FLOAT);

  CliResult random = Run({"auto", model, dir_.File("r.onnx"), "--random-inputs", "--rtol", "0.01",
                          "--atol", "0.001", "--strategy=error-guided", "--quiet"});
  EXPECT_EQ(random.exit_code, kOk) << random.err;

  const std::string out = dir_.File("bad.onnx");
  ExpectError({"auto", model, out, "--input", "x=" + x}, "--rtol R and/or --atol A");
  ExpectError({"auto", model, out, "--input", "x=" + x, "--rtol=0.1", "--strategy", "greedy"},
              "--strategy: 'greedy'");
  ExpectError({"auto", model, out, "--rtol=0.1"}, "input 'x'");
  ExpectError({"auto", model, out, "--input", "x=" + x, "--rtol=0.1", "--target", "fp8"},
              "--target");
  ExpectError({"auto", model, out, "--input", "x=" + x, "--rtol=0.1", "--max-evaluations=x"},
              "--max-evaluations");
  ExpectError({"auto", model, model, "--input", "x=" + x, "--rtol=0.1"}, "same file");
  EXPECT_FALSE(Exists(out));
}

// The numbers N of "attempt N" lines, in order.
std::vector<int> AttemptNumbers(const std::string& text) {
  std::vector<int> numbers;
  for (std::size_t at = text.find("attempt "); at != std::string::npos;
       at = text.find("attempt ", at + 1)) {
    numbers.push_back(std::atoi(text.c_str() + at + 8));
  }
  return numbers;
}

TEST_F(CliTest, AutoProgressInAFileOrAPipe) {
  const std::string model = WriteModel("m.onnx", kOverflow);
  const std::string x = WriteFloats("x.npy", {4}, {0.9f, -0.8f, 0.95f, 0.5f});
  const std::vector<std::string> base = {
      "auto", model, dir_.File("p.onnx"), "--input", "x=" + x, "--rtol", "0.01", "--atol", "0.001"};
  auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> args = base;
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  // Bisect's bound: 4 candidates, 2 * 4 + 1 evaluations at most (the reference is the first).
  CliResult bisect = Run(with({"--strategy=bisect"}));
  ASSERT_EQ(bisect.exit_code, kOk) << bisect.err;
  EXPECT_THAT(bisect.err, Not(HasSubstr("\r")));
  EXPECT_THAT(bisect.err, HasSubstr("attempt 1 (2 of at most 9 evaluations), "));
  EXPECT_THAT(bisect.err, HasSubstr(" s: ["));
  // Each attempt once, in order, and the last one is the number the report gives.
  const std::vector<int> attempts = AttemptNumbers(bisect.err);
  ASSERT_FALSE(attempts.empty());
  for (std::size_t i = 1; i < attempts.size(); ++i) EXPECT_LT(attempts[i - 1], attempts[i]);
  EXPECT_THAT(bisect.out, HasSubstr(absl::StrCat("in ", attempts.back() + 1, " evaluations")));

  // error-guided has no bound but the user's limit.
  CliResult guided = Run(with({"--max-evaluations=50"}));
  ASSERT_EQ(guided.exit_code, kOk) << guided.err;
  EXPECT_THAT(guided.err, HasSubstr("attempt 1 (2 of at most 50 evaluations), "));
  CliResult unbounded = Run(base);
  EXPECT_THAT(unbounded.err, HasSubstr("attempt 1 (2 evaluations), "));

  CliResult none = Run(with({"--progress=none"}));
  ASSERT_EQ(none.exit_code, kOk);
  EXPECT_THAT(none.err, Not(HasSubstr("attempt")));
  EXPECT_THAT(none.out, HasSubstr("evaluations"));
  CliResult bar = Run(with({"--progress", "bar"}));
  EXPECT_THAT(bar.err, HasSubstr("\rattempt 1"));
  ExpectError(with({"--progress=fancy"}), "--progress: 'fancy' is not none, bar or lines");

  // -v adds the library's line per attempt; the progress lines stay.
  CliResult verbose = Run(with({"-v"}));
  ASSERT_EQ(verbose.exit_code, kOk) << verbose.err;
  EXPECT_THAT(verbose.err, HasSubstr("halfcast auto: info: attempt 1: "));
  EXPECT_THAT(verbose.err, HasSubstr("attempt 1 (2 evaluations), "));
}

TEST_F(CliTest, AutoProgressOnATerminal) {
  const std::string model = WriteModel("m.onnx", kOverflow);
  const std::string x = WriteFloats("x.npy", {4}, {0.9f, -0.8f, 0.95f, 0.5f});
  CliResult tty = RunOnTerminal({"auto", model, dir_.File("t.onnx"), "--input", "x=" + x, "--rtol",
                                 "0.01", "--atol", "0.001", "--strategy", "bisect"});
  ASSERT_EQ(tty.exit_code, kOk) << tty.out;
  // Drawn in place: each attempt after a \r, the line ended once before the report.
  EXPECT_THAT(tty.out, HasSubstr("\rattempt 1 (2 of at most 9 evaluations), "));
  EXPECT_THAT(tty.out, HasSubstr("\rattempt 2 (3 of at most 9 evaluations), "));
  const std::vector<int> attempts = AttemptNumbers(tty.out);
  ASSERT_FALSE(attempts.empty());
  for (std::size_t i = 1; i < attempts.size(); ++i) EXPECT_LT(attempts[i - 1], attempts[i]);
  EXPECT_THAT(tty.out, HasSubstr("converted " + model));
  EXPECT_TRUE(Exists(dir_.File("t.onnx")));

  // A model is not written to a terminal.
  CliResult binary = RunOnTerminal({"convert", model, "-"});
  EXPECT_EQ(binary.exit_code, kError);
  EXPECT_THAT(binary.out, HasSubstr("not writing a binary model to a terminal"));

  CliResult lines = RunOnTerminal({"auto", model, dir_.File("l.onnx"), "--input", "x=" + x,
                                   "--rtol", "0.01", "--progress=lines", "--force"});
  ASSERT_EQ(lines.exit_code, kOk) << lines.out;
  EXPECT_THAT(lines.out, Not(HasSubstr("\rattempt")));
  EXPECT_THAT(lines.out, HasSubstr("attempt 1 (2 evaluations), "));
}

TEST_F(CliTest, AutoDefaultOutputAndStdout) {
  const std::string model = WriteModel("m.onnx", kOverflow);
  const std::string x = WriteFloats("x.npy", {4}, {0.9f, -0.8f, 0.95f, 0.5f});
  CliResult first = Run({"auto", model, "--input", "x=" + x, "--rtol", "0.01", "-q"});
  ASSERT_EQ(first.exit_code, kOk) << first.err;
  EXPECT_TRUE(Exists(dir_.File("m.mixed.onnx")));
  ExpectError({"auto", model, "--input", "x=" + x, "--rtol", "0.01"}, "--force");
  ASSERT_EQ(Run({"auto", model, "--input", "x=" + x, "--rtol", "0.01", "--force", "-q"}).exit_code,
            kOk);

  CliResult piped =
      Run({"auto", model, "-", "--input", "x=" + x, "--rtol", "0.01", "--progress=none"});
  ASSERT_EQ(piped.exit_code, kOk) << piped.err;
  onnx::ModelProto mixed;
  ASSERT_TRUE(mixed.ParseFromString(piped.out));
  EXPECT_GT(mixed.graph().node_size(), 0);
  EXPECT_THAT(piped.err, HasSubstr("-> stdout in "));
  ExpectError({"auto", model, "-o", "-", "--input", "x=" + x, "--rtol", "0.01", "--external-data"},
              "cannot go to stdout");
}

// ----------------------------------------------------------------------------- inspect

TEST_F(CliTest, InspectRealModel) {
  CliResult result = Run({"inspect", ModelsDir() + "/silero_vad.onnx"});
  ASSERT_EQ(result.exit_code, kOk) << result.err;
  EXPECT_THAT(result.out, HasSubstr("opsets: ai.onnx 16"));
  EXPECT_THAT(result.out, HasSubstr("ir_version: "));
  EXPECT_THAT(result.out, HasSubstr("684 in 50 subgraphs"));
  EXPECT_THAT(result.out, HasSubstr("If 25"));
  EXPECT_THAT(result.out, HasSubstr("inputs: input float[?,?]"));
  EXPECT_THAT(result.out, HasSubstr("    float: "));

  const std::string model = WriteModel("m.onnx", kAddMax);
  CliResult small = Run({"inspect", model});
  EXPECT_THAT(small.out, HasSubstr("nodes: 2 (2 in the main graph, 0 in 0 subgraphs)"));
  EXPECT_THAT(small.out, HasSubstr("Add 1, Max 1"));
  EXPECT_THAT(small.out, HasSubstr("float: 1 tensors, 8 B"));
  ExpectError({"inspect", dir_.File("none.onnx")}, "none.onnx");
  ExpectError({"inspect"}, "expected MODEL");
}

TEST_F(CliTest, InspectJson) {
  const std::string model = WriteModel("m.onnx", kAddMax);
  CliResult result = Run({"inspect", model, "--json"});
  ASSERT_EQ(result.exit_code, kOk) << result.err;
  EXPECT_THAT(result.out, StartsWith("{\"command\":\"inspect\",\"halfcast_version\":\""));
  EXPECT_THAT(result.out, HasSubstr(",\"path\":\"" + model + "\",\"ir_version\":8,"));
  EXPECT_THAT(result.out, HasSubstr("\"opsets\":[{\"domain\":\"ai.onnx\",\"version\":17}]"));
  EXPECT_THAT(result.out,
              HasSubstr("\"inputs\":[{\"name\":\"x\",\"type\":\"float\",\"shape\":[\"N\",2]}]"));
  EXPECT_THAT(result.out, HasSubstr("\"nodes\":{\"total\":2,\"main_graph\":2,\"in_subgraphs\":0,"
                                    "\"subgraphs\":0}"));
  EXPECT_THAT(result.out,
              HasSubstr("\"ops\":[{\"op\":\"Add\",\"count\":1},{\"op\":\"Max\",\"count\":1}]"));
  EXPECT_THAT(result.out, HasSubstr("\"tensors\":[{\"type\":\"float\",\"count\":1,\"bytes\":8}]"));
  EXPECT_THAT(result.out, HasSubstr("\"external_tensors\":0}\n"));

  CliResult real = Run({"inspect", "--json", ModelsDir() + "/silero_vad.onnx"});
  ASSERT_EQ(real.exit_code, kOk) << real.err;
  EXPECT_THAT(real.out, HasSubstr("\"in_subgraphs\":684,\"subgraphs\":50}"));
  EXPECT_THAT(real.out, HasSubstr("{\"name\":\"input\",\"type\":\"float\",\"shape\":[null,null]}"));
}

TEST_F(CliTest, RunJson) {
  const std::string model = WriteModel("m.onnx", kTwoOutputs);
  const std::string x = WriteFloats("x.npy", {2}, {-1.5f, 2.0f});
  const std::string z = WriteFloats("z.npy", {2}, {3.0f, 0.25f});
  CliResult result = Run({"run", model, "--input", "x=" + x, "--input", "z=" + z, "--json"});
  ASSERT_EQ(result.exit_code, kOk) << result.err;
  EXPECT_THAT(result.out, StartsWith("{\"command\":\"run\",\"halfcast_version\":\""));
  EXPECT_THAT(result.out, HasSubstr(",\"model\":\"" + model + "\",\"outputs\":[{\"name\":\"y\","));
  EXPECT_THAT(result.out, HasSubstr("{\"name\":\"y\",\"type\":\"float\",\"shape\":[2],\"min\":0,"
                                    "\"max\":2,\"mean\":1}"));
  EXPECT_THAT(result.out, HasSubstr("{\"name\":\"w\",\"type\":\"float\",\"shape\":[2],\"min\":-4.5,"
                                    "\"max\":0.5,\"mean\":-2}],\"sets\":[{\"label\":\"\","
                                    "\"outputs\":[{\"name\":\"y\","));
  EXPECT_THAT(result.out, ::testing::EndsWith("]}]}\n"));
  CliResult saved = Run({"run", model, "--input", "x=" + x, "--input", "z=" + z, "--json",
                         "--output-dir", dir_.path()});
  ASSERT_EQ(saved.exit_code, kOk) << saved.err;
  EXPECT_THAT(saved.out, HasSubstr("\"file\":\"" + dir_.path() + "/y.npy\"}"));
  EXPECT_TRUE(Exists(dir_.File("w.npy")));
}

}  // namespace
}  // namespace halfcast
