#include "cli/messages.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace halfcast::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The library's own messages (src/convert/conversion.cc, src/search/*.cc), as the CLI prints them.
TEST(FlagNamesInMessageTest, LibraryMessagesNameFlags) {
  EXPECT_EQ(FlagNamesInMessage("the model already holds 16-bit floats (initializer 'w'); set "
                               "check_fp16_ready to false to convert its float32 parts"),
            "the model already holds 16-bit floats (initializer 'w'); give "
            "--no-check-fp16-ready to convert its float32 parts");
  EXPECT_EQ(FlagNamesInMessage("keep_io_names: 'q' is not an input or output of the main graph"),
            "--keep-io-types=NAMES: 'q' is not an input or output of the main graph");
  EXPECT_EQ(FlagNamesInMessage("min_positive_val must be >= 0, got -1"),
            "--min-positive-val must be >= 0, got -1");
  EXPECT_EQ(FlagNamesInMessage("max_finite_val must be in (0, 65504] for the target type, got "
                               "1e+06"),
            "--max-finite-val must be in (0, 65504] for the target type, got 1e+06");
  EXPECT_EQ(FlagNamesInMessage("min_positive_val (0.5) exceeds max_finite_val (0.3)"),
            "--min-positive-val (0.5) exceeds --max-finite-val (0.3)");
  EXPECT_EQ(FlagNamesInMessage("fp16_ops: 'Thing' is not domain:op_type (e.g. com.example:MyOp)"),
            "--fp16-ops: 'Thing' is not domain:op_type (e.g. com.example:MyOp)");
  EXPECT_EQ(FlagNamesInMessage("unknown op com.example:Thing (1 node) kept float32: no schema; "
                               "declare it in fp16_ops if it runs in 16 bits"),
            "unknown op com.example:Thing (1 node) kept float32: no schema; declare it with "
            "--fp16-ops=DOMAIN:OP if it runs in 16 bits");
  EXPECT_EQ(FlagNamesInMessage("op type Max is in op_block_list"),
            "op type Max is in --op-block-list");
  EXPECT_EQ(FlagNamesInMessage("node name 'a' is in node_block_list"),
            "node name 'a' is in --node-block-list");
  EXPECT_EQ(FlagNamesInMessage("node_include_list: 'x' matches no node name (strict_lists makes "
                               "this an error)"),
            "--node-include-list: 'x' matches no node name (--strict makes this an error)");
  EXPECT_EQ(FlagNamesInMessage("op_include_list: 'Mul(' is not a valid pattern"),
            "--op-include-list: 'Mul(' is not a valid pattern");
  EXPECT_EQ(FlagNamesInMessage("node index 3 is in node_index_block_list"),
            "node index 3 is kept in float32 by the search");
  EXPECT_EQ(FlagNamesInMessage("rtol must be finite and >= 0, got -1"),
            "--rtol must be finite and >= 0, got -1");
  EXPECT_EQ(FlagNamesInMessage("mixed precision needs rtol, atol or a validate_fn to judge "
                               "candidate outputs"),
            "mixed precision needs --rtol and/or --atol to judge candidate outputs");
  EXPECT_EQ(FlagNamesInMessage("mixed-precision search reached max_evaluations (4) before "
                               "finishing"),
            "mixed-precision search reached --max-evaluations (4) before finishing");
  EXPECT_EQ(FlagNamesInMessage("clipped 1 values below min_positive_val and 2 above "
                               "max_finite_val in 1 tensors"),
            "clipped 1 values below --min-positive-val and 2 above --max-finite-val in 1 tensors");
}

TEST(FlagNamesInMessageTest, LeavesNamesTheUserWroteAlone) {
  // Quoted names (nodes, inputs, files), paths, qualified op names and flags stay as they are.
  EXPECT_EQ(FlagNamesInMessage("keep_io_names: 'rtol' is not an input"),
            "--keep-io-types=NAMES: 'rtol' is not an input");
  EXPECT_EQ(FlagNamesInMessage("cannot open dir/rtol.npy"), "cannot open dir/rtol.npy");
  EXPECT_EQ(FlagNamesInMessage("cannot open rtol.npy"), "cannot open rtol.npy");
  EXPECT_EQ(FlagNamesInMessage("--rtol: -1 is negative"), "--rtol: -1 is negative");
  EXPECT_EQ(FlagNamesInMessage("op com.atol:Thing"), "op com.atol:Thing");
  EXPECT_EQ(FlagNamesInMessage("the graph's input 'my rtol' and the model's atol"),
            "the graph's input 'my rtol' and the model's --atol");
  EXPECT_EQ(FlagNamesInMessage("rtols and my_atol"), "rtols and my_atol");
  // Sentence punctuation after a name is not part of it.
  EXPECT_EQ(FlagNamesInMessage("see max_evaluations."), "see --max-evaluations.");
  EXPECT_EQ(FlagNamesInMessage(""), "");
}

TEST(FlagNamesInMessageTest, EveryRowIsAFlagOrAPhrase) {
  for (const OptionFlag& row : OptionFlags()) {
    EXPECT_THAT(row.flag, Not(HasSubstr("_"))) << row.text;
    // Applying the table twice changes nothing: its output names no library option.
    EXPECT_EQ(FlagNamesInMessage(FlagNamesInMessage(row.text)), FlagNamesInMessage(row.text))
        << row.text;
  }
}

}  // namespace
}  // namespace halfcast::cli
