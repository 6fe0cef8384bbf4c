#include "cli/args.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace halfcast::cli {
namespace {

using ::halfcast::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;

// StatusOr counterpart of ::testing::Optional (status_matchers.h has none).
MATCHER_P(IsOkAndHolds, matcher, "is OK and holds a matching value") {
  if (!arg.ok()) {
    *result_listener << "status: " << arg.status();
    return false;
  }
  return ::testing::ExplainMatchResult(matcher, *arg, result_listener);
}

const CommandSpec kSpec = {
    "demo",
    "IN OUT",
    "A demo command.",
    {
        {"flag", FlagKind::kSwitch, "", "a switch"},
        {"value", FlagKind::kValue, "V", "a value"},
        {"maybe", FlagKind::kOptionalValue, "NAMES", "an optional value"},
        {"many", FlagKind::kRepeated, "X", "repeated"},
    },
    2,
    2,
};

absl::StatusOr<ParsedArgs> Parse(std::vector<std::string> args) { return ParseArgs(kSpec, args); }

TEST(ParseArgsTest, PositionalsAndEveryFlagForm) {
  ASSERT_OK_AND_ASSIGN(ParsedArgs args, Parse({"--flag", "a", "--value", "v1", "--maybe=x,y", "b",
                                               "--many", "1", "--many=2"}));
  EXPECT_FALSE(args.help());
  EXPECT_THAT(args.positionals(), ElementsAre("a", "b"));
  EXPECT_TRUE(args.Has("flag"));
  EXPECT_THAT(args.Value("value"), Optional(std::string("v1")));
  EXPECT_THAT(args.Value("maybe"), Optional(std::string("x,y")));
  EXPECT_THAT(args.Values("many"), ElementsAre("1", "2"));
}

const CommandSpec kShortSpec = {
    "demo",
    "IN [OUT]",
    "Short flags.",
    {
        {"output", FlagKind::kValue, "OUT", "the output", 'o'},
        {"quiet", FlagKind::kSwitch, "", "quiet", 'q'},
        {"verbose", FlagKind::kCounted, "", "more", 'v'},
    },
    1,
    2,
};

TEST(ParseArgsTest, ShortFlagsCountsAndBundles) {
  ASSERT_OK_AND_ASSIGN(ParsedArgs args,
                       ParseArgs(kShortSpec, {"-vv", "in", "-o", "out", "--verbose", "-q"}));
  EXPECT_THAT(args.positionals(), ElementsAre("in"));
  EXPECT_THAT(args.Value("output"), Optional(std::string("out")));
  EXPECT_EQ(args.Count("verbose"), 3);
  EXPECT_TRUE(args.Has("quiet"));
  EXPECT_EQ(args.Count("quiet"), 1);
  EXPECT_EQ(args.Count("output"), 1);
  // -oVALUE, a bundle ending in a valued flag, and "-" as a value or a positional.
  ASSERT_OK_AND_ASSIGN(ParsedArgs glued, ParseArgs(kShortSpec, {"in", "-oout.onnx"}));
  EXPECT_THAT(glued.Value("output"), Optional(std::string("out.onnx")));
  ASSERT_OK_AND_ASSIGN(ParsedArgs bundle, ParseArgs(kShortSpec, {"in", "-qvo", "-"}));
  EXPECT_TRUE(bundle.Has("quiet"));
  EXPECT_EQ(bundle.Count("verbose"), 1);
  EXPECT_THAT(bundle.Value("output"), Optional(std::string("-")));
  ASSERT_OK_AND_ASSIGN(ParsedArgs dash, ParseArgs(kShortSpec, {"in", "-"}));
  EXPECT_THAT(dash.positionals(), ElementsAre("in", "-"));
  EXPECT_EQ(dash.Count("verbose"), 0);

  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  EXPECT_THAT(ParseArgs(kShortSpec, {"in", "-o"}),
              StatusIs(kInvalid, HasSubstr("'-o' needs a value (OUT)")));
  EXPECT_THAT(ParseArgs(kShortSpec, {"in", "-qx"}),
              StatusIs(kInvalid, HasSubstr("unknown option '-x' in '-qx'")));
  EXPECT_THAT(ParseArgs(kShortSpec, {"in", "-q", "--quiet"}),
              StatusIs(kInvalid, HasSubstr("'--quiet' given more than once")));
  EXPECT_THAT(ParseArgs(kShortSpec, {"in", "--verbose=2"}),
              StatusIs(kInvalid, HasSubstr("'--verbose' takes no value")));
  const std::string usage = Usage(kShortSpec);
  EXPECT_THAT(usage, HasSubstr("-o, --output OUT"));
  EXPECT_THAT(usage, HasSubstr("-v, --verbose "));
}

TEST(ParseArgsTest, AbsentFlags) {
  ASSERT_OK_AND_ASSIGN(ParsedArgs args, Parse({"a", "b"}));
  EXPECT_FALSE(args.Has("flag"));
  EXPECT_FALSE(args.Has("value"));
  EXPECT_EQ(args.Value("value"), std::nullopt);
  EXPECT_THAT(args.Values("many"), IsEmpty());
}

TEST(ParseArgsTest, OptionalValueOnlyTakesEqualsForm) {
  // "--maybe a b": a and b stay positionals, so `--keep-io-types IN OUT` means all.
  ASSERT_OK_AND_ASSIGN(ParsedArgs args, Parse({"--maybe", "a", "b"}));
  EXPECT_TRUE(args.Has("maybe"));
  EXPECT_EQ(args.Value("maybe"), std::nullopt);
  EXPECT_THAT(args.positionals(), ElementsAre("a", "b"));
}

TEST(ParseArgsTest, EmptyValueIsKept) {
  ASSERT_OK_AND_ASSIGN(ParsedArgs args, Parse({"a", "b", "--value=", "--maybe="}));
  EXPECT_THAT(args.Value("value"), Optional(std::string("")));
  EXPECT_THAT(args.Value("maybe"), Optional(std::string("")));
}

TEST(ParseArgsTest, ValueMayStartWithDashOrContainEquals) {
  ASSERT_OK_AND_ASSIGN(ParsedArgs args, Parse({"a", "b", "--value", "-1", "--many", "x=y=z"}));
  EXPECT_THAT(args.Value("value"), Optional(std::string("-1")));
  EXPECT_THAT(args.Values("many"), ElementsAre("x=y=z"));
}

TEST(ParseArgsTest, DoubleDashEndsFlags) {
  ASSERT_OK_AND_ASSIGN(ParsedArgs args, Parse({"--flag", "--", "--a", "-"}));
  EXPECT_TRUE(args.Has("flag"));
  EXPECT_THAT(args.positionals(), ElementsAre("--a", "-"));
}

TEST(ParseArgsTest, HelpWinsOverMissingPositionals) {
  ASSERT_OK_AND_ASSIGN(ParsedArgs args, Parse({"--help"}));
  EXPECT_TRUE(args.help());
  ASSERT_OK_AND_ASSIGN(ParsedArgs short_form, Parse({"--unknown", "-h"}));
  EXPECT_TRUE(short_form.help());
  // After "--", --help is a positional.
  EXPECT_THAT(Parse({"--", "--help"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("expected IN OUT, got 1")));
}

TEST(ParseArgsTest, Errors) {
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  EXPECT_THAT(Parse({"a", "b", "--nope"}),
              StatusIs(kInvalid, HasSubstr("unknown flag '--nope' for 'halfcast demo'")));
  EXPECT_THAT(Parse({"a", "b", "-x"}), StatusIs(kInvalid, HasSubstr("unknown option '-x'")));
  EXPECT_THAT(Parse({"a", "b", "--flag=1"}),
              StatusIs(kInvalid, HasSubstr("'--flag' takes no value")));
  EXPECT_THAT(Parse({"a", "b", "--value"}),
              StatusIs(kInvalid, HasSubstr("'--value' needs a value (V)")));
  EXPECT_THAT(Parse({"a", "b", "--value=1", "--value=2"}),
              StatusIs(kInvalid, HasSubstr("'--value' given more than once")));
  EXPECT_THAT(Parse({"a", "b", "--flag", "--flag"}),
              StatusIs(kInvalid, HasSubstr("'--flag' given more than once")));
  EXPECT_THAT(Parse({"a"}), StatusIs(kInvalid, HasSubstr("expected IN OUT, got 1 argument")));
  EXPECT_THAT(Parse({"a", "b", "c"}), StatusIs(kInvalid, HasSubstr("got 3 arguments")));
  EXPECT_THAT(Parse({"a"}), StatusIs(kInvalid, HasSubstr("see 'halfcast demo --help'")));
}

TEST(UsageTest, ListsEveryFlagWithItsForm) {
  const std::string usage = Usage(kSpec);
  EXPECT_THAT(usage, HasSubstr("usage: halfcast demo IN OUT [flags]"));
  EXPECT_THAT(usage, HasSubstr("A demo command."));
  EXPECT_THAT(usage, HasSubstr("--flag "));
  EXPECT_THAT(usage, HasSubstr("--value V"));
  EXPECT_THAT(usage, HasSubstr("--maybe[=NAMES]"));
  EXPECT_THAT(usage, HasSubstr("--many X"));
  EXPECT_THAT(usage, HasSubstr("--help"));
}

TEST(ValueParsersTest, Numbers) {
  EXPECT_THAT(ParseNumber("x", "1e-7"), IsOkAndHolds(1e-7));
  EXPECT_THAT(ParseNumber("x", "-2.5"), IsOkAndHolds(-2.5));
  EXPECT_THAT(ParseNumber("x", "abc"), StatusIs(absl::StatusCode::kInvalidArgument,
                                                HasSubstr("--x: 'abc' is not a finite")));
  EXPECT_THAT(ParseNumber("x", "nan"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nan")));
  EXPECT_THAT(ParseNumber("x", "inf"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("inf")));
  EXPECT_THAT(ParseNumber("x", ""), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--x")));
  EXPECT_THAT(ParseNumber("x", "1.5x"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1.5x")));
  EXPECT_THAT(ParseNonNegative("rtol", "0"), IsOkAndHolds(0.0));
  EXPECT_THAT(ParseNonNegative("rtol", "-0.1"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--rtol: -0.1 is negative")));
  EXPECT_THAT(ParseCount("n", "4096"), IsOkAndHolds(int64_t{4096}));
  EXPECT_THAT(ParseCount("n", "-1"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--n")));
  EXPECT_THAT(ParseCount("n", "1.5"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1.5")));
  EXPECT_THAT(ParseCount("n", "99999999999999999999"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--n")));
}

TEST(ValueParsersTest, Lists) {
  EXPECT_THAT(ParseList("ops", "Resize,TopK"), IsOkAndHolds(ElementsAre("Resize", "TopK")));
  EXPECT_THAT(ParseList("ops", ""), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(ParseList("ops", "a,,b"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty item")));
  EXPECT_THAT(ParseList("ops", "a,"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--ops")));
}

TEST(ValueParsersTest, PatternListsKeepCommasInsideBracketsAndEscapes) {
  EXPECT_THAT(ParsePatternList("node-block-list", "conv{1,2},a[,;]b,(x|y,z),p\\,q,r"),
              IsOkAndHolds(ElementsAre("conv{1,2}", "a[,;]b", "(x|y,z)", "p\\,q", "r")));
  EXPECT_THAT(ParsePatternList("node-block-list", ""), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(
      ParsePatternList("node-block-list", "a,,b"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--node-block-list: empty item")));
  // An unbalanced bracket keeps the rest as one item, for the pattern compiler to refuse.
  EXPECT_THAT(ParsePatternList("op-include-list", "Mul(,Add"),
              IsOkAndHolds(ElementsAre("Mul(,Add")));
}

TEST(ValueParsersTest, Assignments) {
  auto pair = ParseAssignment("input", "x=dir/a=b.npy");
  ASSERT_OK(pair);
  EXPECT_EQ(pair->first, "x");
  EXPECT_EQ(pair->second, "dir/a=b.npy");
  for (const char* bad : {"x", "=f.npy", "x=", ""}) {
    EXPECT_THAT(ParseAssignment("input", bad),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("expected NAME=VALUE")))
        << bad;
  }
}

TEST(ValueParsersTest, Dims) {
  EXPECT_THAT(ParseDims("shape", "1,3,224,224"), IsOkAndHolds(ElementsAre(1, 3, 224, 224)));
  EXPECT_THAT(ParseDims("shape", "0"), IsOkAndHolds(ElementsAre(0)));
  EXPECT_THAT(ParseDims("shape", ""), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(ParseDims("shape", "1,-2"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("dimension '-2'")));
  EXPECT_THAT(ParseDims("shape", "1,x"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("dimension 'x'")));
}

}  // namespace
}  // namespace halfcast::cli
